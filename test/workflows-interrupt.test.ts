/**
 * Stopping a running workflow from outside, through the CLI: Ctrl-C (SIGINT) of `analogies
 * import` / `workflows process` stops at a chunk boundary, exits 130, says how to go on, and
 * leaves the workflow `interrupted` (never resumed by the next open); `workflows resume ID`
 * then completes it to the exact count and content. `workflows cancel` of a workflow another
 * process is processing answers `cancelled` once it stopped, and rollback undoes the committed part.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { cli, cliOk, cliSpawn, rng, sleep, tempDir } from './helpers.js';

const N = 60_000;
const BATCH = 500;

function writeFile(path: string, prefix: string): Array<Record<string, unknown>> {
  const r = rng(4242);
  const records = Array.from({ length: N }, (_, i) => ({
    id: `${prefix}${i}`,
    source_domain: `d${Math.floor(r() * 50)}`,
    target_domain: `t${Math.floor(r() * 50)}`,
    quality_score: Math.round(r() * 1000) / 1000,
    concept_mappings: { a: 'b' },
    frame_mappings: { F: 'G' },
    tags: ['x'],
    metadata: { i },
  }));
  writeFileSync(path, records.map((x) => JSON.stringify(x)).join('\n') + '\n');
  return records;
}

/** The workflow row as SQLite has it, read-only: only to time the signal (assertions go through the CLI). */
function processed(storeDir: string, wf: string): number {
  try {
    const db = new Database(join(storeDir, 'knowledge.sqlite'), { readonly: true, fileMustExist: true });
    try {
      const row = db.prepare('SELECT items_processed FROM workflows WHERE workflow_id = ?').get(wf) as { items_processed: number } | undefined;
      return row?.items_processed ?? 0;
    } finally {
      db.close();
    }
  } catch {
    return 0;
  }
}

async function waitForProgress(storeDir: string, wf: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (processed(storeDir, wf) === 0) {
    if (Date.now() > deadline) throw new Error(`workflow ${wf} made no progress in ${timeoutMs} ms`);
    await sleep(20);
  }
}

function exited(child: ReturnType<typeof cliSpawn>): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr })));
}

interface Shown {
  status: string;
  items_processed: number;
  items_total: number;
}

test('SIGINT during analogies import: exit 130, status interrupted, not resumed by the next open, resume completes it exactly', { timeout: 300_000 }, async () => {
  const dir = tempDir();
  const store = join(dir, 's');
  cliOk(store, ['init']);
  const records = writeFile(join(dir, 'big.jsonl'), 'g');
  const child = cliSpawn(store, ['analogies', 'import', join(dir, 'big.jsonl'), '--workflow-id', 'big', '--batch-size', String(BATCH)]);
  const done = exited(child);
  await waitForProgress(store, 'big');
  child.kill('SIGINT');
  const r = await done;
  assert.equal(r.code, 130, `exit ${r.code} ${r.signal}: ${r.stderr}`);
  assert.match(r.stderr, /workflow big interrupted after \d+ of 60000 items/);
  for (const action of ['resume', 'cancel', 'rollback']) assert.match(r.stderr, new RegExp(`softlogic workflows ${action} big`));
  const out = JSON.parse(r.stdout) as { workflow: Shown };
  assert.equal(out.workflow.status, 'interrupted');

  // Opening the store (any command) does not finish it.
  const shown = cliOk(store, ['workflows', 'show', 'big']) as Shown;
  assert.equal(shown.status, 'interrupted');
  assert.ok(shown.items_processed > 0 && shown.items_processed < N, `stopped at ${shown.items_processed}`);
  assert.equal(shown.items_processed % BATCH, 0, 'stopped at a chunk boundary');
  assert.equal(cliOk(store, ['analogies', 'query', '--limit', '1000000']).count, shown.items_processed);
  assert.deepEqual(cliOk(store, ['workflows', 'resume']).resumed, []);
  assert.equal((cliOk(store, ['workflows', 'show', 'big']) as Shown).status, 'interrupted');

  const resumed = cliOk(store, ['workflows', 'resume', 'big']) as Shown;
  assert.equal(resumed.status, 'completed');
  assert.equal(resumed.items_processed, N);
  const all = cliOk(store, ['analogies', 'query', '--limit', '1000000']) as { count: number; analogies: Array<Record<string, unknown>> };
  assert.equal(all.count, N);
  const byId = new Map(all.analogies.map((a) => [a.id as string, a]));
  for (const x of records) {
    const got = byId.get(x.id as string);
    assert.ok(got, `${x.id} missing`);
    assert.deepEqual([got.source_domain, got.target_domain, got.quality_score, got.metadata, got.version], [x.source_domain, x.target_domain, x.quality_score, x.metadata, 1]);
  }
});

