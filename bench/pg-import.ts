/**
 * Issue 15's PostgreSQL targets, each against its baseline in the same run:
 *
 * - import: `store.analogies.import(file)` of N analogies that carry their own ids (UUIDv4 and
 *   string ids, `--ids uuid4,string`), the whole durable workflow (staging, validation,
 *   versions, change history, progress per chunk), against the naive baseline: one COPY of the
 *   same rows (index columns + jsonb body, built before the clock starts) into a table with the
 *   three query indexes maintained, in one transaction.
 * - stream: `store.analogies.streamJson()` (JSON lines, as the CLI writes them) and
 *   `store.analogies.stream()` (parsed objects) against `COPY (SELECT body ...) TO STDOUT` of the
 *   baseline table (the raw server rate).
 * - query: `store.analogies.query({min_quality: 0.9, limit: 100})`, median of 21, against the
 *   same plain SELECT on the baseline table.
 *
 *   npm run bench -- pg-import [--n 1000000] [--ids uuid4,string] [--batch 50000] [--service]
 *
 * `--service`: the import as the service runs it (no bulk load of the query indexes). Every
 * ratio comes with the load average of its minute. Runs in a database of its own
 * (softlogic_bench_import_<pid>) on SOFTLOGIC_BENCH_PG_URL (default
 * postgres://root@127.0.0.1:5432/test), dropped at the end.
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { initStore, type Store } from '../src/index.js';
import { writeAnalogyFile, type IdShape } from './data.js';
import { argValue, cleanup, report, scratchDir } from './util.js';

const SERVER = process.env.SOFTLOGIC_BENCH_PG_URL ?? 'postgres://root@127.0.0.1:5432/test';
const NOW = '2026-01-01T00:00:00.000Z';

function databaseUrl(name: string): string {
  const url = new URL(SERVER);
  url.pathname = `/${name}`;
  return url.toString();
}

const load = () => +(loadavg()[0] as number).toFixed(2);
const secs = (s: number) => +s.toFixed(2);
const ratio = (x: number) => +x.toFixed(3);

/** The baseline's COPY input from the file's lines: the record as stored (the fields the store adds), built before the clock starts. */
function copyChunks(file: string): Buffer[] {
  const chunks: Buffer[] = [];
  let text = '';
  let lines = 0;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line) continue;
    const r: Record<string, unknown> = { ...(JSON.parse(line) as Record<string, unknown>), context: 'default', created_at: NOW, updated_at: NOW, version: 1, deleted_at: null, workflow_id: null };
    text += `1\t${String(r.id)}\t${String(r.source_domain)}\t${String(r.target_domain)}\t${String(r.quality_score)}\t${Date.parse(NOW)}\t${JSON.stringify(r).replace(/\\/g, '\\\\')}\n`;
    if (++lines % 10_000 === 0) {
      chunks.push(Buffer.from(text));
      text = '';
    }
  }
  if (text) chunks.push(Buffer.from(text));
  return chunks;
}

async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** The naive import: one COPY into a fresh table with the three query indexes, in one transaction. */
async function baselineCopy(url: string, table: string, chunks: Buffer[]): Promise<number> {
  return withClient(url, async (client) => {
    await client.query(`CREATE TABLE ${table}(ctx integer NOT NULL, id text NOT NULL, source_domain text NOT NULL, target_domain text NOT NULL,
      quality double precision NOT NULL, created_ms bigint NOT NULL, body jsonb NOT NULL)`);
    await client.query(`CREATE INDEX ${table}_quality ON ${table}(ctx, quality DESC)`);
    await client.query(`CREATE INDEX ${table}_source ON ${table}(ctx, source_domain, quality DESC)`);
    await client.query(`CREATE INDEX ${table}_target ON ${table}(ctx, target_domain, quality DESC)`);
    await client.query('CHECKPOINT');
    const t0 = performance.now();
    await client.query('BEGIN');
    await pipeline(Readable.from(chunks), client.query(copyFrom(`COPY ${table}(ctx, id, source_domain, target_domain, quality, created_ms, body) FROM STDIN`)));
    await client.query('COMMIT');
    return (performance.now() - t0) / 1000;
  });
}

async function timedImport(store: Store, file: string, n: number, batchSize: number, service: boolean, url: string): Promise<number> {
  await withClient(url, (c) => c.query('CHECKPOINT'));
  const t0 = performance.now();
  let imported: number;
  if (service) {
    // As the service runs it (src/service/processor.ts): staged on one thread, then processed
    // without a bulk load of the query indexes (it answers queries meanwhile).
    const staged = await store.analogies.stage(file, { parallel: false });
    const done = await store.workflows.process(staged.workflow.workflow_id, { batchSize, bulkLoad: false });
    imported = done.items_processed - done.error_count;
  } else imported = (await store.analogies.import(file, { batchSize })).imported;
  const seconds = (performance.now() - t0) / 1000;
  if (imported !== n) throw new Error(`imported ${imported} of ${n}`);
  return seconds;
}

