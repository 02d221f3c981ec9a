import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { initStore, openStore } from '../src/index.js';
import { cli, cliOk, cliSpawn, genAnalogies, inputFields, itemsOnce, rng, tempDir, writeJsonl, collect } from './helpers.js';

test('SIGKILL mid-import: after reopening, every committed batch is there exactly once and verify is valid', { timeout: 60_000 }, async () => {
  const dir = tempDir();
  const storeDir = join(dir, 'store');
  const n = 40_000;
  const batch = 2000;
  const data = genAnalogies(n, 600, 'c');
  const file = writeJsonl(join(dir, 'data.jsonl'), data);
  await (await initStore(storeDir)).close();
  const r = rng(99);
  const importArgs = ['analogies', 'import', file, '--workflow-id', 'crash', '--batch-size', String(batch)];
  const exists = async () => {
    const s = await openStore(storeDir, { resume: false });
    try {
      return (await s.workflows.list()).some((w) => w.workflow_id === 'crash');
    } finally {
      await s.close();
    }
  };
  for (let k = 0; k < 3; k++) {
    const fresh = !(await exists());
    const args = fresh ? importArgs : ['workflows', 'resume'];
    const child = cliSpawn(storeDir, args);
    child.stdout?.resume();
    child.stderr?.resume();
    const delay = (fresh ? 800 : 500) + r() * 1200;
    const exited = await new Promise<boolean>((resolve) => {
      const t = setTimeout(() => {
        child.kill('SIGKILL');
        resolve(false);
      }, delay);
      child.on('exit', () => {
        clearTimeout(t);
        resolve(true);
      });
    });
    if (!exited) await new Promise((resolve) => child.on('exit', resolve));
    const store = await openStore(storeDir, { resume: false });
    try {
      const wf = (await store.workflows.list()).find((w) => w.workflow_id === 'crash');
      const count = await store.analogies.count();
      const processed = wf?.items_processed ?? 0;
      assert.equal(count, processed, `after kill ${k + 1}: ${count} records, items_processed ${processed}`);
      assert.ok(processed % batch === 0 || processed === n);
      const versions = (await collect(store.analogies.stream())).filter((a) => a.version !== 1).length;
      assert.equal(versions, 0);
      const report = await store.verify();
      assert.equal(report.valid, true, JSON.stringify(report.issues));
    } finally {
      await store.close();
    }
  }
  // Killed before the workflow was even recorded, nothing was imported: the import runs again.
  // Otherwise the next open resumes it, whatever state the kill left it in (pending or processing).
  if (!(await exists())) cliOk(storeDir, importArgs);
  const done = cliOk(storeDir, ['workflows', 'resume']);
  assert.ok(Array.isArray(done.resumed));
  const final = cliOk(storeDir, ['workflows', 'show', 'crash']);
  assert.equal(final.status, 'completed');
  assert.equal(final.items_processed, n);
  assert.equal(cliOk(storeDir, ['analogies', 'query', '--limit', '1']).count, 1);
  const store = await openStore(storeDir);
  try {
    assert.equal(await store.analogies.count(), n);
    const byId = new Map((await collect(store.analogies.stream())).map((a) => [a.id, a]));
    for (const a of data) {
      const got = byId.get(a.id);
      assert.ok(got, `${a.id} missing`);
      assert.deepEqual(inputFields(got), a);
      assert.equal(got.version, 1);
    }
    assert.equal((await store.verify()).valid, true);
  } finally {
    await store.close();
  }
});

/**
 * Runs `body` on a store directory inside a tmpfs of `sizeMb` whose free space `fill` shrinks
 * first; skips when a tmpfs cannot be mounted (needs root).
 */
