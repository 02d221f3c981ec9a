import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { openStore, type Store } from '../src/index.js';
import { asyncErr, auditEvents, byId, cliErr, cliOk, DAY, genAnalogies, inputFields, matches, T0, tempDir, writeJsonl, type RefFilter, collect } from './helpers.js';

const data = genAnalogies(300, 500);
const dir = tempDir();
const storeDir = join(dir, 'store');
const file = writeJsonl(join(dir, 'data.jsonl'), data);
const iso = (days: number) => new Date(T0 + days * DAY + 0.5 * DAY + 77).toISOString();

interface Case {
  name: string;
  flags: string[];
  filter: RefFilter;
}

const single: Case[] = [
  { name: 'domain', flags: ['--domain', 'finance'], filter: { domain: 'finance' } },
  { name: 'maxq', flags: ['--max-quality', '0.3'], filter: { max_quality: 0.3 } },
  { name: 'tag', flags: ['--tag', 'gold'], filter: { tag: 'gold' } },
  { name: 'frame', flags: ['--frame-type', 'Motion'], filter: { frame_type: 'Motion' } },
  { name: 'before', flags: ['--created-before', iso(300)], filter: { created_before: iso(300) } },
  { name: 'after', flags: ['--created-after', iso(700)], filter: { created_after: iso(700) } },
  {
    name: 'all6',
    flags: ['--domain', 'music', '--max-quality', '0.8', '--tag', 'core', '--frame-type', 'Conflict', '--created-after', iso(50), '--created-before', iso(950)],
    filter: { domain: 'music', max_quality: 0.8, tag: 'core', frame_type: 'Conflict', created_after: iso(50), created_before: iso(950) },
  },
];

const combos: RefFilter[] = [
  { domain: 'biology', max_quality: 0.5 },
  { tag: 'weak', frame_type: 'Commerce' },
  { created_after: iso(200), created_before: iso(400) },
  { domain: 'war', tag: 'review', created_before: iso(600) },
  { max_quality: 0.9, frame_type: 'Ingestion', created_after: iso(100) },
  { domain: 'sports', max_quality: 0.6, tag: 'noisy', frame_type: 'Performance' },
  { max_quality: 0 },
  { domain: 'nowhere' },
];

async function withStore<T>(fn: (s: Store) => Promise<T> | T): Promise<T> {
  const s = await openStore(storeDir, { create: true });
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
}

async function checkContext(s: Store, context: string, filter: RefFilter): Promise<void> {
  const expectedLeft = data.filter((a) => !matches(a, filter));
  assert.deepEqual(byId((await collect(s.analogies.stream({ context }))).map(inputFields)), byId(expectedLeft), `${context}: survivors of ${JSON.stringify(filter)}`);
  for (const a of data.filter((x) => matches(x, filter))) {
    const got = await s.analogies.get(a.id, context);
    assert.notEqual(got.deleted_at, null, `${a.id} should be deleted in ${context}`);
    assert.equal(got.version, 2);
  }
}

test('setup: the same data in one context per case', async () => {
  await withStore(async (s) => {
    for (const c of single) await s.analogies.import(file, { context: c.name });
    for (let i = 0; i < combos.length; i++) await s.analogies.import(file, { context: `combo${i}` });
    await s.analogies.import(file, { context: 'dry' });
  });
});