/** The raw server rate of the same rows: COPY (SELECT body ...) TO STDOUT, lines counted. */
async function baselineStream(url: string, table: string): Promise<number> {
  return withClient(url, async (client) => {
    let lines = 0;
    const t0 = performance.now();
    await pipeline(
      client.query(copyTo(`COPY (SELECT body FROM ${table} ORDER BY ctid) TO STDOUT`)),
      new Writable({
        write(chunk: Buffer, _enc, done) {
          for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) lines += 1;
          done();
        },
      }),
    );
    return lines / ((performance.now() - t0) / 1000);
  });
}

async function median(times: number, fn: () => Promise<unknown>): Promise<number> {
  const ms: number[] = [];
  for (let i = 0; i < times; i++) {
    const t = performance.now();
    await fn();
    ms.push(performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  return +(ms[Math.floor(times / 2)] as number).toFixed(2);
}

async function streamAndQuery(store: Store, url: string, table: string, n: number): Promise<Record<string, unknown>> {
  const l0 = load();
  const rawPerS = await baselineStream(url, table);
  let count = 0;
  let t0 = performance.now();
  for await (const line of store.analogies.streamJson()) count += line.length > 0 ? 1 : 0;
  const jsonPerS = count / ((performance.now() - t0) / 1000);
  if (count !== n) throw new Error(`streamed ${count} of ${n}`);
  count = 0;
  t0 = performance.now();
  for await (const a of store.analogies.stream()) count += a.deleted_at === null ? 1 : 0;
  const objectsPerS = count / ((performance.now() - t0) / 1000);
  const ours = await median(21, async () => {
    const rows = await store.analogies.query({ min_quality: 0.9, limit: 100 });
    if (rows.length !== 100) throw new Error(`query returned ${rows.length}`);
  });
  const plain = await withClient(url, (client) =>
    median(21, () => client.query(`SELECT body FROM ${table} WHERE ctx = 1 AND quality >= 0.9 ORDER BY quality DESC LIMIT 100`)),
  );
  return {
    stream_json_per_s: Math.round(jsonPerS),
    stream_objects_per_s: Math.round(objectsPerS),
    baseline_copy_to_per_s: Math.round(rawPerS),
    stream_json_vs_copy_to: ratio(jsonPerS / rawPerS),
    query_min09_limit100_median_ms: ours,
    baseline_plain_select_median_ms: plain,
    query_vs_plain_select: ratio(plain / ours),
    loadavg_1m: [l0, load()],
  };
}

export default async function run(args: string[]): Promise<void> {
  const n = argValue(args, 'n', 1_000_000);
  const batchSize = argValue(args, 'batch', 50_000);
  const service = args.includes('--service');
  const idsAt = args.indexOf('--ids');
  const shapes = (idsAt >= 0 ? (args[idsAt + 1] as string) : 'uuid4,string').split(',') as IdShape[];
  const name = `softlogic_bench_import_${process.pid}`;
  const url = databaseUrl(name);
  const dir = scratchDir('pg-import');
  await withClient(SERVER, (c) => c.query(`CREATE DATABASE ${name}`));
  const results: Record<string, unknown> = { n, batch: batchSize, mode: service ? 'service (no bulk load, one thread)' : 'cli (bulk load, worker threads)' };
  try {
    for (const [i, ids] of shapes.entries()) {
      const file = `${dir}/input-${ids}.jsonl`;
      await writeAnalogyFile(file, n, 42, ids);
      const chunks = copyChunks(file);
      const l0 = load();
      const copyS = await baselineCopy(url, `baseline_${ids}`, chunks);
      const store = await initStore(`${url}?schema=import_${ids}`);
      try {
        const importS = await timedImport(store, file, n, batchSize, service, url);
        results[ids] = {
          baseline_copy_s: secs(copyS),
          baseline_rows_per_s: Math.round(n / copyS),
          import_s: secs(importS),
          import_rows_per_s: Math.round(n / importS),
          import_vs_copy: ratio(copyS / importS),
          loadavg_1m: [l0, load()],
        };
        // Stream and query once, on the first store.
        if (i === 0 && !args.includes('--no-read')) results.read = await streamAndQuery(store, url, `baseline_${ids}`, n);
      } finally {
        await store.close();
      }
      report('pg-import (partial)', results);
    }
    report('pg-import', { ...results, loadavg: loadavg().map((x) => +x.toFixed(2)) });
  } finally {
    cleanup(dir);
    await withClient(SERVER, (c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
  }
}
