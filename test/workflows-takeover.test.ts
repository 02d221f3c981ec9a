/**
 * Takeover on the embedded store (the same interface as PostgreSQL's leases, with the owner's pid
 * in place of a lease): an import whose process was killed once staged is taken over exactly once,
 * by whichever of several processes resuming at once claims it first, and by a service's takeover
 * loop without any request.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { openStore, initStore, type Store } from '../src/index.js';
import { buildServer } from '../src/service/server.js';
import { cli, cliSpawn, genAnalogies, tempDir, writeJsonl } from './helpers.js';
import { waitFor } from './replica-harness.js';

const N = 3000;

/** A store holding an import of N analogies killed right after staging: pending, auto_process, its owner dead. */
async function leftByDeadImport(): Promise<{ storeDir: string }> {
  const dir = tempDir('softlogic-takeover-');
  const storeDir = join(dir, 'store');
  await (await initStore(storeDir)).close();
  const file = writeJsonl(join(dir, 'a.jsonl'), genAnalogies(N, 77));
  const killed = cli(storeDir, ['analogies', 'import', file, '--workflow-id', 'wf-dead', '--batch-size', '500'], { env: { ...process.env, SOFTLOGIC_KILL_AT: 'workflow-created' } });
  assert.equal(killed.signal, 'SIGKILL');
  const store = await openStore(storeDir, { resume: false });
  try {
    const wf = await store.workflows.get('wf-dead');
    assert.equal(wf.status, 'pending');
    assert.deepEqual((await store.workflows.expired()).map((w) => w.workflow_id), ['wf-dead'], 'its owner is gone: for anyone to take');
  } finally {
    await store.close();
  }
  return { storeDir };
}

async function assertDoneOnce(storeDir: string): Promise<void> {
  const store = await openStore(storeDir, { resume: false });
  try {
    const wf = await store.workflows.get('wf-dead');
    assert.deepEqual([wf.status, wf.items_processed, wf.error_count], ['completed', N, 0]);
    assert.equal(await store.analogies.count({}), N);
    const versions = new Set<number>();
    for await (const a of store.analogies.stream({})) versions.add(a.version);
    assert.deepEqual([...versions], [1], 'no analogy written twice');
    const resumed = (await store.audit.list({ workflow_id: 'wf-dead' })).filter((e) => e.event === 'workflow_resumed');
    assert.equal(resumed.length, 1, 'taken over once');
    assert.deepEqual(await store.workflows.expired(), []);
  } finally {
    await store.close();
  }
}

/** A dead process's import, a server on its store (opened without resuming) with this takeover interval, then the check that it was finished once. */
async function withServer(takeoverIntervalMs: number, fn: (store: Store) => Promise<void>): Promise<void> {
  const { storeDir } = await leftByDeadImport();
  const store = await openStore(storeDir, { resume: false });
  const app = await buildServer({ store, logLevel: 'silent', processInWorker: false, takeoverIntervalMs });
  try {
    await fn(store);
  } finally {
    await app.close();
    await store.close();
  }
  await assertDoneOnce(storeDir);
}

function exitCode(child: ReturnType<typeof cliSpawn>): Promise<{ code: number | null; out: string }> {
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, out })));
}

test('three `workflows resume` at once: exactly one takes the dead import over, the others leave it, all succeed', async () => {
  const { storeDir } = await leftByDeadImport();
  const runs = await Promise.all([0, 1, 2].map(() => exitCode(cliSpawn(storeDir, ['workflows', 'resume', '--batch-size', '200']))));
  // (Each opens the store, which resumes too: whichever claims first, at open or by the command.)
  for (const r of runs) assert.equal(r.code, 0, r.out.slice(0, 1000));
  await assertDoneOnce(storeDir);
});

test("a service's takeover loop finishes a dead process's import with no request", async () => {
  await withServer(100, async (store) => {
    await waitFor('the loop to finish it', async () => ((await store.workflows.get('wf-dead')).status === 'completed' ? true : undefined), 60_000, 50);
  });
});

test('takeoverIntervalMs 0: no loop, the dead import stays for a resume by hand', async () => {
  await withServer(0, async (store) => {
    await new Promise((r) => setTimeout(r, 500));
    assert.equal((await store.workflows.get('wf-dead')).status, 'pending');
    assert.deepEqual((await store.workflows.resume()).map((w) => [w.workflow_id, w.status]), [['wf-dead', 'completed']]);
  });
});
