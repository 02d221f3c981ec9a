/**
 * The README's claim that compaction survives a crash at any point: SIGKILL `softlogic compact`
 * at random moments while it writes log.jsonl.compacting or swaps it in (fixed seed), and after
 * every kill the store opens, verifies valid, and holds exactly the records it held before
 * (content, versions, deleted ones gone from streams); a final compaction then completes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { openStore, type Store } from '../src/index.js';
import type { Analogy } from '../src/core/records.js';
import { cliOk, cliSpawn, genAnalogies, rng, tempDir, writeJsonl, collect } from './helpers.js';

const N = 30_000;
/** Kill points inside compaction (SOFTLOGIC_KILL_AT), each certain to land: rewrite, commit, swap. */
const POINTS = ['compact-mid-rewrite', 'compact-before-commit', 'compact-after-commit', 'compact-after-rename'];
/** Then kills after a random delay once the rewrite has begun (they may land anywhere, or miss). */
const RANDOM_KILLS = 4;
const KILLS = POINTS.length + RANDOM_KILLS;

async function active(s: Store): Promise<Map<string, Analogy>> {
  return new Map((await collect(s.analogies.stream())).map((a) => [a.id, a]));
}

test(`SIGKILL of compact at ${POINTS.length} fixed and ${RANDOM_KILLS} random points: every reopen is valid and holds the same records`, { timeout: 600_000 }, async () => {
  const dir = tempDir();
  const storeDir = join(dir, 's');
  const data = genAnalogies(N, 909, 'x-');
  cliOk(storeDir, ['init']);
  cliOk(storeDir, ['analogies', 'import', writeJsonl(join(dir, 'a.jsonl'), data)]);
  // Superseded versions and tombstones: what compaction drops.
  cliOk(storeDir, ['analogies', 'import', writeJsonl(join(dir, 'b.jsonl'), data.slice(0, 5000).map((a) => ({ ...a, quality_score: 0.5 })))]);
  cliOk(storeDir, ['analogies', 'delete', '--tag', 'noisy']);
  let expected: Map<string, Analogy>;
  {
    const s = await openStore(storeDir);
    expected = await active(s);
    await s.close();
  }
  assert.ok(expected.size > 1000 && expected.size < N);
  const compacting = join(storeDir, 'contexts', 'default', 'log.jsonl.compacting');
  const r = rng(77);
  let landed = 0;
  for (let k = 0; k < KILLS; k++) {
    const point = POINTS[k];
    const child = cliSpawn(storeDir, ['compact'], point ? { env: { ...process.env, SOFTLOGIC_KILL_AT: point } } : {});
    child.stdout?.resume();
    child.stderr?.resume();
    // Random kills are armed once the rewrite has begun, then a random delay: inside the rewrite or the swap.
    const extra = point ? Infinity : r() * 400;
    const outcome = await new Promise<'killed' | 'exited'>((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const poll = setInterval(() => {
        if (!existsSync(compacting)) return;
        clearInterval(poll);
        if (Number.isFinite(extra)) timer = setTimeout(() => child.kill('SIGKILL'), extra);
      }, 2);
      child.on('exit', (_code, signal) => {
        clearInterval(poll);
        clearTimeout(timer);
        resolve(signal === 'SIGKILL' ? 'killed' : 'exited');
      });
    });
    if (point) assert.equal(outcome, 'killed', `kill point ${point} was not reached`);
    if (outcome === 'killed') landed += 1;
    const s = await openStore(storeDir);
    try {
      const report = await s.verify();
      assert.equal(report.valid, true, `after kill ${k + 1}: ${JSON.stringify(report.issues).slice(0, 1000)}`);
      const now = await active(s);
      assert.equal(now.size, expected.size, `after kill ${k + 1}`);
      for (const [id, a] of expected) assert.deepEqual(now.get(id), a, `after kill ${k + 1}: ${id}`);
    } finally {
      await s.close();
    }
  }
  assert.ok(landed >= POINTS.length, `only ${landed} of ${KILLS} kills landed inside compaction`);
  const report = cliOk(storeDir, ['compact']) as Array<{ active_records: number }> | { contexts?: unknown };
  assert.ok(report);
  assert.ok(!existsSync(compacting));
  const s = await openStore(storeDir);
  try {
    assert.equal((await s.verify()).valid, true);
    const now = await active(s);
    assert.equal(now.size, expected.size);
    for (const [id, a] of expected) assert.deepEqual(now.get(id), a);
  } finally {
    await s.close();
  }
});
