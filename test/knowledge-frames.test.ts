/**
 * Frames, frame relations and frame instances in the store: add (JSON and YAML) through a
 * frame_expansion workflow, get, instances, query, versions, soft delete / restore, and bad input
 * (unknown element, binding to a deleted or unknown concept, missing core element).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Store } from '../src/api/store.js';
import { asyncErr, cliErr, cliOk, COMMERCE_FRAMES_YAML, tempDir } from './helpers.js';

const error = asyncErr;

const YAML = COMMERCE_FRAMES_YAML;

async function seed(store: Store): Promise<void> {
  for (const n of ['customer', 'bread', 'coin', 'merchant']) await store.concepts.add({ name: n }, { provider: 'hash', context: 'shop' });
}

test('library: frames add (YAML), get, instances, query, versions, delete / restore', async () => {
  const dir = tempDir();
  const store = await Store.init(join(dir, 's'));
  await seed(store);
  const file = join(dir, 'f.yaml');
  writeFileSync(file, YAML);
  const r = await store.frames.add(file, { context: 'shop' });
  assert.equal(r.workflow.workflow_type, 'frame_expansion');
  assert.deepEqual([r.frames, r.relations, r.instances], [2, 1, 1]);
  const f = await store.frames.get('Commerce', 'shop');
  assert.equal(f.version, 1);
  assert.deepEqual(f.lexical_units, ['buy.v', 'purchase.v']);
  assert.equal(f.relations.length, 1);
  assert.equal(f.relations[0].type, 'inheritance');
  const inst = await store.frames.instances('Commerce_buy', 'shop');
  assert.equal(inst.length, 1);
  assert.equal(inst[0].confidence, 0.9);
  assert.equal(inst[0].context, 'shop');
  assert.deepEqual((await store.frames.query({ context: 'shop', concept: 'shop:bread' })).map((i) => i.id), ['sale1']);
  assert.deepEqual((await store.frames.query({ context: 'shop', element: 'Money' })).map((i) => i.id), ['sale1']);
  assert.deepEqual(await store.frames.query({ context: 'shop', element: 'Money', concept: 'shop:bread' }), []);
  assert.equal((await error(async () => store.frames.query({ context: 'shop' }))).code, 'INVALID_INPUT');

  // adding the file again: next versions
  await store.frames.add(file, { context: 'shop' });
  assert.equal((await store.frames.get('Commerce', 'shop')).version, 2);
  assert.equal((await store.frames.instances('Commerce_buy', 'shop'))[0].version, 2);

  const del = await store.frames.delete('Commerce_buy', 'shop');
  assert.equal(del.version, 3);
  assert.ok(del.deleted_at);
  assert.equal((await store.frames.list('shop')).length, 1);
  assert.equal((await error(async () => store.frames.delete('Commerce_buy', 'shop'))).code, 'ALREADY_DELETED');
  assert.equal((await store.frames.restore('Commerce_buy', 'shop')).version, 4);
  assert.equal((await store.frames.deleteInstance('sale1', 'shop')).version, 3);
  assert.equal((await store.frames.instances('Commerce_buy', 'shop')).length, 0);
  assert.equal((await store.frames.restoreInstance('sale1', 'shop')).deleted_at, null);
  assert.equal((await error(async () => store.frames.get('Nope', 'shop'))).code, 'NOT_FOUND');
  await store.close();
});

test('library: bad instances and relations refuse the whole file, naming the item', async () => {
  const dir = tempDir();
  const store = await Store.init(join(dir, 's'));
  await seed(store);
  writeFileSync(join(dir, 'f.yaml'), YAML);
  await store.frames.add(join(dir, 'f.yaml'), { context: 'shop' });
  await store.concepts.delete('shop:merchant');
  const bad = (instances: unknown[], relations: unknown[] = []) => {
    const p = join(dir, `bad-${Math.random()}.json`);
    writeFileSync(p, JSON.stringify({ instances, relations }));
    return p;
  };
  const unknownElement = await error(() =>
    store.frames.add(bad([{ frame_name: 'Commerce', element_bindings: { Buyer: 'shop:customer', Goods: 'shop:bread', Price: 'shop:coin' } }]), { context: 'shop' }),
  );
  assert.equal(unknownElement.code, 'INVALID_INPUT');
  assert.match(unknownElement.message, /instances\[0\].*no element "Price"/);
  const deleted = await error(() => store.frames.add(bad([{ frame_name: 'Commerce', element_bindings: { Buyer: 'shop:merchant', Goods: 'shop:bread' } }]), { context: 'shop' }));
  assert.match(deleted.message, /shop:merchant.*deleted/);
  const unknownConcept = await error(() => store.frames.add(bad([{ frame_name: 'Commerce', element_bindings: { Buyer: 'shop:ghost', Goods: 'shop:bread' } }]), { context: 'shop' }));
  assert.match(unknownConcept.message, /unknown concept "shop:ghost"/);
  const missingCore = await error(() => store.frames.add(bad([{ frame_name: 'Commerce_buy', element_bindings: { Buyer: 'shop:customer', Goods: 'shop:bread' } }]), { context: 'shop' }));
  assert.match(missingCore.message, /core element "Money"/);
  const unknownFrame = await error(() => store.frames.add(bad([{ frame_name: 'Travel', element_bindings: {} }]), { context: 'shop' }));
  assert.match(unknownFrame.message, /unknown frame "Travel"/);
  const badRelation = await error(() => store.frames.add(bad([], [{ source: 'Commerce', target: 'Nowhere', type: 'using' }]), { context: 'shop' }));
  assert.match(badRelation.message, /unknown target frame "Nowhere"/);
  const malformed = join(dir, 'm.yaml');
  writeFileSync(malformed, 'frames:\n  - name: [unclosed\n');
  assert.equal((await error(() => store.frames.add(malformed, { context: 'shop' }))).code, 'INVALID_INPUT');
  assert.equal((await store.frames.query({ context: 'shop', frame: 'Commerce' })).length, 0, 'nothing of a refused file was stored');
  await store.close();
});

test('CLI: frames add / get / instances / query and errors', () => {
  const dir = tempDir();
  const store = join(dir, 's');
  cliOk(store, ['init']);
  for (const n of ['customer', 'bread', 'coin']) cliOk(store, ['concepts', 'add', n, '--context', 'shop', '--provider', 'hash']);
  const file = join(dir, 'f.yaml');
  writeFileSync(file, YAML);
  assert.equal(cliOk(store, ['frames', 'add', file, '--context', 'shop']).instances, 1);
  assert.equal(cliOk(store, ['frames', 'get', 'Commerce', '--context', 'shop']).name, 'Commerce');
  assert.equal(cliOk(store, ['frames', 'instances', 'Commerce_buy', '--context', 'shop']).count, 1);
  assert.equal(cliOk(store, ['frames', 'query', '--element', 'Buyer', '--concept', 'shop:customer', '--context', 'shop']).count, 1);
  assert.equal(cliErr(store, ['frames', 'get', 'Nope', '--context', 'shop']).code, 'NOT_FOUND');
  const bad = join(dir, 'b.json');
  writeFileSync(bad, JSON.stringify({ instances: [{ frame_name: 'Commerce', element_bindings: { Buyer: 'shop:customer', Goods: 'shop:bread', Colour: 'shop:coin' } }] }));
  assert.equal(cliErr(store, ['frames', 'add', bad, '--context', 'shop']).code, 'INVALID_INPUT');
});
