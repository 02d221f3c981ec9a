import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { openStore } from '../src/index.js';
import { byId, cliOk, cliSpawn, genAnalogies, inputFields, logRecordLines, tempDir, writeJsonl, collect } from './helpers.js';

function run(storeDir: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = cliSpawn(storeDir, args);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

test('two processes importing different files into one store at once both complete with exact counts', { timeout: 90_000 }, async () => {
  const dir = tempDir();
  const storeDir = join(dir, 'store');
  cliOk(storeDir, ['init']);
  const a = genAnalogies(15_000, 700, 'A');
  const b = genAnalogies(15_000, 701, 'B');
  const c = genAnalogies(5_000, 702, 'C');
  const fa = writeJsonl(join(dir, 'a.jsonl'), a);
  const fb = writeJsonl(join(dir, 'b.jsonl'), b);
  const fc = writeJsonl(join(dir, 'c.jsonl'), c);
  const [ra, rb, rc] = await Promise.all([
    run(storeDir, ['analogies', 'import', fa, '--batch-size', '500', '--workflow-id', 'wa']),
    run(storeDir, ['analogies', 'import', fb, '--batch-size', '300', '--workflow-id', 'wb']),
    run(storeDir, ['analogies', 'import', fc, '--batch-size', '100', '--workflow-id', 'wc', '--context', 'other']),
  ]);
  for (const [r, n] of [
    [ra, 15_000],
    [rb, 15_000],
    [rc, 5_000],
  ] as const) {
    assert.equal(r.code, 0, `${r.stdout.slice(0, 1000)} ${r.stderr.slice(0, 1000)}`);
    const out = JSON.parse(r.stdout) as { imported: number; workflow: { status: string; items_processed: number; error_count: number } };
    assert.equal(out.workflow.status, 'completed');
    assert.equal(out.imported, n);
    assert.equal(out.workflow.items_processed, n);
    assert.equal(out.workflow.error_count, 0);
  }
  const store = await openStore(storeDir);
  try {
    assert.equal(await store.analogies.count(), 30_000);
    assert.equal(await store.analogies.count({ context: 'other' }), 5_000);
    const streamed = (await collect(store.analogies.stream()));
    assert.equal(new Set(streamed.map((x) => x.id)).size, 30_000);
    assert.deepEqual(byId(streamed.map(inputFields)), byId([...a, ...b]));
    assert.ok(streamed.every((x) => x.version === 1));
    assert.equal((await store.verify()).valid, true);
  } finally {
    await store.close();
  }
  assert.equal(logRecordLines(storeDir).length, 30_000);
  assert.equal(logRecordLines(storeDir, 'other').length, 5_000);
});

test('readers see committed state while a writer imports', { timeout: 60_000 }, async () => {
  const dir = tempDir();
  const storeDir = join(dir, 'store');
  cliOk(storeDir, ['init']);
  const data = genAnalogies(20_000, 703, 'R');
  const writer = run(storeDir, ['analogies', 'import', writeJsonl(join(dir, 'r.jsonl'), data), '--batch-size', '1000']);
  let done = false;
  void writer.then(() => (done = true));
  const counts: number[] = [];
  while (!done) {
    const r = await run(storeDir, ['analogies', 'query', '--limit', '1']);
    assert.equal(r.code, 0, r.stdout);
    const store = await openStore(storeDir, { resume: false });
    try {
      const n = await store.analogies.count();
      assert.equal(n % 1000, 0, `a reader saw a partial batch (${n})`);
      counts.push(n);
    } finally {
      await store.close();
    }
  }
  assert.equal((await writer).code, 0);
  for (let i = 1; i < counts.length; i++) assert.ok(counts[i] >= counts[i - 1]);
  assert.equal(cliOk(storeDir, ['analogies', 'query', '--limit', '1']).count, 1);
});
