/** Staging one line both ways (with and without the fast scanners), for the fast-path suites. */
import assert from 'node:assert/strict';
import { stageBlock, type StagedBlock } from '../src/methods/analogies/stage-block.js';
import type { StagingTarget } from '../src/core/staged-put.js';
import { mutated } from './helpers.js';

/**
 * Stages the line with the fast paths and with the general path alone, and requires the same
 * verdict, issues and rejects; the staged items are the caller's to compare (minted ids differ).
 */
export function stagedBothWays(line: string, target: StagingTarget, options: { lenient: boolean; maxIssues: number }): { fast: StagedBlock; general: StagedBlock } {
  const data = Buffer.from(line);
  const fast = stageBlock(0, data, target, { ...options, fast: true });
  const general = stageBlock(0, data, target, { ...options, fast: false });
  assert.equal(fast.count, general.count, line);
  assert.equal(fast.rejected, general.rejected, line);
  assert.deepEqual(fast.issues, general.issues, line);
  assert.equal(fast.rejects, general.rejects, line);
  return { fast, general };
}

/**
 * Stages `perSeed` random byte mutations of each seed line through `compare` (which asserts the
 * two paths agree); counts the mutations the fast path took, of those staged.
 */
export function compareMutations(seeds: readonly string[], r: () => number, alphabet: string, perSeed: number, compare: (line: string) => 'fast' | 'general'): { fast: number; total: number } {
  let fast = 0;
  let total = 0;
  for (const seed of seeds) {
    for (let k = 0; k < perSeed; k++) {
      const line = mutated(seed, r, alphabet);
      if (line.includes('\n')) continue;
      if (compare(line) === 'fast') fast += 1;
      total += 1;
    }
  }
  return { fast, total };
}
