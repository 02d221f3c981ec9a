/**
 * Rollback of every workflow type restores the store as it was before the workflow, record by
 * record: what it created is soft-deleted, what it deleted is restored, what it updated gets its
 * previous content back as a new version. A record changed by someone else since, or a history
 * dropped by compaction, refuses the rollback with nothing written. Each case compares the
 * store's content (every kind, active records, counts) before the workflow and after rollback.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Store } from '../src/api/store.js';
import type { Workflow } from '../src/core/records.js';
import { asyncErr, byId, cliOk, COMMERCE_FRAMES_YAML, genAnalogies, inputFields, tempDir, writeJsonl, asyncErrCode, collect } from './helpers.js';

const KINDS = ['concept', 'frame', 'frame_instance', 'frame_relation', 'cluster', 'semantic_field'];

type Rec = Record<string, unknown>;

/** A record as its user sees it: everything but the version bookkeeping a rollback moves on. */
function contentOf(r: object): Rec {
  const { version: _v, updated_at: _u, ...rest } = r as Rec;
  return rest;
}

async function sorted(records: AsyncIterable<object> | Iterable<object>): Promise<Rec[]> {
  return (await collect(records)).map(contentOf).sort((a, b) => String(a.id).localeCompare(String(b.id)));
}

/** Every active record of every kind in the context, by id. */
async function snapshot(s: Store, context = 'default'): Promise<Record<string, Rec[]>> {
  const out: Record<string, Rec[]> = { analogy: await sorted(s.analogies.stream({ context })) };
  for (const kind of KINDS) out[kind] = await sorted(s.stream(kind, context));
  return out;
}

function counts(snap: Record<string, Rec[]>): Record<string, number> {
  return Object.fromEntries(Object.entries(snap).map(([k, v]) => [k, v.length]));
}

function assertSameStore(after: Record<string, Rec[]>, before: Record<string, Rec[]>): void {
  assert.deepEqual(counts(after), counts(before));
  assert.deepEqual(after, before);
}

test('analogy_creation: created records are soft-deleted, updated ones get their previous content back', async () => {
  const dir = tempDir();
  const s = await Store.init(join(dir, 's'));
  try {
    const base = genAnalogies(60, 501, 'b-');
    await s.analogies.import(writeJsonl(join(dir, 'base.jsonl'), base));
    const before = await snapshot(s);
    const changed = base.slice(0, 20).map((a) => ({ ...a, quality_score: 0.123, tags: ['changed'] }));
    const fresh = genAnalogies(30, 502, 'n-');
    const r = await s.analogies.import(writeJsonl(join(dir, 'w.jsonl'), [...fresh, ...changed]), { workflowId: 'w1', batchSize: 7 });
    assert.equal(r.workflow.status, 'completed');
    assert.equal(await s.analogies.count(), 90);
    assert.notDeepEqual(await snapshot(s), before);

    const rb = await s.workflows.rollback('w1');
    assert.equal(rb.status, 'rolled_back');
    assert.deepEqual([rb.records_deleted, rb.records_reverted, rb.records_restored, rb.records_unchanged], [30, 20, 0, 0]);
    assertSameStore(await snapshot(s), before);
    for (const a of fresh) assert.notEqual((await s.analogies.get(a.id)).deleted_at, null);
    for (const a of base.slice(0, 20)) {
      const got = await s.analogies.get(a.id);
      assert.equal(got.version, 3, 'the previous content comes back as a new version');
      assert.deepEqual(inputFields(got), a);
    }
    assert.equal((await s.verify()).valid, true);
    assert.equal(await asyncErrCode(() => s.workflows.rollback('w1')), 'ILLEGAL_TRANSITION');
  } finally {
    await s.close();
  }
});

test('rollback refuses, writing nothing, when a record was changed after the workflow; a record already back is fine', async () => {
  const dir = tempDir();
  const s = await Store.init(join(dir, 's'));
  try {
    const data = genAnalogies(40, 503, 'c-');
    await s.analogies.import(writeJsonl(join(dir, 'w.jsonl'), data), { workflowId: 'w2' });
    await s.analogies.save({ ...data[3], quality_score: 0.5 });
    await s.analogies.delete(data[4].id);
    const beforeAttempt = await snapshot(s);
    const err = await (async () => {
      try {
        await s.workflows.rollback('w2');
      } catch (e) {
        return e as { code: string; message: string; details: { changed: string[]; changed_count: number } };
      }
      throw new Error('rollback should have been refused');
    })();
    assert.equal(err.code, 'CONFLICT');
    assert.deepEqual(err.details.changed, [`analogy ${data[3].id}`]);
    assert.equal(err.details.changed_count, 1);
    assert.match(err.message, /w2/);
    assertSameStore(await snapshot(s), beforeAttempt);
    assert.equal((await s.workflows.get('w2')).status, 'completed');

    // Put back the workflow's version: the rollback goes through; the record deleted since counts as done.
    await s.analogies.save(data[3]);
    const rb = await s.workflows.rollback('w2');
    assert.deepEqual([rb.records_deleted, rb.records_unchanged], [39, 1]);
    assert.equal(await s.analogies.count(), 0);
  } finally {
    await s.close();
  }
});

