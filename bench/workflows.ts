/**
 * npm run bench -- workflows [--n 1000000]
 * 1. `workflows process` of N staged analogies vs `analogies import` of the same file (stage +
 *    process), both in this process on fresh stores: the ratio of their speeds.
 * 2. A deletion workflow matching 10% of the N analogies (a quality band), timed end to end
 *    (selection, staging, processing), beside a plain SELECT of the same ids as the baseline.
 */
import { openStore } from '../src/index.js';
import { writeAnalogyFile } from './data.js';
import { argValue, cleanup, report, scratchDir } from './util.js';

export default async function workflows(args: string[]): Promise<void> {
  const n = argValue(args, 'n', 1_000_000);
  const dir = scratchDir('workflows');
  try {
    const file = `${dir}/input.jsonl`;
    await writeAnalogyFile(file, n);

    const importStore = await openStore(`${dir}/import`, { create: true });
    const i0 = performance.now();
    await importStore.analogies.import(file);
    const importSeconds = (performance.now() - i0) / 1000;
    await importStore.close();

    const store = await openStore(`${dir}/process`, { create: true });
    const staged = await store.workflows.createFromFile(file);
    const p0 = performance.now();
    const done = await store.workflows.process(staged.workflow_id);
    const processSeconds = (performance.now() - p0) / 1000;
    if (done.items_processed !== n) throw new Error(`processed ${done.items_processed} of ${n}`);

    // Quality is uniform in [0,1): this band holds ~10% of the analogies.
    const band = { min_quality: 0.45, max_quality: 0.55 };
    const b0 = performance.now();
    const expected = await store.analogies.count(band);
    const baselineSeconds = (performance.now() - b0) / 1000;
    const d0 = performance.now();
    const deleted = await store.analogies.deleteMatching(band);
    const deleteSeconds = (performance.now() - d0) / 1000;
    if (deleted.matched !== expected) throw new Error(`deleted ${deleted.matched}, expected ${expected}`);
    const verify = await store.verify();
    await store.close();
    report('workflows', {
      n,
      import_seconds: +importSeconds.toFixed(2),
      import_per_second: Math.round(n / importSeconds),
      process_seconds: +processSeconds.toFixed(2),
      process_per_second: Math.round(n / processSeconds),
      process_speed_vs_import: +(importSeconds / processSeconds).toFixed(2),
      deletion: { matched: deleted.matched, seconds: +deleteSeconds.toFixed(2), baseline_count_seconds: +baselineSeconds.toFixed(3) },
      verify_valid: verify.valid,
    });
  } finally {
    cleanup(dir);
  }
}
