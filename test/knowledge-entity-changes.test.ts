/**
 * Soft delete and restore of frames, frame instances, semantic fields and concepts, checked on
 * the whole store before and after: the record changed gets its next version (a tombstone, then
 * the record back), nothing else is rewritten, and what is derived from it (a concept's
 * frame_roles and cluster_memberships) follows. Also: an instance in a child context is checked
 * against the parent's frames and concepts when its workflow applies it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Store } from '../src/api/store.js';
import { asyncErr, cliOk, COMMERCE_FRAMES_YAML, tempDir } from './helpers.js';

const KINDS = ['concept', 'frame', 'frame_relation', 'frame_instance', 'cluster', 'semantic_field'] as const;
type Rec = Record<string, unknown> & { id: string; version: number; deleted_at: string | null; updated_at: string };
type Snapshot = Record<(typeof KINDS)[number], Map<string, Rec>>;

/** Every active record of every entity kind in a context, by id. */
async function snapshot(store: Store, context: string): Promise<Snapshot> {
  const out = {} as Snapshot;
  for (const kind of KINDS) {
    out[kind] = new Map();
    for await (const r of store.stream<Rec>(kind, context)) out[kind].set(r.id, r);
  }
  return out;
}

/** The snapshot without one record (what the store should hold while it is deleted). */
function without(s: Snapshot, kind: (typeof KINDS)[number], id: string): Snapshot {
  const copy = { ...s, [kind]: new Map(s[kind]) };
  copy[kind].delete(id);
  return copy;
}

/** The record back after delete + restore: two versions on, the same content. */
function assertRestored(before: Rec, after: Rec | undefined): void {
  assert.ok(after);
  const { version: v0, updated_at: _u0, ...rest0 } = before;
  const { version: v1, updated_at: _u1, ...rest1 } = after;
  assert.equal(v1, v0 + 2);
  assert.deepEqual(rest1, rest0);
}

async function seeded(): Promise<{ dir: string; store: Store }> {
  const dir = tempDir();
  const store = await Store.init(join(dir, 's'));
  for (const n of ['customer', 'bread', 'coin', 'merchant']) await store.concepts.add({ name: n }, { provider: 'hash', context: 'shop' });
  writeFileSync(join(dir, 'f.yaml'), COMMERCE_FRAMES_YAML);
  await store.frames.add(join(dir, 'f.yaml'), { context: 'shop' });
  return { dir, store };
}

test('frame instance delete / restore: only the instance changes; frame_roles follow', async () => {
  const { dir, store } = await seeded();
  const before = await snapshot(store, 'shop');
  const listedBefore = await store.concepts.list('shop');
  assert.deepEqual((await store.concepts.get('shop:coin')).frame_roles, ['Commerce_buy.Money']);

  const deleted = await store.frames.deleteInstance('sale1', 'shop');
  const sale1 = before.frame_instance.get('sale1') as Rec;
  assert.equal(deleted.version, sale1.version + 1);
  assert.equal(typeof deleted.deleted_at, 'string');
  assert.deepEqual(await snapshot(store, 'shop'), without(before, 'frame_instance', 'sale1'));
  assert.deepEqual(await store.frames.instances('Commerce_buy', 'shop'), []);
  assert.deepEqual(await store.frames.query({ context: 'shop', concept: 'shop:bread' }), []);
  // The concepts were not rewritten; their derived roles are gone.
  for (const c of await store.concepts.list('shop')) assert.deepEqual(c.frame_roles, [], c.id);
  assert.equal((await asyncErr(async () => store.frames.deleteInstance('sale1', 'shop'))).code, 'ALREADY_DELETED');

  const restored = await store.frames.restoreInstance('sale1', 'shop');
  assert.equal(restored.deleted_at, null);
  const after = await snapshot(store, 'shop');
  assertRestored(sale1, after.frame_instance.get('sale1'));
  assert.deepEqual(without(after, 'frame_instance', 'sale1'), without(before, 'frame_instance', 'sale1'));
  assert.deepEqual(await store.concepts.list('shop'), listedBefore);
  assert.equal((await asyncErr(async () => store.frames.restoreInstance('sale1', 'shop'))).code, 'NOT_DELETED');
  assert.equal((await asyncErr(async () => store.frames.deleteInstance('nope', 'shop'))).code, 'NOT_FOUND');
  await store.close();
  // Another process sees the same.
  assert.equal(cliOk(join(dir, 's'), ['frames', 'instances', 'Commerce_buy', '--context', 'shop']).count, 1);
});