test('deletion_batch (CLI --json): rollback restores every deleted record with its content', async () => {
  const dir = tempDir();
  const store = join(dir, 's');
  cliOk(store, ['init']);
  const data = genAnalogies(300, 504, 'd-');
  cliOk(store, ['analogies', 'import', writeJsonl(join(dir, 'a.jsonl'), data)]);
  const gold = data.filter((a) => a.tags.includes('gold'));
  assert.ok(gold.length > 20);
  const query = () => cliOk(store, ['analogies', 'query', '--limit', '1000']) as { count: number; analogies: Rec[] };
  const before = query();
  assert.equal(before.count, 300);
  const del = cliOk(store, ['analogies', 'delete', '--tag', 'gold']) as { matched: number; workflow: Workflow };
  assert.equal(del.matched, gold.length);
  assert.equal(query().count, 300 - gold.length);
  const rb = cliOk(store, ['workflows', 'rollback', del.workflow.workflow_id]) as Workflow & { records_restored: number; records_deleted: number };
  assert.equal(rb.status, 'rolled_back');
  assert.equal(rb.records_restored, gold.length);
  assert.equal(rb.records_deleted, 0);
  const after = query();
  assert.equal(after.count, 300);
  assert.deepEqual(await sorted(after.analogies), await sorted(before.analogies));
  for (const a of gold.slice(0, 5)) {
    const got = cliOk(store, ['analogies', 'get', a.id]) as Rec;
    assert.equal(got.version, 3);
    assert.equal(got.deleted_at, null);
  }
});

for (const merge of ['overwrite', 'merge', 'skip'] as const) {
  test(`knowledge_import --merge ${merge}: rollback restores every record and kind as before`, async () => {
    const dir = tempDir();
    const src = await Store.init(join(dir, 'src'));
    const dst = await Store.init(join(dir, 'dst'));
    try {
      const shared = genAnalogies(30, 505, 'k-');
      await dst.analogies.import(writeJsonl(join(dir, 'dst.jsonl'), shared));
      for (const n of ['alpha', 'beta', 'gamma']) await dst.concepts.add({ name: n, description: `old ${n}` }, { provider: 'hash' });
      // The source: the same ids, changed (and, being saved twice, at higher versions), plus new records.
      await src.analogies.import(writeJsonl(join(dir, 'src.jsonl'), shared.map((a) => ({ ...a, quality_score: 0.9, tags: ['src'] }))));
      await src.analogies.import(writeJsonl(join(dir, 'src2.jsonl'), [...shared.slice(0, 10).map((a) => ({ ...a, quality_score: 0.95, tags: ['src2'] })), ...genAnalogies(15, 506, 'new-')]));
      for (const n of ['alpha', 'beta', 'delta']) await src.concepts.add({ name: n, description: `new ${n}` }, { provider: 'hash' });
      await src.concepts.add({ name: 'alpha', description: 'newer alpha' }, { provider: 'hash' });
      const out = join(dir, 'export.jsonl');
      await src.export({ out });

      const before = await snapshot(dst);
      const r = await dst.import(out, { merge, batchSize: 8 });
      assert.ok(r.workflows.length >= 1);
      if (merge !== 'skip') assert.notDeepEqual(await snapshot(dst), before);
      for (const wf of r.workflows) {
        const rb = await dst.workflows.rollback(wf.workflow_id);
        assert.equal(rb.status, 'rolled_back');
      }
      assertSameStore(await snapshot(dst), before);
      assert.equal((await dst.verify()).valid, true);
    } finally {
      await src.close();
      await dst.close();
    }
  });
}

test('concept_batch: rollback deletes imported concepts and gives updated ones their old content', async () => {
  const dir = tempDir();
  const s = await Store.init(join(dir, 's'));
  try {
    for (const n of ['sun', 'moon']) await s.concepts.add({ name: n, description: `the ${n}` }, { provider: 'hash' });
    const before = await snapshot(s);
    const r = await s.concepts.import(writeJsonl(join(dir, 'c.jsonl'), [{ name: 'sun', description: 'a star' }, { name: 'star' }, { name: 'comet' }]), { provider: 'hash', batchSize: 2 });
    assert.equal(r.workflow.workflow_type, 'concept_batch');
    assert.equal((await s.concepts.get('default:sun')).description, 'a star');
    const rb = await s.workflows.rollback(r.workflow.workflow_id);
    assert.deepEqual([rb.records_deleted, rb.records_reverted], [2, 1]);
    assertSameStore(await snapshot(s), before);
    assert.equal((await s.concepts.get('default:sun')).description, 'the sun');
    assert.deepEqual((await s.concepts.similar('moon', { k: 5 })).results.map((x) => x.id), ['default:sun'], 'the vector index follows the rollback');
  } finally {
    await s.close();
  }
});

