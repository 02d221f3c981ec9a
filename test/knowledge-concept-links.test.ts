/**
 * A concept's cluster_memberships and frame_roles say what the store knows: filled from the
 * cluster and frame-instance records when read (get, find, list, search, add, CLI, HTTP), and
 * right after rediscovery, instance add / delete / restore, frame deletion and rebuild, without
 * new concept versions.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Store } from '../src/api/store.js';
import { cliOk, COMMERCE_FRAMES_YAML, tempDir } from './helpers.js';
import { startHarness } from './service-helpers.js';

const NAMES = ['customer', 'bread', 'coin', 'merchant', 'butter', 'cheese', 'wallet', 'cash'];

async function seed(store: Store): Promise<void> {
  for (const n of NAMES) await store.concepts.add({ name: n }, { provider: 'hash', context: 'shop' });
}

/** Every concept's memberships, as the clusters hold them. */
async function membershipsFromClusters(store: Store, context: string): Promise<Map<string, Record<string, number>>> {
  const out = new Map<string, Record<string, number>>();
  for (const c of (await store.fields.list(context)).clusters) {
    for (const [id, strength] of Object.entries(c.members)) out.set(id, { ...(out.get(id) ?? {}), [c.id]: strength });
  }
  return out;
}

test('frame_roles follow frame instances: add, delete, restore, child contexts, rebuild', async () => {
  const dir = tempDir();
  const store = await Store.init(join(dir, 's'));
  await seed(store);
  assert.deepEqual((await store.concepts.get('shop:bread')).frame_roles, []);
  const file = join(dir, 'f.yaml');
  writeFileSync(file, COMMERCE_FRAMES_YAML);
  await store.frames.add(file, { context: 'shop' });

  assert.deepEqual((await store.concepts.get('shop:bread')).frame_roles, ['Commerce_buy.Goods']);
  assert.deepEqual((await store.concepts.get('shop:customer')).frame_roles, ['Commerce_buy.Buyer']);
  assert.deepEqual((await store.concepts.find('coin', 'shop'))?.frame_roles, ['Commerce_buy.Money']);
  assert.deepEqual((await store.concepts.get('shop:merchant')).frame_roles, []);
  // The concept itself was not rewritten.
  assert.equal((await store.concepts.get('shop:bread')).version, 1);
  const listed = new Map((await store.concepts.list('shop')).map((c) => [c.id, c.frame_roles]));
  assert.deepEqual(listed.get('shop:coin'), ['Commerce_buy.Money']);
  assert.deepEqual((await store.concepts.search('bread', { context: 'shop' }))[0].frame_roles, ['Commerce_buy.Goods']);

  // An instance in a child context binding the parent's concept counts too.
  await store.contexts.create('market', { parent: 'shop' });
  const child = join(dir, 'child.yaml');
  writeFileSync(child, `instances:\n  - instance_id: sale2\n    frame_name: Commerce\n    element_bindings: {Buyer: "shop:merchant", Goods: "shop:bread"}\n`);
  await store.frames.add(child, { context: 'market' });
  assert.deepEqual((await store.concepts.get('shop:bread')).frame_roles, ['Commerce.Goods', 'Commerce_buy.Goods']);
  assert.deepEqual((await store.concepts.get('shop:merchant')).frame_roles, ['Commerce.Buyer']);

  await store.frames.deleteInstance('sale1', 'shop');
  assert.deepEqual((await store.concepts.get('shop:bread')).frame_roles, ['Commerce.Goods']);
  assert.deepEqual((await store.concepts.get('shop:coin')).frame_roles, []);
  await store.frames.restoreInstance('sale1', 'shop');
  assert.deepEqual((await store.concepts.get('shop:coin')).frame_roles, ['Commerce_buy.Money']);

  await store.rebuild();
  assert.deepEqual((await store.concepts.get('shop:bread')).frame_roles, ['Commerce.Goods', 'Commerce_buy.Goods']);
  assert.equal((await store.concepts.get('shop:bread')).version, 1);
  await store.close();

  // Another process (the CLI) sees the same.
  assert.deepEqual(cliOk(join(dir, 's'), ['concepts', 'get', 'shop:coin']).frame_roles, ['Commerce_buy.Money']);
});

test('cluster_memberships follow fields discover: filled, replaced by rediscovery, kept across rebuild', async () => {
  const dir = tempDir();
  const store = await Store.init(join(dir, 's'));
  await seed(store);
  assert.deepEqual((await store.concepts.get('shop:bread')).cluster_memberships, {});
  await store.fields.discover({ context: 'shop', k: 2, seed: 1 });
  let expected = await membershipsFromClusters(store, 'shop');
  assert.equal(expected.size, NAMES.length);
  for (const c of await store.concepts.list('shop')) {
    assert.deepEqual(c.cluster_memberships, expected.get(c.id), c.id);
    assert.equal(Object.keys(c.cluster_memberships).length, 1);
    assert.equal(c.version, 1);
  }

  await store.fields.discover({ context: 'shop', k: 4, seed: 2 });
  expected = await membershipsFromClusters(store, 'shop');
  const clusters = (await store.fields.list('shop')).clusters;
  assert.equal(clusters.length, 4);
  for (const name of NAMES) {
    const got = (await store.concepts.get(`shop:${name}`)).cluster_memberships;
    assert.deepEqual(got, expected.get(`shop:${name}`));
    // Only clusters that exist now: a cluster of the first discovery that is gone is not named.
    for (const id of Object.keys(got)) assert.ok(clusters.some((c) => c.id === id), `${id} exists`);
  }

  // A concept added after the discovery belongs to no cluster until the next one.
  const fresh = await store.concepts.add({ name: 'honey' }, { context: 'shop' });
  assert.deepEqual(fresh.cluster_memberships, {});

  await store.rebuild();
  for (const name of NAMES) assert.deepEqual((await store.concepts.get(`shop:${name}`)).cluster_memberships, expected.get(`shop:${name}`));
  await store.close();
});

test('HTTP: GET /api/concepts/:id and the list carry the derived fields', async () => {
  const h = await startHarness();
  try {
    await seed(h.store);
    const dir = tempDir();
    const file = join(dir, 'f.yaml');
    writeFileSync(file, COMMERCE_FRAMES_YAML);
    await h.store.frames.add(file, { context: 'shop' });
    await h.store.fields.discover({ context: 'shop', k: 2, seed: 1 });
    const one = (await (await fetch(`${h.base}/api/concepts/${encodeURIComponent('shop:bread')}`)).json()) as { frame_roles: string[]; cluster_memberships: Record<string, number> };
    assert.deepEqual(one.frame_roles, ['Commerce_buy.Goods']);
    assert.equal(Object.keys(one.cluster_memberships).length, 1);
    const list = (await (await fetch(`${h.base}/api/concepts?context=shop`)).json()) as { concepts: Array<{ id: string; cluster_memberships: Record<string, number> }> };
    assert.ok(list.concepts.every((c) => Object.keys(c.cluster_memberships).length === 1));
  } finally {
    await h.close();
  }
});
