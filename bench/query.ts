/**
 * npm run bench -- query [--n 200000] [--rounds 2000]
 * The single-record and query paths of the library over a store of N analogies with given ids:
 * get by id, history, save (a new version), delete + restore, query by quality / domain / tag
 * with paging, count. Each figure is operations per second; the baseline in the same run is a
 * plain Map lookup plus JSON.stringify of the same records (what a get costs without a store).
 */
import { openStore } from '../src/index.js';
import type { Analogy } from '../src/core/records.js';
import { prng, writeAnalogyFile } from './data.js';
import { argValue, cleanup, report, scratchDir } from './util.js';

async function rate(rounds: number, op: (i: number) => unknown): Promise<number> {
  for (let i = 0; i < Math.min(50, rounds); i++) await op(i); // warm-up: statements prepared, pages cached
  const t0 = performance.now();
  for (let i = 0; i < rounds; i++) await op(i);
  return Math.round(rounds / ((performance.now() - t0) / 1000));
}

export default async function query(args: string[]): Promise<void> {
  const n = argValue(args, 'n', 200_000);
  const rounds = argValue(args, 'rounds', 2000);
  const dir = scratchDir('query');
  try {
    const file = `${dir}/input.jsonl`;
    await writeAnalogyFile(file, n, 7, 'string');
    const store = await openStore(`${dir}/store`, { create: true });
    await store.analogies.import(file);
    const rand = prng(11);
    const ids = Array.from({ length: rounds + 50 }, () => `item-7-${Math.floor(rand() * n)}`);
    const records = new Map<string, Analogy>();
    for (const id of ids) records.set(id, await store.analogies.get(id));
    const baseline = await rate(rounds, (i) => Promise.resolve(JSON.stringify(records.get(ids[i]))));
    const pages = [0, 100, 1000, 5000];
    const results = {
      get: await rate(rounds, (i) => store.analogies.get(ids[i])),
      history: await rate(rounds, (i) => store.analogies.history(ids[i])),
      query_quality: await rate(rounds / 4, (i) => store.analogies.query({ min_quality: 0.5, limit: 100, offset: pages[i % 4] })),
      query_domain: await rate(rounds / 4, (i) => store.analogies.query({ domain: 'music', limit: 100, offset: pages[i % 4] })),
      query_tag: await rate(rounds / 20, (i) => store.analogies.query({ tag: `tag${i % 20}`, limit: 100 })),
      count_domain: await rate(rounds / 20, () => store.analogies.count({ domain: 'finance', min_quality: 0.3 })),
      save: await rate(rounds / 4, (i) => store.analogies.save({ ...records.get(ids[i]), quality_score: 0.5 })),
      delete_restore: await rate(rounds / 4, async (i) => {
        await store.analogies.delete(ids[i + 50]);
        await store.analogies.restore(ids[i + 50]);
      }),
    };
    await store.close();
    report('query', {
      n,
      rounds,
      baseline_map_get_per_second: baseline,
      per_second: results,
      get_ratio_vs_baseline: +(results.get / baseline).toFixed(4),
    });
  } finally {
    cleanup(dir);
  }
}
