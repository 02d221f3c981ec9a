/**
 * Two README claims through the CLI: a writer that cannot get the write lock within 15 s fails
 * with STORE_BUSY and exit status 3, leaving nothing behind; and `backup`
 * writes one file that `restore` turns into a store holding the same records.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { cli, cliErr, cliOk, COMMERCE_FRAMES_YAML, genAnalogies, tempDir, writeJsonl } from './helpers.js';
import { writeFileSync } from 'node:fs';

type Rec = Record<string, unknown>;

function byId(xs: Rec[]): Rec[] {
  return [...xs].sort((a, b) => String(a.id).localeCompare(String(b.id)));
}

test('lock contention: a writer gets STORE_BUSY (exit 3) after the lock wait, and nothing is written', { timeout: 120_000 }, () => {
  const dir = tempDir();
  const store = join(dir, 's');
  cliOk(store, ['init']);
  const first = genAnalogies(50, 910, 'f-');
  cliOk(store, ['analogies', 'import', writeJsonl(join(dir, 'f.jsonl'), first)]);
  const more = writeJsonl(join(dir, 'm.jsonl'), genAnalogies(20, 911, 'm-'));
  // Another writer holds SQLite's write lock (what every softlogic writer takes first).
  const holder = new Database(join(store, 'knowledge.sqlite'), { timeout: 1000 });
  holder.prepare('BEGIN IMMEDIATE').run();
  let busy: ReturnType<typeof cli>;
  try {
    const started = Date.now();
    busy = cli(store, ['analogies', 'import', more, '--workflow-id', 'blocked']);
    assert.ok(Date.now() - started >= 14_000, 'the writer waited for the lock before giving up');
  } finally {
    holder.prepare('ROLLBACK').run();
    holder.close();
  }
  assert.equal(busy.status, 3, busy.stdout + busy.stderr);
  assert.equal((busy.json as { error: { code: string } }).error.code, 'STORE_BUSY');
  // Nothing of the refused import: no records, no workflow, nothing staged.
  assert.equal(cliOk(store, ['analogies', 'query']).count, 50);
  assert.equal(cliErr(store, ['workflows', 'show', 'blocked']).code, 'WORKFLOW_NOT_FOUND');
  assert.deepEqual(readdirSync(join(store, 'workflows', 'pending')), []);
  // Once the lock is free the same import goes through.
  assert.equal(cliOk(store, ['analogies', 'import', more, '--workflow-id', 'blocked']).imported, 20);
  assert.equal(cliOk(store, ['analogies', 'query']).count, 70);
});

test('backup through the CLI: restore gives a store with the same analogies, deleted ones, concepts, frames and workflows', { timeout: 120_000 }, () => {
  const dir = tempDir();
  const store = join(dir, 's');
  cliOk(store, ['init']);
  const data = genAnalogies(400, 912, 'b-');
  cliOk(store, ['analogies', 'import', writeJsonl(join(dir, 'a.jsonl'), data), '--workflow-id', 'imp']);
  cliOk(store, ['analogies', 'delete', data[3].id]);
  for (const n of ['customer', 'bread', 'coin', 'merchant']) cliOk(store, ['concepts', 'add', n, '--context', 'shop', '--provider', 'hash']);
  writeFileSync(join(dir, 'f.yaml'), COMMERCE_FRAMES_YAML);
  cliOk(store, ['frames', 'add', join(dir, 'f.yaml'), '--context', 'shop']);

  const out = join(dir, 'snap.slbak');
  const b = cliOk(store, ['backup', '--out', out]) as { file: string; bytes: number; contexts: unknown[] };
  assert.equal(b.file, out);
  assert.ok(existsSync(out) && b.bytes > 0);
  // A backup never overwrites: the same --out again is refused.
  assert.notEqual(cli(store, ['backup', '--out', out]).status, 0);

  const copy = join(dir, 'restored');
  const r = cli(copy, ['restore', out, '--verify']);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const q = (s: string) => (cliOk(s, ['analogies', 'query', '--limit', '1000']) as { analogies: Rec[] }).analogies;
  assert.deepEqual(byId(q(copy)), byId(q(store)));
  assert.equal(q(copy).length, 399);
  assert.deepEqual(cliOk(copy, ['analogies', 'get', data[3].id]), cliOk(store, ['analogies', 'get', data[3].id]));
  assert.deepEqual(cliOk(copy, ['concepts', 'list', '--context', 'shop']), cliOk(store, ['concepts', 'list', '--context', 'shop']));
  assert.deepEqual(cliOk(copy, ['frames', 'get', 'Commerce', '--context', 'shop']), cliOk(store, ['frames', 'get', 'Commerce', '--context', 'shop']));
  assert.deepEqual(cliOk(copy, ['workflows', 'show', 'imp']), cliOk(store, ['workflows', 'show', 'imp']));
  assert.equal(cliOk(copy, ['verify']).valid, true);
});
