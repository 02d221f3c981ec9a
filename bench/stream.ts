/**
 * npm run bench -- stream [--n 1000000]
 * Library iterator over a store of N analogies with 10% soft-deleted; RSS sampled after the
 * first 100k records and at the end (constant memory means no growth between the two). The
 * baseline in the same run is a plain line-by-line JSON.parse of the source file.
 */
import { readFileSync } from 'node:fs';
import { openStore } from '../src/index.js';
import { writeAnalogyFile } from './data.js';
import { argValue, cleanup, report, scratchDir } from './util.js';

export default async function stream(args: string[]): Promise<void> {
  const n = argValue(args, 'n', 1_000_000);
  const dir = scratchDir('stream');
  try {
    const file = `${dir}/input.jsonl`;
    await writeAnalogyFile(file, n);
    const store = await openStore(`${dir}/store`, { create: true });
    await store.analogies.import(file);
    const deleted = await store.analogies.deleteMatching({ max_quality: 0.1 });
    const b0 = performance.now();
    let baselineCount = 0;
    for (const line of readFileSync(file, 'utf8').split('\n')) if (line) baselineCount += JSON.parse(line) ? 1 : 0;
    const baselineSeconds = (performance.now() - b0) / 1000;
    globalThis.gc?.();
    const rssStart = process.memoryUsage().rss;
    let rssAt100k = 0;
    let count = 0;
    const t0 = performance.now();
    for await (const a of store.analogies.stream()) {
      if (a.deleted_at !== null) throw new Error('deleted record streamed');
      count += 1;
      if (count === 100_000) rssAt100k = process.memoryUsage().rss;
    }
    const seconds = (performance.now() - t0) / 1000;
    const rssEnd = process.memoryUsage().rss;
    // The same stream once compaction has dropped the deleted records and compressed the log.
    await store.compact();
    const c0 = performance.now();
    let compactedCount = 0;
    for await (const a of store.analogies.stream()) compactedCount += a.deleted_at === null ? 1 : 0;
    const compactedSeconds = (performance.now() - c0) / 1000;
    await store.close();
    report('stream', {
      n,
      deleted: deleted.matched,
      streamed: count,
      stream_seconds: +seconds.toFixed(2),
      stream_per_second: Math.round(count / seconds),
      baseline_json_parse_per_second: Math.round(baselineCount / baselineSeconds),
      ratio_vs_baseline: +((count / seconds) / (baselineCount / baselineSeconds)).toFixed(2),
      after_compaction_per_second: Math.round(compactedCount / compactedSeconds),
      rss_mb: { start: Math.round(rssStart / 1e6), at_100k: Math.round(rssAt100k / 1e6), end: Math.round(rssEnd / 1e6), growth_100k_to_end: Math.round((rssEnd - rssAt100k) / 1e6) },
    });
  } finally {
    cleanup(dir);
  }
}
