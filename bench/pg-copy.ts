/**
 * The naive PostgreSQL import baseline of issue 15: one COPY of N analogies (with their own ids,
 * as real data has) into a table with the index columns, a jsonb body and the three query
 * indexes maintained, in one transaction. With `--backend`, the same records also go through
 * PostgresBackend.write in batches (the generic write path: versions, change log, current flags),
 * reported as a ratio to the COPY of the same run.
 *
 *   npm run bench -- pg-copy [--n 1000000] [--batch 5000] [--backend]
 *
 * Runs in a database of its own (softlogic_bench_<pid>) on SOFTLOGIC_BENCH_PG_URL (default
 * postgres://root@127.0.0.1:5432/test), dropped at the end.
 */
import { loadavg } from 'node:os';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { PostgresBackend } from '../src/backend/postgres/postgres-backend.js';
import type { Analogy } from '../src/core/records.js';
import { generateAnalogy, prng } from './data.js';
import { argValue, report } from './util.js';

const SERVER = process.env.SOFTLOGIC_BENCH_PG_URL ?? 'postgres://root@127.0.0.1:5432/test';

function databaseUrl(name: string): string {
  const url = new URL(SERVER);
  url.pathname = `/${name}`;
  return url.toString();
}

function uuid4(rand: () => number): string {
  const hex = (n: number) => Array.from({ length: n }, () => Math.floor(rand() * 16).toString(16)).join('');
  return `${hex(8)}-${hex(4)}-4${hex(3)}-${'89ab'[Math.floor(rand() * 4)]}${hex(3)}-${hex(12)}`;
}

function records(n: number): Analogy[] {
  const rand = prng(42);
  const idRand = prng(1_000_045);
  const now = '2026-01-01T00:00:00.000Z';
  const out: Analogy[] = [];
  for (let i = 0; i < n; i++) {
    out.push({ id: uuid4(idRand), context: 'default', ...(generateAnalogy(rand, i) as object), created_at: now, updated_at: now, version: 1, deleted_at: null, workflow_id: null } as Analogy);
  }
  return out;
}

/** COPY text format: backslash, tab and newline escaped (JSON text holds no raw tab or newline). */
function copyText(value: string): string {
  return value.replace(/\\/g, '\\\\');
}

/** The COPY input, in chunks of 10,000 lines, built before the clock starts. */
function copyChunks(rows: Analogy[]): Buffer[] {
  const chunks: Buffer[] = [];
  for (let i = 0; i < rows.length; i += 10_000) {
    let text = '';
    for (const r of rows.slice(i, i + 10_000)) {
      text += `1\t${copyText(r.id)}\t${copyText(r.source_domain)}\t${copyText(r.target_domain)}\t${r.quality_score}\t${Date.parse(r.created_at)}\t${copyText(JSON.stringify(r))}\n`;
    }
    chunks.push(Buffer.from(text));
  }
  return chunks;
}

async function baselineCopy(url: string, chunks: Buffer[]): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`CREATE TABLE baseline(ctx integer NOT NULL, id text NOT NULL, source_domain text NOT NULL, target_domain text NOT NULL,
      quality double precision NOT NULL, created_ms bigint NOT NULL, body jsonb NOT NULL)`);
    await client.query('CREATE INDEX baseline_quality ON baseline(ctx, quality DESC)');
    await client.query('CREATE INDEX baseline_source ON baseline(ctx, source_domain, quality DESC)');
    await client.query('CREATE INDEX baseline_target ON baseline(ctx, target_domain, quality DESC)');
    await client.query('CHECKPOINT');
    const t0 = performance.now();
    await client.query('BEGIN');
    await pipeline(Readable.from(chunks), client.query(copyFrom('COPY baseline(ctx, id, source_domain, target_domain, quality, created_ms, body) FROM STDIN')));
    await client.query('COMMIT');
    return (performance.now() - t0) / 1000;
  } finally {
    await client.end();
  }
}

/** The generic write path, then a full stream and the query (min quality 0.9, limit 100) on what it wrote. */
async function backendWrite(url: string, rows: Analogy[], batchSize: number): Promise<Record<string, number>> {
  const backend = await PostgresBackend.open(`${url}?schema=bench`, { create: true });
  try {
    const t0 = performance.now();
    for (let i = 0; i < rows.length; i += batchSize) {
      const batch = rows.slice(i, i + batchSize);
      await backend.write('default', (b) => {
        for (const r of batch) b.change('analogy', 'put', r, undefined, { fresh: true });
      });
    }
    const writeS = (performance.now() - t0) / 1000;
    const t1 = performance.now();
    let streamed = 0;
    for await (const page of backend.records.streamAnalogyJson({})) streamed += page.length;
    const streamS = (performance.now() - t1) / 1000;
    if (streamed !== rows.length) throw new Error(`streamed ${streamed} of ${rows.length}`);
    const times: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t = performance.now();
      await backend.records.queryAnalogies({ min_quality: 0.9, limit: 100 });
      times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    return { write_s: writeS, stream_per_s: Math.round(streamed / streamS), query_median_ms: +(times[10] as number).toFixed(2) };
  } finally {
    await backend.close();
  }
}

export default async function run(args: string[]): Promise<void> {
  const n = argValue(args, 'n', 1_000_000);
  const batchSize = argValue(args, 'batch', 5000);
  const name = `softlogic_bench_${process.pid}`;
  const admin = new pg.Client({ connectionString: SERVER });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  try {
    const rows = records(n);
    const chunks = copyChunks(rows);
    const copyS = await baselineCopy(databaseUrl(name), chunks);
    const results: Record<string, unknown> = {
      n,
      copy_s: +copyS.toFixed(2),
      copy_rows_per_s: Math.round(n / copyS),
      copy_mb: +(chunks.reduce((s, c) => s + c.length, 0) / 1e6).toFixed(1),
    };
    if (args.includes('--backend')) {
      const b = await backendWrite(databaseUrl(name), rows, batchSize);
      const writeS = b.write_s as number;
      Object.assign(results, {
        backend_batch: batchSize,
        backend_write_s: +writeS.toFixed(2),
        backend_rows_per_s: Math.round(n / writeS),
        backend_vs_copy: +(copyS / writeS).toFixed(3),
        backend_stream_per_s: b.stream_per_s,
        backend_query_min09_limit100_median_ms: b.query_median_ms,
      });
    }
    report('pg-copy', { ...results, loadavg: loadavg().map((x) => +x.toFixed(2)) });
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}
