/**
 * npm run bench -- ingest [--n 1000000] [--ids none|uuid4|string] [--update] [--prefill N]
 *                         [--gzip] [--format lines|array|legacy] [--via library|http|knowledge]
 *                         [--merge overwrite|merge|skip] [--client process|in-process] [--no-baseline]
 *
 * Durable `analogies import` of N generated analogies vs the naive baseline (bench/baseline.ts)
 * on the same file in the same process.
 * - `--ids`: the lines give no id (the store mints UUIDv7s), a UUIDv4, or a string id (`item-<seed>-<i>`);
 *   the baseline then inserts the same ids as its primary key.
 * - `--update`: the file is imported once, then timed a second time (every line a new version);
 *   the baseline upserts the same rows into a table holding them (INSERT ... ON CONFLICT DO UPDATE).
 * - `--prefill N`: the store first holds N other analogies (same id shape); the same file is
 *   also imported into an empty store in the same run, for the ratio. As a user runs it: the
 *   prefill, the import into the empty store and the one into the prefilled store each by a
 *   `softlogic analogies import` process of its own (timed from its start to its exit, start-up
 *   included on both sides of the ratio); their peaks are those processes' (/usr/bin/time's maxRSS).
 * - `--gzip` (with `--format`: that form gzip'd), `--format array`, `--format legacy` (the original system's lines, as its
 *   analogies.jsonl holds them: `{"type": "analogy", "workflow_id": ..., "id": ...,
 *   "created_at": ..., "source_pair": [...], "target_pair": [...], "context": ..., ...}`, made
 *   from the same generated analogies and ids, bench/data.ts's legacyLine), `--via http` (POST
 *   /api/analogies/batch of a service in this process; with `--gzip` the body is the gzip'd
 *   file): the same records imported the plain way too, in the same run, for the ratio.
 * - `--client`: where `--via http`'s client runs: `process` (default), a process of its own, as
 *   a real client (it still shares this machine's cores); `in-process`, on the service's main
 *   thread (the figure measured before 2026-11-27 20:00).
 * - `--no-baseline`: skips the naive baseline (minutes at full size), for runs that compare a
 *   variant with the plain file only.
 * - `--via knowledge`: the same file through `softlogic import` (a knowledge import, bare
 *   analogy lines, `--merge` strategy, default merge) into an empty store; with `--update` into
 *   a store that already holds the file (every record goes through the merge).
 * Without any of these: query latency and store density after compaction as well.
 * Peak RSS (but with `--prefill`, above) is the process's (threads included) before the baseline runs: the larger of the plain
 * import's and the variant's (`peak_rss_mb_upload`: the service's own during the upload, run
 * first; with `--client process` the client's is `client.peak_rss_mb`). Each import also gets its
 * own peak (`import_peak_rss_mb`, `plain_empty_store_peak_rss_mb`, `prefill.peak_rss_mb`,
 * `first_import.peak_rss_mb`): Linux's VmHWM, set back before each (PeakRss in util.ts).
 */
import { createReadStream, createWriteStream, existsSync, readFileSync } from 'node:fs';
import { createGzip } from 'node:zlib';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createInterface } from 'node:readline';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { openStore, type Store } from '../src/index.js';
import { startService } from '../src/service/start.js';
import { baselineIngest } from './baseline.js';
import { legacyLine, writeAnalogyFile, type IdShape } from './data.js';
import type { MergeStrategy } from '../src/methods/knowledge/import-applier.js';
import { argValue, cleanup, dirBytes, PeakRss, report, scratchDir } from './util.js';
import { postFile, type UploadAnswer } from './upload-client.js';

const execFileAsync = promisify(execFile);

/** Median and max of 21 runs of `query --min-quality 0.9 --limit 100`. */
async function queryLatencies(store: Store): Promise<{ median: number; max: number }> {
  const latencies: number[] = [];
  for (let i = 0; i < 21; i++) {
    const q0 = performance.now();
    const rows = await store.analogies.query({ min_quality: 0.9, limit: 100 });
    latencies.push(performance.now() - q0);
    if (rows.length !== 100) throw new Error('query returned ' + rows.length);
  }
  latencies.sort((a, b) => a - b);
  return { median: +latencies[10].toFixed(2), max: +latencies[20].toFixed(2) };
}

function textArg(args: string[], name: string, fallback: string): string {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
}