test('SIGINT during workflows process: interrupted; then cancel keeps the committed part and rollback undoes it', { timeout: 300_000 }, async () => {
  const dir = tempDir();
  const store = join(dir, 's');
  cliOk(store, ['init']);
  writeFile(join(dir, 'big.jsonl'), 'p');
  cliOk(store, ['workflows', 'create', join(dir, 'big.jsonl'), '--workflow-id', 'wp']);
  const child = cliSpawn(store, ['workflows', 'process', 'wp', '--batch-size', String(BATCH)]);
  const done = exited(child);
  await waitForProgress(store, 'wp');
  child.kill('SIGINT');
  const r = await done;
  assert.equal(r.code, 130, r.stderr);
  const shown = cliOk(store, ['workflows', 'show', 'wp']) as Shown;
  assert.equal(shown.status, 'interrupted');
  const c = cliOk(store, ['workflows', 'cancel', 'wp']) as Shown;
  assert.equal(c.status, 'cancelled');
  assert.equal(c.items_processed, shown.items_processed);
  assert.equal(cliOk(store, ['analogies', 'query', '--limit', '1000000']).count, shown.items_processed);
  const rb = cliOk(store, ['workflows', 'rollback', 'wp']) as Shown & { records_deleted: number };
  assert.equal(rb.status, 'rolled_back');
  assert.equal(rb.records_deleted, shown.items_processed);
  assert.equal(cliOk(store, ['analogies', 'query']).count, 0);
});

test('workflows cancel of a workflow another process is processing answers cancelled, never processing', { timeout: 300_000 }, async () => {
  const dir = tempDir();
  const store = join(dir, 's');
  cliOk(store, ['init']);
  writeFile(join(dir, 'big.jsonl'), 'c');
  cliOk(store, ['workflows', 'create', join(dir, 'big.jsonl'), '--workflow-id', 'wc']);
  const child = cliSpawn(store, ['workflows', 'process', 'wc', '--batch-size', String(BATCH)]);
  const done = exited(child);
  await waitForProgress(store, 'wc');
  const c = cli(store, ['workflows', 'cancel', 'wc']);
  const r = await done;
  assert.equal(c.status, 0, c.stdout + c.stderr);
  const answer = c.json as Shown;
  assert.ok(answer.status === 'cancelled' || answer.status === 'completed', `cancel answered ${answer.status}`);
  assert.equal(r.code, 0, r.stderr);
  assert.equal((JSON.parse(r.stdout) as Shown).status, answer.status);
  const shown = cliOk(store, ['workflows', 'show', 'wc']) as Shown;
  assert.equal(shown.status, answer.status);
  assert.equal(shown.items_processed, answer.items_processed);
  assert.equal(cliOk(store, ['analogies', 'query', '--limit', '1000000']).count, shown.items_processed);
  const rb = cliOk(store, ['workflows', 'rollback', 'wc']) as { records_deleted: number };
  assert.equal(rb.records_deleted, shown.items_processed);
  assert.equal(cliOk(store, ['analogies', 'query']).count, 0);
});