test('embeddings import (concept_batch): rollback restores the concepts and their vectors', async () => {
  const dir = tempDir();
  const a = await Store.init(join(dir, 'a'));
  const b = await Store.init(join(dir, 'b'));
  try {
    for (const w of ['red', 'green', 'blue']) await a.concepts.add({ name: w }, { provider: 'hash' });
    const npz = join(dir, 'e.npz');
    await a.embeddings.export(npz);
    await b.concepts.add({ name: 'red', description: 'kept' }, { provider: 'hash' });
    await b.concepts.add({ name: 'black' }, { provider: 'hash' });
    const before = await snapshot(b);
    const exportBefore = join(dir, 'before.npz');
    await b.embeddings.export(exportBefore);
    const imp = await b.embeddings.import(npz);
    assert.deepEqual([imp.created, imp.updated], [2, 1]);
    const rb = await b.workflows.rollback(imp.workflow.workflow_id);
    assert.deepEqual([rb.records_deleted, rb.records_reverted], [2, 1]);
    assertSameStore(await snapshot(b), before);
    const exportAfter = join(dir, 'after.npz');
    const ex = await b.embeddings.export(exportAfter);
    assert.equal(ex.count, 2);
  } finally {
    await a.close();
    await b.close();
  }
});

test('frame_expansion: rollback of a second frames file brings the first one back', async () => {
  const dir = tempDir();
  const s = await Store.init(join(dir, 's'));
  try {
    for (const n of ['customer', 'bread', 'coin', 'merchant']) await s.concepts.add({ name: n }, { provider: 'hash', context: 'shop' });
    const first = join(dir, 'f1.yaml');
    writeFileSync(first, COMMERCE_FRAMES_YAML);
    await s.frames.add(first, { context: 'shop' });
    const before = await snapshot(s, 'shop');
    const second = join(dir, 'f2.yaml');
    writeFileSync(second, COMMERCE_FRAMES_YAML.replace('an exchange of goods for money', 'a trade').replace('confidence: 0.9', 'confidence: 0.4').replace('frames:\n', 'frames:\n  - name: Theft\n    core_elements: [{name: Thief}]\n'));
    const r = await s.frames.add(second, { context: 'shop' });
    assert.equal((await s.frames.get('Commerce', 'shop')).definition, 'a trade');
    const rb = await s.workflows.rollback(r.workflow.workflow_id);
    assert.ok(rb.records_deleted >= 1 && rb.records_reverted >= 2, JSON.stringify(rb));
    assertSameStore(await snapshot(s, 'shop'), before);
    assert.equal((await s.frames.get('Commerce', 'shop')).definition, 'an exchange of goods for money');
  } finally {
    await s.close();
  }
});

test('cluster_update: rollback of a rediscovery restores the clusters and fields it replaced or retired', async () => {
  const dir = tempDir();
  const s = await Store.init(join(dir, 's'));
  try {
    const names = Array.from({ length: 24 }, (_, i) => ({ name: `w${i}` }));
    await s.concepts.import(writeJsonl(join(dir, 'c.jsonl'), names), { context: 'nat', provider: 'hash' });
    await s.fields.discover({ context: 'nat', k: 3, seed: 1 });
    const before = await snapshot(s, 'nat');
    assert.equal(before.cluster.length, 3);
    const again = await s.fields.discover({ context: 'nat', k: 2, seed: 7 });
    assert.equal((await s.fields.list('nat')).clusters.length, 2);
    const rb = await s.workflows.rollback(again.workflow.workflow_id);
    assert.equal(rb.status, 'rolled_back');
    assertSameStore(await snapshot(s, 'nat'), before);
  } finally {
    await s.close();
  }
});

test('rollback after a compaction that dropped the history is refused (ROLLBACK_UNAVAILABLE)', async () => {
  const dir = tempDir();
  const s = await Store.init(join(dir, 's'));
  try {
    const old = genAnalogies(10, 507, 'o-');
    await s.analogies.import(writeJsonl(join(dir, 'o.jsonl'), old), { workflowId: 'old' });
    await s.compact();
    // A workflow after the compaction still rolls back.
    const r = await s.analogies.import(writeJsonl(join(dir, 'n.jsonl'), old.map((a) => ({ ...a, quality_score: 0.01 }))), { workflowId: 'new' });
    assert.equal(r.workflow.status, 'completed');
    const before = await snapshot(s);
    assert.equal((await asyncErr(async () => s.workflows.rollback('old'))).code, 'ROLLBACK_UNAVAILABLE');
    assertSameStore(await snapshot(s), before);
    const rb = await s.workflows.rollback('new');
    assert.equal(rb.records_reverted, 10);
    assert.deepEqual(byId((await collect(s.analogies.stream())).map(inputFields)), byId(old));
  } finally {
    await s.close();
  }
});