/** Imports the file into the store, timed; checks the count. */
async function timedImport(store: Store, file: string, n: number): Promise<number> {
  const t0 = performance.now();
  const result = await store.analogies.import(file);
  const seconds = (performance.now() - t0) / 1000;
  if (result.imported !== n) throw new Error(`imported ${result.imported} of ${n}`);
  return seconds;
}

const CLI = fileURLToPath(new URL('../../bin/softlogic.js', import.meta.url));

/**
 * `softlogic --store DIR analogies import FILE` in a process of its own (the store created by
 * `init` if absent), timed from its start to its exit; its peak RSS (all threads) by /usr/bin/time.
 */
async function cliImport(storeDir: string, file: string, n: number): Promise<{ seconds: number; peak_rss_mb: number }> {
  if (!existsSync(storeDir)) await execFileAsync(process.execPath, [CLI, '--store', storeDir, '--json', 'init']);
  const usage = `${storeDir}.time`;
  const t0 = performance.now();
  const { stdout } = await execFileAsync('/usr/bin/time', ['-o', usage, '-f', '%M', process.execPath, CLI, '--store', storeDir, '--json', 'analogies', 'import', file], { maxBuffer: 64 * 1024 * 1024 });
  const seconds = (performance.now() - t0) / 1000;
  const imported = (JSON.parse(stdout) as { imported: number }).imported;
  if (imported !== n) throw new Error(`imported ${imported} of ${n}`);
  const kb = Number(readFileSync(usage, 'utf8').trim().split('\n').at(-1));
  return { seconds, peak_rss_mb: Math.round(kb / 1024) };
}

/** Where `--via http`'s uploading client runs. */
type ClientPlace = 'process' | 'in-process';

/**
 * Uploads the file to POST /api/analogies/batch of a service on a fresh store, timed from the
 * request to its answer. The client runs in a process of its own (`process`, as a real client:
 * on this 2-core machine it still takes CPU the service could use) or on the service's own
 * main thread (`in-process`, the bench's earlier figure: its fetch competes with the route that
 * receives the body).
 */
async function timedUpload(storeDir: string, file: string, n: number, client: ClientPlace, contentType: string): Promise<{ seconds: number; client: Record<string, unknown> }> {
  const service = await startService({ storeDir, port: 0, rateLimit: false, uploadLimit: 4 * 1024 ** 3, handleSignals: false });
  try {
    const url = `${service.url}/api/analogies/batch?batch_size=50000`;
    let answer: UploadAnswer;
    let usage: Record<string, unknown> = {};
    if (client === 'in-process') {
      answer = await postFile(url, file, contentType);
    } else {
      const child = fileURLToPath(new URL('./upload-client.js', import.meta.url));
      const { stdout } = await execFileAsync(process.execPath, [child, url, file, contentType], { maxBuffer: 1024 * 1024 });
      const printed = JSON.parse(stdout) as UploadAnswer & { cpu_seconds: number; peak_rss_mb: number };
      answer = printed;
      usage = { cpu_seconds: printed.cpu_seconds, peak_rss_mb: printed.peak_rss_mb };
    }
    if (answer.status !== 201 || answer.imported !== n) throw new Error(`upload answered ${answer.status}: ${answer.error ?? `imported ${answer.imported}`}`);
    return { seconds: answer.seconds, client: { place: client === 'process' ? 'own process' : 'the service\'s process (main thread)', ...usage } };
  } finally {
    await service.close();
  }
}

const rate = (n: number, seconds: number) => Math.round(n / seconds);
const secs = (s: number) => +s.toFixed(2);
/**
 * The input of a variant, written from the JSON-lines file line by line (a read of the whole file
 * into strings would put ~1 GB in this process and in its peak RSS): gzip'd, one JSON array of
 * the same records, or the original system's line shape.
 */
async function variantFile(file: string, dir: string, variant: { gzip: boolean; array: boolean; legacy: boolean }): Promise<string> {
  // The array or legacy form first, then gzip'd if asked (`--gzip --format array` is a gzip'd array).
  const form = await formFile(file, dir, variant);
  if (!variant.gzip) return form;
  await pipeline(createReadStream(form), createGzip(), createWriteStream(`${form}.gz`));
  return `${form}.gz`;
}

