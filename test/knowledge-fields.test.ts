/**
 * Clusters, semantic fields and cross-domain analogies in the store: discovery over real GloVe
 * vectors recovers three WordNet domains (purity >= 0.9), results are stored through workflows,
 * rediscovery versions / retires records, cross-domain analogies stream, query and delete like any
 * other analogy; bad input (k > concepts, empty context).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Store } from '../src/api/store.js';
import { asyncErrCode, cliErr, cliOk, tempDir, useTestGloveCache, writeJsonl, collect } from './helpers.js';

useTestGloveCache();

export const DOMAINS: Record<string, string[]> = {
  animal: ['dog', 'cat', 'horse', 'cow', 'sheep', 'pig', 'lion', 'tiger', 'wolf', 'bear', 'rabbit', 'goat', 'elephant', 'monkey', 'deer', 'fox'],
  vehicle: ['car', 'truck', 'bus', 'bicycle', 'motorcycle', 'van', 'tractor', 'jeep', 'scooter', 'taxi', 'ambulance', 'limousine', 'minivan', 'trailer'],
  emotion: ['joy', 'sadness', 'anger', 'fear', 'happiness', 'grief', 'love', 'hatred', 'anxiety', 'sorrow', 'delight', 'disgust', 'despair', 'shame'],
};

const code = asyncErrCode;

test('fields discover recovers animals / vehicles / emotions from GloVe vectors (purity >= 0.9)', async () => {
  const dir = tempDir();
  const store = await Store.init(join(dir, 's'));
  const lines = Object.values(DOMAINS).flatMap((ws) => ws.map((name) => ({ name, synset: `${name}.n.01` })));
  await store.concepts.import(writeJsonl(join(dir, 'c.jsonl'), lines), { context: 'nature', provider: 'glove' });
  // ids carry WordNet's canonical synset (pig.n.01 is hog.n.03), so the domain is read off the name
  const byName = new Map<string, string>(Object.entries(DOMAINS).flatMap(([d, ws]) => ws.map((w) => [w, d] as const)));
  const domainOf = new Map<string, string>((await store.concepts.list('nature')).map((c) => [c.id, byName.get(c.name) as string]));
  const r = await store.fields.discover({ context: 'nature', k: 3 });
  assert.equal(r.workflow.workflow_type, 'cluster_update');
  assert.equal(r.clusters.length, 3);
  let majority = 0;
  for (const c of r.clusters) {
    const counts = new Map<string, number>();
    for (const id of Object.keys(c.members)) counts.set(domainOf.get(id)!, (counts.get(domainOf.get(id)!) ?? 0) + 1);
    majority += Math.max(...counts.values());
    assert.equal(c.version, 1);
    assert.ok(c.coherence_score > 0 && c.coherence_score <= 1);
    assert.equal(c.centroid.length, 100);
  }
  const purity = majority / lines.length;
  assert.ok(purity >= 0.9, `purity ${purity}`);
  assert.equal(r.fields.length, 3);
  for (const f of r.fields) {
    assert.ok(f.core_concepts.length > 0);
    assert.ok(f.id.startsWith('field:'));
  }

  // the same discovery again: same ids, next versions; deterministic
  const again = await store.fields.discover({ context: 'nature', k: 3 });
  assert.deepEqual(again.clusters.map((c) => [c.id, c.version, c.members]), r.clusters.map((c) => [c.id, 2, c.members]));
  // fewer clusters: the surplus cluster records are soft-deleted
  const two = await store.fields.discover({ context: 'nature', k: 2 });
  assert.equal(two.clusters.length, 2);
  assert.equal((await store.fields.list('nature')).clusters.length, 2);

  assert.equal(await code(() => store.fields.discover({ context: 'nature', k: 1000 })), 'INVALID_INPUT');
  assert.equal(await code(() => store.fields.discover({ context: 'nature', k: 0 })), 'INVALID_INPUT');
  await store.contexts.create('void');
  assert.equal(await code(() => store.fields.discover({ context: 'void', k: 1 })), 'INVALID_INPUT');
  assert.equal(await code(() => store.fields.crossDomain({ context: 'void' })), 'INVALID_INPUT');
  await store.close();
});

test('cross-domain analogies between fields are stored as analogies: stream, query, delete, restore', async () => {
  const dir = tempDir();
  const store = await Store.init(join(dir, 's'));
  const royalty = ['king', 'queen', 'prince', 'princess', 'throne', 'monarch'];
  const business = ['ceo', 'chairman', 'chairwoman', 'executive', 'company', 'shareholder'];
  await store.concepts.import(writeJsonl(join(dir, 'c.jsonl'), [...royalty, ...business].map((name) => ({ name }))), { context: 'x' });
  await store.fields.discover({ context: 'x', k: 2 });
  const fields = (await store.fields.list('x')).fields;
  assert.equal(fields.length, 2);
  const r = await store.fields.crossDomain({ context: 'x', source: fields[0].name, target: fields[1].name, minQuality: 0.2 });
  assert.ok(r.analogies.length > 0, 'some analogy found');
  assert.equal(r.workflow?.workflow_type, 'analogy_creation');
  for (const a of r.analogies) {
    assert.ok(a.quality_score >= 0.2);
    assert.equal(a.source_domain, fields[0].name);
    assert.deepEqual(a.tags, ['cross_domain']);
    assert.ok(Object.keys(a.concept_mappings).length >= 2);
  }
  const streamed = (await collect(store.analogies.stream({ context: 'x' })));
  assert.deepEqual(streamed.map((a) => a.id).sort(), r.analogies.map((a) => a.id).sort());
  assert.equal((await store.analogies.query({ context: 'x', tag: 'cross_domain' })).length, r.analogies.length);
  // found again: the same ids get their next version instead of duplicates
  const again = await store.fields.crossDomain({ context: 'x', source: fields[0].name, target: fields[1].name, minQuality: 0.2 });
  assert.deepEqual(again.analogies.map((a) => a.id), r.analogies.map((a) => a.id));
  assert.equal(again.analogies[0].version, 2);
  const del = await store.analogies.deleteMatching({ context: 'x', tag: 'cross_domain' });
  assert.equal(del.matched, r.analogies.length);
  assert.equal(await store.analogies.count({ context: 'x' }), 0);
  assert.equal((await store.analogies.restore(r.analogies[0].id, 'x')).deleted_at, null);
  assert.equal(await code(() => store.fields.crossDomain({ context: 'x', source: 'nope', target: fields[1].name })), 'NOT_FOUND');
  await store.close();
});

test('CLI: fields discover / list / cross-domain', () => {
  const dir = tempDir();
  const store = join(dir, 's');
  cliOk(store, ['init']);
  const file = writeJsonl(join(dir, 'c.jsonl'), [...DOMAINS.animal.slice(0, 6), ...DOMAINS.emotion.slice(0, 6)].map((name) => ({ name })));
  cliOk(store, ['concepts', 'import', file]);
  const d = cliOk(store, ['fields', 'discover', '--k', '2', '--min-coherence', '0.1']);
  assert.equal(d.clusters.length, 2);
  assert.equal(cliOk(store, ['fields', 'list']).fields.length, d.fields.length);
  assert.equal(cliErr(store, ['fields', 'discover', '--k', '13']).code, 'INVALID_INPUT');
  const x = cliOk(store, ['fields', 'cross-domain', '--min-quality', '0.1']);
  assert.equal(typeof x.pairs, 'number');
});