async function onSmallDisk(t: TestContext, sizeMb: number, body: (mnt: string, fill: (leaveBytes: number) => string) => Promise<void>): Promise<void> {
  const dir = tempDir();
  const mnt = join(dir, 'mnt');
  mkdirSync(mnt);
  const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}m`, 'tmpfs', mnt], { encoding: 'utf8' });
  if (mount.status !== 0) {
    t.skip(`cannot mount a tmpfs to simulate a full disk (needs root and mount): ${(mount.stderr || String(mount.error)).trim()}`);
    return;
  }
  const fill = (leaveBytes: number) => {
    const filler = join(mnt, 'filler');
    const df = spawnSync('df', ['-B1', '--output=avail', mnt], { encoding: 'utf8' });
    const avail = Number(df.stdout.trim().split('\n').pop());
    writeFileSync(filler, Buffer.alloc(Math.max(0, avail - leaveBytes)));
    return filler;
  };
  try {
    await body(mnt, fill);
  } finally {
    spawnSync('umount', ['-l', mnt]);
  }
}

test('a full disk (a 6 MB tmpfs): the import fails with NO_SPACE naming its workflow, stays failed across opens, and `workflows resume ID` finishes it once space is freed', async (t) => {
  const dir = tempDir();
  // 6 MB: records with their own ids stage as their full record plus index columns (~1.8 MB
  // here), and the retry below needs that beside its log.
  await onSmallDisk(t, 6, async (mnt, fill) => {
    const storeDir = join(mnt, 'store');
    cliOk(storeDir, ['init']);
    const small = genAnalogies(100, 601, 'small-');
    cliOk(storeDir, ['analogies', 'import', writeJsonl(join(dir, 'small.jsonl'), small)]);
    // leave ~2.3 MB free, then import ~1.8 MB staged (records with their own ids) / ~1.4 MB of
    // log: staging fits, processing runs out of space
    const filler = fill(2_300_000);
    const big = genAnalogies(3000, 602, 'big-');
    const bigFile = writeJsonl(join(dir, 'big.jsonl'), big);
    const r = cli(storeDir, ['analogies', 'import', bigFile, '--workflow-id', 'full', '--batch-size', '250']);
    const err = (r.json as { error?: { code: string; message: string; details: { workflow_id?: string; workflow_status?: string } } }).error;
    assert.ok(err, `expected the import to fail on a full disk: ${r.stdout.slice(0, 500)}`);
    assert.equal(err.code, 'NO_SPACE', r.stdout.slice(0, 500));
    assert.equal(r.status, 1);
    assert.match(err.message, /workflow full\b/);
    assert.equal(err.details.workflow_id, 'full');

    // what was committed is consistent (free a little room first: verify/open may need to write)
    rmSync(filler);
    const store = await openStore(storeDir, { resume: false });
    try {
      const report = await store.verify();
      assert.equal(report.valid, true, JSON.stringify(report.issues));
      for (const a of small) assert.equal((await store.analogies.get(a.id)).deleted_at, null);
      const wf = await store.workflows.get('full');
      assert.equal(wf.status, err.details.workflow_status);
      assert.equal(await store.analogies.count(), 100 + wf.items_processed);
    } finally {
      await store.close();
    }
    // What the user was told failed stays failed: no open, no plain `resume` finishes it behind their back.
    assert.deepEqual(cliOk(storeDir, ['workflows', 'resume']).resumed, []);
    const shown = cliOk(storeDir, ['workflows', 'show', 'full']);
    assert.equal(shown.status, 'failed');
    assert.ok(shown.error_count >= 1 && /space/i.test(shown.error_log.join(' ')), JSON.stringify(shown.error_log));
    // Asked by name, it applies the rest exactly once.
    const done = cliOk(storeDir, ['workflows', 'resume', 'full']);
    assert.equal(done.status, 'completed');
    assert.equal(done.items_processed, 3000);
    const after = await openStore(storeDir);
    try {
      assert.equal(await after.analogies.count(), 3100);
      for (const a of [...small, ...big]) assert.deepEqual(inputFields(await after.analogies.get(a.id)), a);
      assert.equal((await after.verify()).valid, true);
    } finally {
      await after.close();
    }
  });
});

test('a full disk under a pipelined import (the log writer thread): NO_SPACE, the store consistent, resumed once space is freed', { timeout: 120_000 }, async (t) => {
  const dir = tempDir();
  await onSmallDisk(t, 64, async (mnt, fill) => {
    const storeDir = join(mnt, 'store');
    await (await openStore(storeDir, { create: true })).close();
    const n = 40_000;
    const r = rng(604);
    const file = join(dir, 'fresh.jsonl');
    writeFileSync(file, Array.from({ length: n }, (_, i) => JSON.stringify({ source_domain: `d${i % 9}`, target_domain: 't', quality_score: Math.round(r() * 1000) / 1000, concept_mappings: { a: 'b' }, frame_mappings: {}, tags: ['x'], metadata: { i, pad: 'p'.repeat(200) } })).join('\n') + '\n');
    // Room for the staged file (~22 MB) and about half the log (~27 MB in all).
    const filler = fill(36_000_000);
    const r1 = cli(storeDir, ['analogies', 'import', file, '--workflow-id', 'full-pipe', '--batch-size', '2500']);
    const err = (r1.json as { error?: { code: string } }).error;
    assert.equal(err?.code, 'NO_SPACE', r1.stdout.slice(0, 500));
    rmSync(filler);
    const store = await openStore(storeDir);
    try {
      const wf = await store.workflows.get('full-pipe');
      assert.equal(wf.status, 'failed', 'not resumed by the open');
      assert.ok(wf.items_processed > 0 && wf.items_processed < n, `items_processed ${wf.items_processed}`);
      assert.equal(await store.analogies.count(), wf.items_processed);
      assert.equal((await store.verify()).valid, true);
    } finally {
      await store.close();
    }
    assert.equal(cliOk(storeDir, ['workflows', 'resume', 'full-pipe']).status, 'completed');
    const after = await openStore(storeDir);
    try {
      assert.equal((await after.workflows.get('full-pipe')).status, 'completed');
      assert.equal(await after.analogies.count(), n);
      assert.equal((await itemsOnce(after)).size, n);
      assert.equal((await after.verify()).valid, true);
    } finally {
      await after.close();
    }
  });
});