/** The plain file in the variant's form: as it is, one JSON array, or the original system's lines. */
async function formFile(file: string, dir: string, variant: { array: boolean; legacy: boolean }): Promise<string> {
  if (!variant.array && !variant.legacy) return file;
  const out = variant.array ? `${dir}/input.json` : `${dir}/legacy.jsonl`;
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  await pipeline(Readable.from((async function* () {
    let first = true;
    let index = 0;
    if (variant.array) yield '[\n';
    for await (const line of lines) {
      if (line === '') continue;
      if (variant.array) yield (first ? '' : ',\n') + line;
      else {
        const { id, ...analogy } = JSON.parse(line) as Record<string, unknown>;
        yield legacyLine(analogy, id as string, index) + '\n';
      }
      index += 1;
      first = false;
    }
    if (variant.array) yield '\n]\n';
  })()), createWriteStream(out));
  return out;
}

export default async function ingest(args: string[]): Promise<void> {
  const n = argValue(args, 'n', 1_000_000);
  const ids = textArg(args, 'ids', 'none') as IdShape;
  const update = args.includes('--update');
  const prefill = argValue(args, 'prefill', 0);
  const gzip = args.includes('--gzip');
  const array = textArg(args, 'format', 'lines') === 'array';
  const legacy = textArg(args, 'format', 'lines') === 'legacy';
  const via = textArg(args, 'via', 'library');
  const http = via === 'http';
  const knowledge = via === 'knowledge';
  const merge = textArg(args, 'merge', 'merge') as MergeStrategy;
  const client = textArg(args, 'client', 'process') as ClientPlace;
  const withBaseline = !args.includes('--no-baseline');
  if (!['process', 'in-process'].includes(client)) throw new Error(`--client ${client}: process or in-process`);
  if (http && (array || legacy)) throw new Error('--via http uploads JSON lines, gzip\'d or not');
  if (!['library', 'http', 'knowledge'].includes(via)) throw new Error(`--via ${via}: library, http or knowledge`);
  if (!['none', 'uuid4', 'string'].includes(ids)) throw new Error(`--ids ${ids}: none, uuid4 or string`);
  if (legacy && ids === 'none') throw new Error('--format legacy needs --ids uuid4 or string (the original system gave every line an id)');
  if ((update || prefill > 0) && ids === 'none') throw new Error('--update and --prefill need --ids uuid4 or string (records without ids are always new)');
  const variant = gzip || array || legacy || http || knowledge;
  const peak = new PeakRss();
  const dir = scratchDir('ingest');
  try {
    const file = `${dir}/input.jsonl`;
    const inputBytes = await writeAnalogyFile(file, n, 42, ids);
    const results: Record<string, unknown> = { n, ids, input_mb: +(inputBytes / 1e6).toFixed(1) };
    let seconds: number;
    if (variant || prefill > 0) {
      // The plain file into an empty store: the reference of the ratio.
      const timePlain = async () => {
        if (prefill > 0) {
          const own = await cliImport(`${dir}/plain`, file, n);
          cleanup(`${dir}/plain`);
          Object.assign(results, { plain_empty_store_seconds: secs(own.seconds), plain_empty_store_per_second: rate(n, own.seconds), plain_empty_store_peak_rss_mb: own.peak_rss_mb });
          return;
        }
        const plain = await openStore(`${dir}/plain`, { create: true });
        peak.reset();
        const plainSeconds = await timedImport(plain, file, n);
        const plainPeak = peak.mb();
        await plain.close();
        cleanup(`${dir}/plain`);
        Object.assign(results, { plain_empty_store_seconds: secs(plainSeconds), plain_empty_store_per_second: rate(n, plainSeconds), plain_empty_store_peak_rss_mb: plainPeak });
      };
      // The upload first: the process's peak RSS (which only grows) is then the upload's
      // (service, its processing thread, the client), not the plain import's. Other variants
      // after the plain file, as measured so far; their input is written by streaming, so the
      // peak is the larger of the two imports'.
      if (http) {
        // --gzip: the gzip'd file is the body (application/gzip).
        const body = gzip ? await variantFile(file, dir, { gzip, array: false, legacy: false }) : file;
        const upload = await timedUpload(`${dir}/store`, body, n, client, gzip ? 'application/gzip' : 'application/x-ndjson');
        seconds = upload.seconds;
        results.client = upload.client;
        results.peak_rss_mb_upload = peak.overall();
        cleanup(`${dir}/store`);
        await timePlain();
      } else if (prefill > 0) {
        // Each import in a process of its own, as users run them (the bench process holds none of their memory).
        if (variant) throw new Error('--prefill imports the plain file only');
        await timePlain();
        const other = `${dir}/prefill.jsonl`;
        await writeAnalogyFile(other, prefill, 7, ids, 7);
        const filled = await cliImport(`${dir}/store`, other, prefill);
        results.prefill = { n: prefill, seconds: secs(filled.seconds), peak_rss_mb: filled.peak_rss_mb };
        const own = await cliImport(`${dir}/store`, file, n);
        seconds = own.seconds;
        results.import_peak_rss_mb = own.peak_rss_mb;
        results.peak_rss_of = "each import's own softlogic analogies import process (maxRSS, all threads)";
      } else {
        await timePlain();
        const source = await variantFile(file, dir, { gzip, array, legacy });
        const store = await openStore(`${dir}/store`, { create: true });
        if (knowledge) {
          if (update) await store.import(source, { merge });
          peak.reset();
          const t0 = performance.now();
          const result = await store.import(source, { merge });
          seconds = (performance.now() - t0) / 1000;
          if (result.records !== n) throw new Error(`knowledge import read ${result.records} of ${n}`);
          results.applied = result.applied;
        } else {
          peak.reset();
          seconds = await timedImport(store, source, n);
        }
        results.import_peak_rss_mb = peak.mb();
        await store.close();
      }
      Object.assign(results, {
        path: http ? `POST /api/analogies/batch${gzip ? ' (gzip\'d body)' : ''}` : knowledge ? `softlogic import --merge ${merge}${update ? ' (second time)' : ''}` : `${array ? 'JSON array' : legacy ? 'original system\'s line shape' : 'JSON lines'}${gzip ? ', gzip\'d' : ''}`,
        import_seconds: secs(seconds),
        import_per_second: rate(n, seconds),
        ratio_vs_plain_empty_store: +((results.plain_empty_store_seconds as number) / seconds).toFixed(2),
      });
    } else {
      const store = await openStore(`${dir}/store`, { create: true });
      if (update) {
        peak.reset();
        const first = await timedImport(store, file, n);
        results.first_import = { seconds: secs(first), per_second: rate(n, first), peak_rss_mb: peak.mb() };
      }
      peak.reset();
      seconds = await timedImport(store, file, n);
      Object.assign(results, { import_seconds: secs(seconds), import_per_second: rate(n, seconds), import_peak_rss_mb: peak.mb() });
      if (update && await store.analogies.count() !== n) throw new Error(`the second import left ${await store.analogies.count()} analogies, not ${n}`);
      if (!update && ids === 'none') {
        results.query_min_quality_0_9_limit_100_ms = await queryLatencies(store);
        const c0 = performance.now();
        await store.compact();
        results.compact_seconds = secs((performance.now() - c0) / 1000);
        // Reads of a compacted log inflate its blocks: measured again.
        results.query_after_compaction_ms = await queryLatencies(store);
        store.backend.db.pragma('wal_checkpoint(TRUNCATE)');
      }
      await store.close();
      if (!update && ids === 'none') {
        const storeBytes = dirBytes(`${dir}/store`);
        Object.assign(results, { store_mb_after_compaction: +(storeBytes / 1e6).toFixed(1), analogies_per_mb: Math.round(n / (storeBytes / 1e6)) });
      }
    }
    // With --prefill the imports ran in processes of their own: this process only wrote the files.
    results[prefill > 0 ? 'bench_process_peak_rss_mb' : 'peak_rss_mb'] = peak.overall();
    cleanup(`${dir}/store`);
    if (!withBaseline) {
      report('ingest', results);
      return;
    }
    const baselineSeconds = baselineIngest(file, dir, { givenIds: ids !== 'none', update });
    Object.assign(results, {
      baseline: update ? 'upsert (INSERT ... ON CONFLICT(id) DO UPDATE) + fsync\'d JSONL append' : ids === 'none' ? 'insert + fsync\'d JSONL append' : 'insert, ids as primary key, + fsync\'d JSONL append',
      baseline_seconds: secs(baselineSeconds),
      baseline_per_second: rate(n, baselineSeconds),
      speedup_vs_baseline: +(baselineSeconds / seconds).toFixed(2),
    });
    report('ingest', results);
  } finally {
    cleanup(dir);
  }
}
