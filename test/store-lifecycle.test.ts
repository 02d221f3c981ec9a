import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { existsSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { openStore, type Analogy } from '../src/index.js';
import { auditEvents, byId, cliErr, cliOk, genAnalogies, inputFields, logRecordLines, streamLines, tempDir, writeJsonl, asyncErrCode } from './helpers.js';

test('CLI: soft delete, restore and history bump versions and set / clear deleted_at', () => {
  const dir = tempDir();
  const store = join(dir, 'store');
  cliOk(store, ['init']);
  const data = genAnalogies(5, 100);
  cliOk(store, ['analogies', 'import', writeJsonl(join(dir, 'a.jsonl'), data)]);
  const id = data[2].id;

  const del = cliOk(store, ['analogies', 'delete', id]);
  assert.equal(del.version, 2);
  assert.equal(typeof del.deleted_at, 'string');
  assert.ok(!Number.isNaN(Date.parse(del.deleted_at)));
  assert.deepEqual(inputFields(del), data[2]);
  assert.deepEqual(cliOk(store, ['analogies', 'get', id]), del);
  assert.equal(cliErr(store, ['analogies', 'delete', id]).code, 'ALREADY_DELETED');
  assert.equal(cliOk(store, ['analogies', 'query']).count, 4);
  assert.ok(!streamLines(store, []).some((a) => a.id === id));

  const res = cliOk(store, ['analogies', 'restore', id]);
  assert.equal(res.version, 3);
  assert.equal(res.deleted_at, null);
  assert.deepEqual(inputFields(res), data[2]);
  assert.equal(cliErr(store, ['analogies', 'restore', id]).code, 'NOT_DELETED');
  assert.equal(cliOk(store, ['analogies', 'query']).count, 5);

  const hist = cliOk(store, ['analogies', 'history', id]);
  assert.equal(hist.id, id);
  assert.deepEqual(
    hist.versions.map((v: Analogy & { op: string }) => [v.version, v.op, v.deleted_at === null]),
    [
      [3, 'restore', true],
      [2, 'delete', false],
      [1, 'put', true],
    ],
  );
  for (const v of hist.versions) assert.deepEqual(inputFields(v), data[2]);
  assert.equal(cliErr(store, ['analogies', 'history', 'nope']).code, 'NOT_FOUND');
  assert.equal(cliErr(store, ['analogies', 'restore', 'nope']).code, 'NOT_FOUND');
  assert.equal(cliErr(store, ['analogies', 'delete', 'nope']).code, 'NOT_FOUND');
  const events = auditEvents(store).map((e) => e.event);
  assert.ok(events.includes('analogy_deleted'));
  assert.ok(events.includes('analogy_restored'));
  assert.equal(cliOk(store, ['verify']).valid, true);
});

test('library: update, delete, restore keep a full history newest first', async () => {
  const dir = tempDir();
  const store = await openStore(join(dir, 'store'), { create: true });
  try {
    const a = await store.analogies.save({ id: 'h1', source_domain: 's', target_domain: 't', quality_score: 0.1 });
    await store.analogies.save({ id: 'h1', source_domain: 's', target_domain: 't', quality_score: 0.2 });
    const d = await store.analogies.delete('h1');
    assert.equal(d.version, 3);
    assert.equal(d.quality_score, 0.2);
    const r = await store.analogies.restore('h1');
    assert.equal(r.version, 4);
    assert.equal(r.deleted_at, null);
    assert.equal(r.created_at, a.created_at);
    const h = await store.analogies.history('h1');
    assert.deepEqual(
      h.map((v) => [v.version, v.op, v.quality_score]),
      [
        [4, 'restore', 0.2],
        [3, 'delete', 0.2],
        [2, 'put', 0.2],
        [1, 'put', 0.1],
      ],
    );
    assert.equal(await asyncErrCode(() => store.analogies.restore('h1')), 'NOT_DELETED');
  } finally {
    await store.close();
  }
});

test('compaction: reports records_removed / active_records / bytes; purged records cannot be restored (PURGED)', async () => {
  const dir = tempDir();
  const storeDir = join(dir, 'store');
  const data = genAnalogies(30, 101);
  {
    const store = await openStore(storeDir, { create: true });
    try {
      await store.analogies.import(writeJsonl(join(dir, 'a.jsonl'), data), { batchSize: 8 });
      for (const i of [0, 1, 2]) await store.analogies.save({ ...data[i], quality_score: 0.5 }); // 3 superseded versions
      for (const i of [2, 5, 6, 7, 8]) await store.analogies.delete(data[i].id); // 5 tombstones
      await store.analogies.restore(data[8].id); // 1 restore
    } finally {
      await store.close();
    }
  }
  // 30 puts + 3 updates + 5 deletes + 1 restore = 39 record lines; 26 active records
  assert.equal(logRecordLines(storeDir).length, 39);
  const logPath = join(storeDir, 'contexts', 'default', 'log.jsonl');
  const sizeBefore = statSync(logPath).size;
  const before = streamLines(storeDir, []);
  assert.equal(before.length, 26);

  const report = cliOk(storeDir, ['compact']);
  assert.equal(report.contexts.length, 1);
  const c = report.contexts[0];
  assert.equal(c.context, 'default');
  assert.equal(c.records_removed, 13);
  assert.equal(c.active_records, 26);
  assert.equal(c.bytes_before, sizeBefore);
  assert.equal(c.bytes_after, statSync(logPath).size);
  assert.ok(c.bytes_after < c.bytes_before);
  assert.ok(!existsSync(`${logPath}.compacting`));
  assert.equal(logRecordLines(storeDir).length, 26);

  assert.deepEqual(streamLines(storeDir, []), before);
  for (const i of [5, 6, 7]) {
    const e = cliErr(storeDir, ['analogies', 'restore', data[i].id]);
    assert.equal(e.code, 'PURGED');
    assert.match(e.message, /purged/);
  }
  const restored = cliOk(storeDir, ['analogies', 'get', data[8].id]);
  assert.equal(restored.version, 3);
  assert.equal(restored.deleted_at, null);
  assert.equal(cliOk(storeDir, ['analogies', 'get', data[0].id]).quality_score, 0.5);
  assert.equal(cliOk(storeDir, ['verify']).valid, true);
  assert.ok(auditEvents(storeDir).some((e) => e.event === 'compacted' && e.records_removed === 13));

  // writes continue after compaction, a second compaction removes nothing, rebuild agrees
  const more = genAnalogies(4, 102);
  cliOk(storeDir, ['analogies', 'import', writeJsonl(join(dir, 'b.jsonl'), more)]);
  const again = cliOk(storeDir, ['compact', '--context', 'default']).contexts[0];
  assert.equal(again.records_removed, 0);
  assert.equal(again.active_records, 30);
  const afterWrites = streamLines(storeDir, []);
  assert.equal(afterWrites.length, 30);
  cliOk(storeDir, ['rebuild']);
  assert.deepEqual(streamLines(storeDir, []), afterWrites);
  assert.equal(cliOk(storeDir, ['verify']).valid, true);
  assert.equal(cliErr(storeDir, ['compact', '--context', 'nope']).code, 'CONTEXT_NOT_FOUND');
});

test('rebuild: knowledge.sqlite recreated from the logs streams exactly the same records', async () => {
  const dir = tempDir();
  const storeDir = join(dir, 'store');
  const a = genAnalogies(150, 103);
  const b = genAnalogies(60, 104);
  {
    const store = await openStore(storeDir, { create: true });
    try {
      await store.analogies.import(writeJsonl(join(dir, 'a.jsonl'), a), { batchSize: 32 });
      await store.analogies.import(writeJsonl(join(dir, 'b.jsonl'), b), { context: 'other' });
      for (const x of a.slice(0, 20)) await store.analogies.delete(x.id);
      await store.analogies.restore(a[3].id);
      await store.analogies.save({ ...a[50], tags: ['changed'] });
      await store.analogies.deleteMatching({ domain: 'music', context: 'other' });
    } finally {
      await store.close();
    }
  }
  const snapshot = () => ({
    default: streamLines(storeDir, []),
    other: streamLines(storeDir, ['--context', 'other']),
    tomb: cliOk(storeDir, ['analogies', 'get', a[0].id]),
    workflows: cliOk(storeDir, ['workflows', 'list']),
    query: cliOk(storeDir, ['analogies', 'query', '--min-quality', '0.5', '--limit', '1000']),
  });
  const before = snapshot();
  assert.equal(before.default.length, 131);
  const report = cliOk(storeDir, ['rebuild']);
  assert.deepEqual(report.contexts.map((c: { context: string }) => c.context), ['default', 'other']);
  assert.deepEqual(snapshot(), before);
  assert.equal(cliOk(storeDir, ['verify']).valid, true);

  // even with the index file gone entirely, the logs give back every record
  for (const suffix of ['', '-wal', '-shm']) rmSync(join(storeDir, `knowledge.sqlite${suffix}`), { force: true });
  cliOk(storeDir, ['rebuild']);
  const after = snapshot();
  assert.deepEqual(after.default, before.default);
  assert.deepEqual(after.other, before.other);
  assert.deepEqual(after.tomb, before.tomb);
  assert.equal(cliOk(storeDir, ['verify']).valid, true);
});

test('contexts: a child falls back to its parent on get; names and parents are checked', async () => {
  const dir = tempDir();
  const storeDir = join(dir, 'store');
  cliOk(storeDir, ['init']);
  const p = cliOk(storeDir, ['contexts', 'create', 'p', '--description', 'the parent']);
  assert.equal(p.name, 'p');
  assert.equal(p.parent, null);
  const child = cliOk(storeDir, ['contexts', 'create', 'child', '--parent', 'p']);
  assert.equal(child.parent, 'p');
  cliOk(storeDir, ['contexts', 'create', 'grandchild', '--parent', 'child']);
  assert.equal(cliErr(storeDir, ['contexts', 'create', 'orphan', '--parent', 'missing']).code, 'CONTEXT_NOT_FOUND');
  const data = genAnalogies(3, 105);
  cliOk(storeDir, ['analogies', 'import', writeJsonl(join(dir, 'p.jsonl'), data), '--context', 'p']);

  const viaChild = cliOk(storeDir, ['analogies', 'get', data[0].id, '--context', 'child']);
  assert.equal(viaChild.context, 'p');
  assert.deepEqual(inputFields(viaChild), data[0]);
  assert.equal(cliOk(storeDir, ['analogies', 'get', data[1].id, '--context', 'grandchild']).context, 'p');

  const store = await openStore(storeDir);
  try {
    // the child's own version shadows the parent's
    await store.analogies.save({ ...data[0], quality_score: 0.01 }, 'child');
    assert.equal((await store.analogies.get(data[0].id, 'child')).quality_score, 0.01);
    assert.equal((await store.analogies.get(data[0].id, 'grandchild')).quality_score, 0.01);
    assert.equal((await store.analogies.get(data[0].id, 'p')).quality_score, data[0].quality_score);
    assert.equal(await asyncErrCode(() => store.analogies.get('nope', 'child')), 'NOT_FOUND');
    assert.deepEqual(
      byId((await store.contexts.list()).map((c) => ({ id: c.name, parent: c.parent }))),
      [
        { id: 'child', parent: 'p' },
        { id: 'default', parent: null },
        { id: 'grandchild', parent: 'child' },
        { id: 'p', parent: null },
      ],
    );
    await store.contexts.create('lib', { parent: 'p' });
    assert.equal((await store.analogies.get(data[2].id, 'lib')).context, 'p');
  } finally {
    await store.close();
  }
  const listed = cliOk(storeDir, ['contexts', 'list']).contexts.map((c: { name: string }) => c.name);
  assert.deepEqual(listed, ['child', 'default', 'grandchild', 'lib', 'p']);
  for (const name of ['child', 'grandchild', 'lib', 'p']) assert.ok(existsSync(join(storeDir, 'contexts', name, 'metadata.json')));
});

test('stats: counts per context and status, bytes per file', () => {
  const dir = tempDir();
  const storeDir = join(dir, 'store');
  cliOk(storeDir, ['init']);
  const data = genAnalogies(12, 106);
  cliOk(storeDir, ['analogies', 'import', writeJsonl(join(dir, 'a.jsonl'), data)]);
  cliOk(storeDir, ['analogies', 'delete', data[0].id]);
  const s = cliOk(storeDir, ['stats']);
  assert.equal(s.contexts.length, 1);
  assert.deepEqual(s.contexts[0].analogies, { active: 11, deleted: 1 });
  assert.equal(s.contexts[0].log_bytes, statSync(join(storeDir, 'contexts', 'default', 'log.jsonl')).size);
  assert.equal(s.workflows.completed, 1);
  assert.equal(s.files['store.json'], statSync(join(storeDir, 'store.json')).size);
  assert.equal(s.total_bytes, Object.values(s.files as Record<string, number>).reduce((x, y) => x + y, 0));
  // a quick sanity check of byId, used across the suite
  assert.deepEqual(byId([{ id: 'b' }, { id: 'a' }]), [{ id: 'a' }, { id: 'b' }]);
});

test('index schema: a store indexed by schema 1 gains the tier column at open with the same answers, gets and updates by id through its id index (ctx, idh), which compact builds again as (ctx, idh) partial on tier IS NULL (schema 4); a newer schema is refused (STORE_FORMAT), the store left as it was', async () => {
  const dir = join(tempDir(), 'store');
  const store = await openStore(dir, { create: true });
  await store.analogies.import(writeJsonl(join(tempDir(), 'in.jsonl'), genAnalogies(300, 4)));
  const before = await store.analogies.query({ min_quality: 0.5, limit: 50 });
  await store.close();
  // What schema 1 left: no tier column, the id index on (ctx, idh), version 1.
  const db = new Database(join(dir, 'knowledge.sqlite'));
  db.exec(`DROP INDEX analogies_quality; DROP INDEX analogies_source; DROP INDEX analogies_target; DROP INDEX analogies_id; ALTER TABLE analogies DROP COLUMN tier; CREATE INDEX analogies_id ON analogies(ctx, idh); UPDATE meta SET value = '1' WHERE key = 'schema_version'`);
  db.close();
  const idIndexSql = () => {
    const check = new Database(join(dir, 'knowledge.sqlite'), { readonly: true });
    try {
      return check.prepare(`SELECT sql FROM sqlite_master WHERE name = 'analogies_id'`).pluck().get() as string;
    } finally {
      check.close();
    }
  };
  const upgraded = await openStore(dir);
  assert.deepEqual(await upgraded.analogies.query({ min_quality: 0.5, limit: 50 }), before);
  assert.equal(await upgraded.analogies.count(), 300);
  const id = before[7].id;
  assert.deepEqual(await upgraded.analogies.get(id), before[7]);
  assert.equal((await upgraded.analogies.save({ ...before[7], quality_score: 0.25 })).version, 2);
  assert.equal((await upgraded.analogies.get(id)).quality_score, 0.25);
  assert.match(idIndexSql(), /\(ctx, idh\)/, 'kept until the store\'s indexes are built again');
  await upgraded.compact('default');
  assert.match(idIndexSql(), /\(ctx, idh\) WHERE tier IS NULL/);
  assert.equal((await upgraded.analogies.get(id)).version, 2);
  assert.equal(await upgraded.analogies.count(), 300);
  assert.equal((await upgraded.verify()).valid, true);
  await upgraded.close();
  const check = new Database(join(dir, 'knowledge.sqlite'));
  assert.equal(check.prepare(`SELECT value FROM meta WHERE key = 'schema_version'`).pluck().get(), '4');
  assert.ok((check.prepare(`SELECT name FROM pragma_table_info('analogies')`).pluck().all() as string[]).includes('tier'));
  check.prepare(`UPDATE meta SET value = '5' WHERE key = 'schema_version'`).run();
  check.close();
  assert.equal(await asyncErrCode(() => openStore(dir)), 'STORE_FORMAT');
  assert.equal(cliErr(dir, ['stats', '--json']).code, 'STORE_FORMAT');
  const after = new Database(join(dir, 'knowledge.sqlite'), { readonly: true });
  assert.equal(after.prepare(`SELECT value FROM meta WHERE key = 'schema_version'`).pluck().get(), '5');
  after.close();
});
