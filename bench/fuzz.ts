/**
 * npm run bench -- fuzz [--cases 400] [--seed 1]
 * The fuzz test of the log reader and the backup reader (test/fuzz-harness.ts) at length: random
 * byte flips, truncations, insertions and crafted lines; fails on the first broken property.
 */
import { fuzz } from '../test/fuzz-harness.js';
import { argValue, cleanup, report, scratchDir } from './util.js';

export default async function run(args: string[]): Promise<void> {
  const cases = argValue(args, 'cases', 400);
  const seed = argValue(args, 'seed', Date.now() % 1_000_000);
  const dir = scratchDir('fuzz');
  try {
    const t0 = performance.now();
    const stats = await fuzz(dir, seed, Math.ceil(cases * 0.6), Math.floor(cases * 0.4));
    report('fuzz', { seed, seconds: +((performance.now() - t0) / 1000).toFixed(1), ...stats });
  } finally {
    cleanup(dir);
  }
}