test('frame delete / restore: only the frame changes; get shows the tombstone, list hides it', async () => {
  const { store } = await seeded();
  const before = await snapshot(store, 'shop');
  const frame = before.frame.get('Commerce_buy') as Rec;
  const deleted = await store.frames.delete('Commerce_buy', 'shop');
  assert.equal(deleted.version, frame.version + 1);
  assert.deepEqual(await snapshot(store, 'shop'), without(before, 'frame', 'Commerce_buy'));
  assert.deepEqual((await store.frames.list('shop')).map((f) => f.name), ['Commerce']);
  assert.equal((await store.frames.get('Commerce_buy', 'shop')).deleted_at, deleted.deleted_at);
  await store.frames.restore('Commerce_buy', 'shop');
  const after = await snapshot(store, 'shop');
  assertRestored(frame, after.frame.get('Commerce_buy'));
  assert.deepEqual(without(after, 'frame', 'Commerce_buy'), without(before, 'frame', 'Commerce_buy'));
  await store.close();
});

test('semantic field and concept delete / restore: only that record changes; cluster_memberships stay derived', async () => {
  const { store } = await seeded();
  await store.fields.discover({ context: 'shop', k: 2, seed: 1 });
  const before = await snapshot(store, 'shop');
  assert.equal(before.semantic_field.size, 2);
  const [fieldId] = [...before.semantic_field.keys()];
  const field = before.semantic_field.get(fieldId) as Rec;
  await store.fields.delete(fieldId, 'shop');
  assert.deepEqual(await snapshot(store, 'shop'), without(before, 'semantic_field', fieldId));
  assert.deepEqual(
    (await store.fields.list('shop')).fields.map((f) => f.id),
    [...before.semantic_field.keys()].filter((id) => id !== fieldId),
  );
  await store.fields.restore(fieldId, 'shop');
  const mid = await snapshot(store, 'shop');
  assertRestored(field, mid.semantic_field.get(fieldId));

  const bread = before.concept.get('shop:bread') as Rec;
  const memberships = (await store.concepts.get('shop:bread')).cluster_memberships;
  assert.equal(Object.keys(memberships).length, 1);
  await store.concepts.delete('shop:bread');
  assert.deepEqual(await snapshot(store, 'shop'), without(mid, 'concept', 'shop:bread'));
  // A deleted concept is still found by id (as a tombstone), no more by name or search.
  assert.equal(typeof (await store.concepts.get('shop:bread')).deleted_at, 'string');
  assert.equal(await store.concepts.find('bread', 'shop'), undefined);
  assert.deepEqual(await store.concepts.search('bread', { context: 'shop' }), []);
  const back = await store.concepts.restore('shop:bread');
  assert.deepEqual(back.cluster_memberships, memberships);
  assertRestored(bread, (await snapshot(store, 'shop')).concept.get('shop:bread'));
  await store.close();
});

test('an instance in a child context is checked against the parent frames and concepts when applied', async () => {
  const { dir, store } = await seeded();
  await store.contexts.create('market', { parent: 'shop' });
  const file = (name: string, buyer: string): string => {
    const p = join(dir, `${name}.yaml`);
    writeFileSync(p, `instances:\n  - instance_id: ${name}\n    frame_name: Commerce\n    element_bindings: {Buyer: "${buyer}", Goods: "shop:bread"}\n`);
    return p;
  };
  const before = await snapshot(store, 'market');
  await store.frames.add(file('sale2', 'shop:merchant'), { context: 'market' });
  const [inst] = await store.frames.query({ context: 'market', frame: 'Commerce' });
  assert.equal(inst.id, 'sale2');
  assert.equal(inst.context, 'market');
  assert.deepEqual([...(await snapshot(store, 'market')).frame_instance.keys()], ['sale2']);
  assert.equal(before.frame_instance.size, 0);
  // The parent's instance is seen through the chain, the child's is not seen from the parent.
  assert.deepEqual((await store.frames.instances('Commerce_buy', 'market')).map((i) => i.id), ['sale1']);
  assert.deepEqual(await store.frames.query({ context: 'shop', frame: 'Commerce' }), []);

  await store.concepts.delete('shop:merchant');
  const refused = await asyncErr(() => store.frames.add(file('sale3', 'shop:merchant'), { context: 'market' }));
  assert.match(refused.message, /shop:merchant.*deleted/);
  assert.deepEqual([...(await snapshot(store, 'market')).frame_instance.keys()], ['sale2']);
  await store.close();
});