test('CLI: analogies delete by every criterion and by all of them at once equals brute force', async () => {
  for (const c of single) {
    const expected = data.filter((a) => matches(a, c.filter)).length;
    assert.ok(expected > 0 && expected < data.length, `case ${c.name} should match some but not all (${expected})`);
    const dry = cliOk(storeDir, ['analogies', 'delete', ...c.flags, '--context', c.name, '--dry-run']);
    assert.deepEqual(dry, { dry_run: true, matched: expected });
    const r = cliOk(storeDir, ['analogies', 'delete', ...c.flags, '--context', c.name, '--batch-size', '16']);
    assert.equal(r.dry_run, false);
    assert.equal(r.matched, expected);
    assert.equal(r.workflow.workflow_type, 'deletion_batch');
    assert.equal(r.workflow.status, 'completed');
    assert.equal(r.workflow.items_total, expected);
    assert.equal(r.workflow.items_processed, expected);
    assert.equal(r.workflow.error_count, 0);
    assert.equal(r.workflow.context, c.name);
    // a second run finds nothing left to delete
    assert.equal(cliOk(storeDir, ['analogies', 'delete', ...c.flags, '--context', c.name, '--dry-run']).matched, 0);
  }
  await withStore(async (s) => {
    for (const c of single) await checkContext(s, c.name, c.filter);
  });
  const audited = auditEvents(storeDir).filter((e) => e.event === 'analogies_deleted');
  assert.equal(audited.length, single.length);
});

test('library: combinations of criteria equal brute force; dry run counts without deleting', async () => {
  await withStore(async (s) => {
    for (let i = 0; i < combos.length; i++) {
      const context = `combo${i}`;
      const expected = data.filter((a) => matches(a, combos[i])).length;
      const dry = await s.analogies.deleteMatching({ ...combos[i], context }, { dryRun: true });
      assert.deepEqual(dry, { dry_run: true, matched: expected });
      assert.equal(await s.analogies.count({ context }), data.length);
      const r = await s.analogies.deleteMatching({ ...combos[i], context }, { batchSize: 7 });
      assert.equal(r.matched, expected, JSON.stringify(combos[i]));
      await checkContext(s, context, combos[i]);
    }
    assert.equal((await s.verify()).valid, true);
  });
});

test('delete refuses an empty criteria set and bad values; dry-run of the CLI deletes nothing', async () => {
  assert.equal(cliErr(storeDir, ['analogies', 'delete', '--context', 'dry']).code, 'INVALID_INPUT');
  assert.equal(cliErr(storeDir, ['analogies', 'delete', '--max-quality', '2', '--context', 'dry']).code, 'INVALID_INPUT');
  assert.equal(cliErr(storeDir, ['analogies', 'delete', '--created-before', 'soon', '--context', 'dry']).code, 'INVALID_INPUT');
  const dry = cliOk(storeDir, ['analogies', 'delete', '--max-quality', '1', '--context', 'dry', '--dry-run']);
  assert.equal(dry.matched, data.length);
  await withStore(async (s) => {
    assert.equal(await s.analogies.count({ context: 'dry' }), data.length);
    assert.equal((await asyncErr(() => s.analogies.deleteMatching({ context: 'dry' }))).code, 'INVALID_INPUT');
    assert.equal((await s.workflows.list()).filter((w) => w.workflow_type === 'deletion_batch' && w.context === 'dry').length, 0);
  });
});

test('rollback of a deletion workflow restores exactly the records it deleted, with their content', async () => {
  await withStore(async (s) => {
    const before = (await collect(s.analogies.stream({ context: 'dry' })));
    const r = await s.analogies.deleteMatching({ context: 'dry', domain: 'physics' }, { batchSize: 9 });
    assert.equal(r.dry_run, false);
    if (r.dry_run) return;
    const deleted = data.filter((a) => matches(a, { domain: 'physics' }));
    assert.ok(deleted.length > 0);
    assert.equal(r.matched, deleted.length);
    assert.equal(await s.analogies.count({ context: 'dry' }), data.length - deleted.length);
    const rb = await s.workflows.rollback(r.workflow.workflow_id);
    assert.equal(rb.status, 'rolled_back');
    assert.equal(rb.records_restored, deleted.length);
    assert.equal(rb.records_deleted, 0);
    const after = (await collect(s.analogies.stream({ context: 'dry' })));
    assert.equal(after.length, before.length);
    assert.deepEqual(byId(after.map(inputFields)), byId(before.map(inputFields)));
    for (const a of deleted) {
      const got = await s.analogies.get(a.id, 'dry');
      assert.equal(got.deleted_at, null);
      assert.equal(got.version, 3);
    }
  });
});
