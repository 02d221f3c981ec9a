/**
 * npm run bench -- ingest [--n 1000000]
 * Durable `analogies import` of N generated analogies vs the naive baseline (bench/baseline.ts)
 * on the same file in the same process; then query latency and store density after compaction.
 */
import { openStore, type Store } from '../src/index.js';
import { baselineIngest } from './baseline.js';
import { writeAnalogyFile } from './data.js';
import { argValue, cleanup, dirBytes, report, scratchDir } from './util.js';

/** Median and max of 21 runs of `query --min-quality 0.9 --limit 100`. */
function queryLatencies(store: Store): { median: number; max: number } {
  const latencies: number[] = [];
  for (let i = 0; i < 21; i++) {
    const q0 = performance.now();
    const rows = store.analogies.query({ min_quality: 0.9, limit: 100 });
    latencies.push(performance.now() - q0);
    if (rows.length !== 100) throw new Error('query returned ' + rows.length);
  }
  latencies.sort((a, b) => a - b);
  return { median: +latencies[10].toFixed(2), max: +latencies[20].toFixed(2) };
}

export default async function ingest(args: string[]): Promise<void> {
  const n = argValue(args, 'n', 1_000_000);
  const dir = scratchDir('ingest');
  try {
    const file = `${dir}/input.jsonl`;
    const inputBytes = await writeAnalogyFile(file, n);
    const baselineSeconds = baselineIngest(file, dir);
    const store = await openStore(`${dir}/store`, { create: true });
    const t0 = performance.now();
    const result = await store.analogies.import(file);
    const importSeconds = (performance.now() - t0) / 1000;
    if (result.imported !== n) throw new Error(`imported ${result.imported} of ${n}`);
    const latencies = queryLatencies(store);
    const c0 = performance.now();
    store.compact();
    const compactSeconds = (performance.now() - c0) / 1000;
    // Reads of a compacted log inflate its blocks: measured again.
    const compactedLatencies = queryLatencies(store);
    store.backend.db.pragma('wal_checkpoint(TRUNCATE)');
    store.close();
    const storeBytes = dirBytes(`${dir}/store`);
    report('ingest', {
      n,
      input_mb: +(inputBytes / 1e6).toFixed(1),
      import_seconds: +importSeconds.toFixed(2),
      import_per_second: Math.round(n / importSeconds),
      baseline_seconds: +baselineSeconds.toFixed(2),
      baseline_per_second: Math.round(n / baselineSeconds),
      speedup_vs_baseline: +(baselineSeconds / importSeconds).toFixed(2),
      query_min_quality_0_9_limit_100_ms: latencies,
      compact_seconds: +compactSeconds.toFixed(2),
      query_after_compaction_ms: compactedLatencies,
      store_mb_after_compaction: +(storeBytes / 1e6).toFixed(1),
      analogies_per_mb: Math.round(n / (storeBytes / 1e6)),
    });
  } finally {
    cleanup(dir);
  }
}
