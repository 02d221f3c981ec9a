/**
 * What every backend must do with the knowledge beyond analogies, through the public Store only:
 * concepts (WordNet senses, search, vectors and `similar`, soft delete / restore, context
 * inheritance), concept batches, frames and their instances and relations, clusters and semantic
 * fields, cross-domain analogies, knowledge export / import with each merge strategy, the audit
 * trail, and the original system's storage directory (legacy import).
 *
 * Each case is a scenario that asserts what it can know from its input, and returns what a user
 * would see of its results (timestamps and minted workflow ids left out, see `observed`).
 * `knowledgeConformance(name, openFresh, reference)` registers the cases for one backend; with a
 * `reference` (another backend's fresh store) each scenario also runs there and the two
 * observations must be equal: the same operations give the same results on either backend.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store } from '../../src/api/store.js';
import { encodeNpy } from '../../src/embeddings/npy.js';
import { readEmbeddingsNpz } from '../../src/embeddings/npz.js';
import { asyncErr, asyncErrCode, COMMERCE_FRAMES_YAML, genAnalogies, LOOSE_LEGACY_LINES, tempDir, writeJsonl } from '../helpers.js';

/** A fresh, empty store of a backend and how to dispose of it. */
export interface KnowledgeStore {
  store: Store;
  close(): Promise<void>;
}

/** A fresh embedded store in a temporary directory (the reference the other backends are compared with). */
export async function freshEmbeddedStore(): Promise<KnowledgeStore> {
  const dir = tempDir();
  const store = await Store.init(join(dir, 'store'));
  return {
    store,
    close: async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/**
 * Minted on every run, so not part of what two runs must agree on; `start_seq` is the backend's own
 * mark in its change log where a workflow began (opaque: a log sequence in one, a row sequence in
 * the other).
 */
const RUN_VALUES = new Set(['created_at', 'updated_at', 'deleted_at', 'time', 'seconds', 'started_at', 'finished_at', 'completed_at', 'start_seq']);
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

/**
 * What a user sees of a result, comparable between runs and backends: timestamps become whether
 * they are set, UUIDs (minted workflow and record ids) become their order of appearance, file paths
 * under the scenario's scratch directory lose that prefix, numbers keep 9 significant digits.
 */
function observed(value: unknown, scratch: string, ids = new Map<string, string>()): Json {
  const minted = (id: string): string => {
    if (!ids.has(id)) ids.set(id, `uuid#${ids.size + 1}`);
    return ids.get(id) as string;
  };
  const walk = (v: unknown, key?: string): Json => {
    if (v === undefined || v === null) return null;
    if (key && RUN_VALUES.has(key)) return v === null ? null : 'set';
    if (typeof v === 'number') return Number.isInteger(v) ? v : Number(v.toPrecision(9));
    if (typeof v === 'string') return v.replaceAll(scratch, '<scratch>').replace(UUID, minted);
    if (typeof v === 'boolean') return v;
    if (Array.isArray(v)) return v.map((x) => walk(x));
    const out: { [key: string]: Json } = {};
    for (const k of Object.keys(v as object).sort()) {
      if (k === 'embedding_b64') continue;
      out[k] = walk((v as Record<string, unknown>)[k], k);
    }
    return out;
  };
  return walk(value);
}

/** Where two observations differ (path: this backend's value / the reference's), the first 30. */
function differences(a: Json, b: Json, path = '$', out: string[] = []): string[] {
  if (out.length >= 30) return out;
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object' && Array.isArray(a) === Array.isArray(b)) {
    const keys = Array.isArray(a) ? Array.from({ length: Math.max(a.length, (b as Json[]).length) }, (_, i) => String(i)) : [...new Set([...Object.keys(a), ...Object.keys(b)])];
    for (const k of keys) differences((a as Record<string, Json>)[k] ?? null, (b as Record<string, Json>)[k] ?? null, `${path}.${k}`, out);
  } else if (JSON.stringify(a) !== JSON.stringify(b)) out.push(`${path}: ${JSON.stringify(a)?.slice(0, 200)} / ${JSON.stringify(b)?.slice(0, 200)}`);
  return out;
}

async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

const KINDS = ['concept', 'frame', 'frame_instance', 'frame_relation', 'cluster', 'semantic_field'] as const;

/** Every active record of every kind in the given contexts (analogies too), sorted by id. */
async function content(s: Store, contexts: string[]): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  // by id; records with minted ids (random UUIDs) after the others, in the order of their content
  const key = (r: { id?: unknown }) => (String(r.id).match(UUID) ? `~${JSON.stringify({ ...r, id: null, created_at: null, updated_at: null })}` : String(r.id));
  const byId = (a: { id?: unknown }, b: { id?: unknown }) => key(a).localeCompare(key(b));
  for (const context of contexts) {
    out[`${context}/analogy`] = (await all(s.analogies.stream({ context }))).sort(byId);
    for (const kind of KINDS) out[`${context}/${kind}`] = (await all(s.stream<{ id: string }>(kind, context))).sort(byId);
  }
  return out;
}

type Scenario = (s: Store, dir: string) => Promise<unknown>;

async function runScenario(open: () => Promise<KnowledgeStore>, scenario: Scenario): Promise<Json> {
  const fresh = await open();
  const dir = mkdtempSync(join(tmpdir(), 'softlogic-knowledge-'));
  try {
    return observed(await scenario(fresh.store, dir), dir);
  } finally {
    await fresh.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Concepts: add (description, a named sense, `auto`), versions, search, similar, delete / restore, inheritance. */
const concepts: Scenario = async (s) => {
  const ice = await s.concepts.add({ name: 'Ice Cream', description: 'a frozen dessert' }, { provider: 'hash' });
  assert.deepEqual([ice.id, ice.name, ice.version, ice.embedding?.provider, ice.embedding?.dimension], ['default:ice_cream', 'ice_cream', 1, 'hash', 100]);
  const again = await s.concepts.add({ name: 'ice cream', description: 'updated' });
  assert.equal(again.version, 2);
  assert.equal(again.created_at, ice.created_at);
  const bank = await s.concepts.add({ name: 'bank', synset: 'bank.n.01' });
  assert.match(bank.disambiguation ?? '', /sloping land/);
  const dog = await s.concepts.add({ name: 'dog', synset: 'auto' });
  assert.equal(dog.synset_id, 'dog.n.01');
  for (const name of ['cat', 'wolf', 'puppy', 'kennel']) await s.concepts.add({ name });
  const search = {
    sloping: (await s.concepts.search('sloping')).map((c) => c.id),
    updated: (await s.concepts.search('UPDATED')).map((c) => c.id),
    context: (await s.concepts.search('default')).map((c) => c.id).sort(),
  };
  assert.deepEqual(search.sloping, [bank.id]);
  assert.deepEqual(search.updated, [ice.id]);
  assert.equal(search.context.length, 7);
  const similar = await s.concepts.similar('dog', { k: 3 });
  assert.equal(similar.results.length, 3);
  assert.ok(!similar.results.some((r) => r.id === dog.id), 'the query is not its own neighbour');
  const deleted = await s.concepts.delete(bank.id);
  assert.equal(deleted.version, 2);
  assert.equal((await s.concepts.get(bank.id)).deleted_at, deleted.deleted_at);
  assert.deepEqual(await s.concepts.search('sloping'), []);
  assert.equal((await s.concepts.list()).length, 6);
  const errors = {
    again: await asyncErrCode(() => s.concepts.delete(bank.id)),
    badSense: await asyncErrCode(() => s.concepts.add({ name: 'bank', synset: 'bank.n.99' })),
    missing: await asyncErrCode(() => s.concepts.get('default:nothing')),
    provider: await asyncErrCode(() => s.concepts.add({ name: 'fox' }, { provider: 'glove' })),
  };
  assert.deepEqual(errors, { again: 'ALREADY_DELETED', badSense: 'NOT_FOUND', missing: 'NOT_FOUND', provider: 'CONFLICT' });
  const similarWithout = (await s.concepts.similar('dog', { k: 10 })).results.map((r) => r.id);
  assert.ok(!similarWithout.includes(bank.id), 'a deleted concept is no neighbour');
  const restored = await s.concepts.restore(bank.id);
  assert.deepEqual([restored.version, restored.deleted_at], [3, null]);
  assert.equal(await asyncErrCode(() => s.concepts.restore(bank.id)), 'NOT_DELETED');
  assert.ok((await s.concepts.similar('dog', { k: 10 })).results.some((r) => r.id === bank.id), 'a restored concept is found again');
  // a child context sees its parent's concepts and inherits its provider
  await s.contexts.create('finance', { parent: 'default', description: 'money' });
  const loan = await s.concepts.add({ name: 'loan', description: 'money lent' }, { context: 'finance' });
  assert.equal((await s.concepts.find('dog', 'finance'))?.id, dog.id);
  assert.equal(await s.concepts.find('loan', 'default'), undefined);
  assert.equal((await s.embeddings.settings('finance'))?.from, 'default');
  return {
    search,
    similar: similar.results,
    errors,
    inFinance: (await s.concepts.search('money', { context: 'finance' })).map((c) => c.id),
    similarInFinance: (await s.concepts.similar('loan', { context: 'finance', k: 3 })).results,
    loan,
    senses: await s.concepts.senses('bank', { context: 'finance' }),
    similarity: await s.embeddings.similarity('dog', 'puppy'),
    complete: await s.embeddings.complete('dog', 'puppy', 'cat', { k: 2, scope: 'registry' }),
    listed: await s.concepts.list('default', { includeDeleted: true }),
    records: await content(s, ['default', 'finance']),
    audit: await s.audit.list(),
  };
};

/** A concept batch: a workflow of concepts with vectors; a file with bad lines is refused whole. */
const conceptBatch: Scenario = async (s, dir) => {
  const lines: unknown[] = Array.from({ length: 300 }, (_, i) => ({ name: `thing ${i}`, ...(i % 7 === 0 ? { description: `number ${i}` } : {}) }));
  lines.push({ name: 'bank', synset: 'bank.n.01' }, { name: 'river', synset: 'auto' });
  const r = await s.concepts.import(writeJsonl(join(dir, 'c.jsonl'), lines), { provider: 'hash', batchSize: 64, context: 'things' });
  assert.deepEqual([r.workflow.workflow_type, r.workflow.status, r.imported], ['concept_batch', 'completed', 302]);
  assert.equal((await s.concepts.list('things')).length, 302);
  assert.equal((await s.concepts.get('things:river:river.n.01')).synset_id, 'river.n.01');
  const similar = await s.concepts.similar('thing 12', { context: 'things', k: 5 });
  assert.equal(similar.results.length, 5);
  const err = await asyncErr(() => s.concepts.import(writeJsonl(join(dir, 'bad.jsonl'), [{ name: 'ok' }, { name: '' }, { name: 'x', synset: 'x.n.77' }, { nme: 'typo' }]), { context: 'things' }));
  assert.equal(err.code, 'IMPORT_REJECTED');
  const issues = (err.details as { issues: Array<{ line: number }> }).issues.map((i) => i.line);
  assert.deepEqual(issues, [2, 3, 4]);
  assert.equal((await s.concepts.list('things')).length, 302, 'nothing of a refused file is imported');
  // the same file again: every concept gets its next version, the vectors stay one per concept
  const twice = await s.concepts.import(join(dir, 'c.jsonl'), { context: 'things' });
  assert.equal(twice.imported, 302);
  assert.equal((await s.concepts.get('things:thing_7')).version, 2);
  const index = await s.embeddings.index('things');
  const npz = join(dir, 'things.npz');
  await s.embeddings.export(npz, 'things');
  const exported = readEmbeddingsNpz(npz);
  assert.equal(exported.ids.length, 302);
  // the vectors into another context: concepts for the ids, found by their neighbours
  const copied = await s.embeddings.import(npz, 'copied');
  assert.equal((await s.concepts.list('copied', { limit: 1000 })).length, 302);
  const similarCopied = await s.concepts.similar('things:thing_12', { context: 'copied', k: 5 });
  return {
    copied: { ...copied, seconds: undefined },
    similarCopied: similarCopied.results,
    result: { ...r, seconds: undefined },
    again: { ...twice, seconds: undefined },
    issues,
    similar: similar.results,
    index: index && { size: (index as { size?: number }).size ?? null },
    npz: { ids: [...exported.ids].sort(), dimension: exported.dimension },
    settings: await s.embeddings.settings('things'),
    records: await content(s, ['things']),
    audit: await s.audit.list(),
  };
};

/** Frames: a frame_expansion workflow, get, instances, query, next versions, delete / restore, bad files refused whole. */
const frames: Scenario = async (s, dir) => {
  for (const n of ['customer', 'bread', 'coin', 'merchant']) await s.concepts.add({ name: n }, { provider: 'hash', context: 'shop' });
  const file = join(dir, 'f.yaml');
  writeFileSync(file, COMMERCE_FRAMES_YAML);
  const r = await s.frames.add(file, { context: 'shop' });
  assert.deepEqual([r.workflow.workflow_type, r.frames, r.relations, r.instances], ['frame_expansion', 2, 1, 1]);
  const commerce = await s.frames.get('Commerce', 'shop');
  assert.deepEqual(commerce.lexical_units, ['buy.v', 'purchase.v']);
  const instances = await s.frames.instances('Commerce_buy', 'shop');
  assert.equal(instances.length, 1);
  const queries = {
    byConcept: (await s.frames.query({ context: 'shop', concept: 'shop:bread' })).map((i) => i.id),
    byElement: (await s.frames.query({ context: 'shop', element: 'Money' })).map((i) => i.id),
    both: (await s.frames.query({ context: 'shop', element: 'Money', concept: 'shop:bread' })).map((i) => i.id),
  };
  assert.deepEqual(queries, { byConcept: ['sale1'], byElement: ['sale1'], both: [] });
  await s.frames.add(file, { context: 'shop' });
  assert.equal((await s.frames.get('Commerce', 'shop')).version, 2);
  const del = await s.frames.delete('Commerce_buy', 'shop');
  assert.equal(del.version, 3);
  assert.equal((await s.frames.list('shop')).length, 1);
  assert.equal(await asyncErrCode(() => s.frames.delete('Commerce_buy', 'shop')), 'ALREADY_DELETED');
  assert.equal((await s.frames.restore('Commerce_buy', 'shop')).version, 4);
  assert.equal((await s.frames.deleteInstance('sale1', 'shop')).version, 3);
  assert.deepEqual(await s.frames.instances('Commerce_buy', 'shop'), []);
  assert.equal((await s.frames.restoreInstance('sale1', 'shop')).deleted_at, null);
  await s.concepts.delete('shop:merchant');
  const bad = (name: string, body: unknown) => {
    const p = join(dir, name);
    writeFileSync(p, JSON.stringify(body));
    return p;
  };
  const refusals = [];
  for (const [name, body] of [
    ['deleted.json', { instances: [{ frame_name: 'Commerce', element_bindings: { Buyer: 'shop:merchant', Goods: 'shop:bread' } }] }],
    ['unknown.json', { instances: [{ frame_name: 'Commerce', element_bindings: { Buyer: 'shop:ghost', Goods: 'shop:bread' } }] }],
    ['core.json', { instances: [{ frame_name: 'Commerce_buy', element_bindings: { Buyer: 'shop:customer', Goods: 'shop:bread' } }] }],
    ['relation.json', { relations: [{ source: 'Commerce', target: 'Nowhere', type: 'using' }] }],
  ] as const) {
    const e = await asyncErr(() => s.frames.add(bad(name, body), { context: 'shop' }));
    refusals.push([e.code, e.message.replaceAll(dir, '<scratch>')]);
  }
  assert.ok(refusals.every(([c]) => c === 'INVALID_INPUT'));
  assert.equal((await s.frames.query({ context: 'shop', frame: 'Commerce' })).length, 0, 'nothing of a refused file was stored');
  return {
    result: r,
    commerce,
    buy: await s.frames.get('Commerce_buy', 'shop'),
    instances: await s.frames.instances('Commerce_buy', 'shop'),
    queries,
    refusals,
    concept: await s.concepts.get('shop:bread'),
    records: await content(s, ['shop']),
  };
};

const FIELD_WORDS = ['king', 'queen', 'prince', 'princess', 'throne', 'monarch', 'ceo', 'chairman', 'executive', 'company', 'shareholder', 'board', 'river', 'lake', 'stream', 'pond'];

/** Clusters and fields: discovery through a cluster_update workflow, rediscovery versions and retires; cross-domain analogies. */
const fields: Scenario = async (s, dir) => {
  await s.concepts.import(writeJsonl(join(dir, 'c.jsonl'), FIELD_WORDS.map((name) => ({ name }))), { context: 'x', provider: 'hash' });
  const r = await s.fields.discover({ context: 'x', k: 3, minCoherence: 0 });
  assert.equal(r.workflow.workflow_type, 'cluster_update');
  assert.equal(r.clusters.length, 3);
  assert.equal(r.clusters.reduce((n, c) => n + Object.keys(c.members).length, 0), FIELD_WORDS.length, 'every concept in one cluster');
  const again = await s.fields.discover({ context: 'x', k: 3, minCoherence: 0 });
  assert.deepEqual(again.clusters.map((c) => [c.id, c.version, c.members]), r.clusters.map((c) => [c.id, 2, c.members]), 'the same discovery: same ids, next versions');
  const two = await s.fields.discover({ context: 'x', k: 2, minCoherence: 0 });
  assert.equal(two.clusters.length, 2);
  const listed = await s.fields.list('x');
  assert.equal(listed.clusters.length, 2, 'the surplus cluster is retired');
  const [source, target] = listed.fields;
  assert.ok(source && target, `two fields (${listed.fields.length})`);
  const cross = await s.fields.crossDomain({ context: 'x', source: source.name, target: target.name, minQuality: 0 });
  assert.ok(cross.analogies.length > 0);
  for (const a of cross.analogies) assert.deepEqual([a.source_domain, a.tags], [source.name, ['cross_domain']]);
  const crossAgain = await s.fields.crossDomain({ context: 'x', source: source.name, target: target.name, minQuality: 0 });
  assert.deepEqual(crossAgain.analogies.map((a) => [a.id, a.version]), cross.analogies.map((a) => [a.id, 2]));
  assert.equal((await s.analogies.query({ context: 'x', tag: 'cross_domain' })).length, cross.analogies.length);
  const deletedField = await s.fields.delete(source.id, 'x');
  assert.ok(deletedField.deleted_at);
  assert.equal((await s.fields.list('x')).fields.length, listed.fields.length - 1);
  assert.equal((await s.fields.restore(source.id, 'x')).deleted_at, null);
  await s.contexts.create('void');
  const errors = {
    tooMany: await asyncErrCode(() => s.fields.discover({ context: 'x', k: 1000 })),
    empty: await asyncErrCode(() => s.fields.discover({ context: 'void', k: 1 })),
    crossEmpty: await asyncErrCode(() => s.fields.crossDomain({ context: 'void' })),
    noField: await asyncErrCode(() => s.fields.crossDomain({ context: 'x', source: 'nope', target: target.name })),
  };
  assert.deepEqual(errors, { tooMany: 'INVALID_INPUT', empty: 'INVALID_INPUT', crossEmpty: 'INVALID_INPUT', noField: 'NOT_FOUND' });
  const projection = await s.fields.project('x');
  return {
    discovered: { ...r, seconds: undefined },
    two: { ...two, seconds: undefined },
    cross: cross.analogies,
    errors,
    projection,
    concept: await s.concepts.get('x:king'),
    records: await content(s, ['x']),
  };
};

/** Knowledge export / import: every kind of every context; the merge strategies on a target that differs. */
const exportImport = (openFresh: () => Promise<KnowledgeStore>): Scenario => async (s, dir) => {
  await s.concepts.import(writeJsonl(join(dir, 'c.jsonl'), FIELD_WORDS.map((name) => ({ name }))), { context: 'shop', provider: 'hash' });
  for (const n of ['customer', 'bread', 'coin']) await s.concepts.add({ name: n }, { context: 'shop' });
  writeFileSync(join(dir, 'f.yaml'), COMMERCE_FRAMES_YAML);
  await s.frames.add(join(dir, 'f.yaml'), { context: 'shop' });
  await s.fields.discover({ context: 'shop', k: 2, minCoherence: 0 });
  await s.analogies.import(writeJsonl(join(dir, 'a.jsonl'), genAnalogies(30, 71, 'k-')));
  await s.concepts.add({ name: 'coin', description: 'second version' }, { context: 'shop' });
  await s.concepts.delete('shop:river');
  const contexts = ['default', 'shop'];
  const source = await content(s, contexts);
  const jsonl = await s.export({ out: join(dir, 'all.jsonl') });
  const doc = await s.export({ out: join(dir, 'shop.json'), context: 'shop', format: 'json', gzip: true });
  assert.equal(jsonl.counts.shop?.concept, FIELD_WORDS.length + 2, 'active concepts of the context');

  const imported: Record<string, unknown> = {};
  const target = await openFresh();
  try {
    const t = target.store;
    const r = await t.import(jsonl.file);
    assert.equal(r.records, jsonl.records);
    assert.deepEqual(observed(await content(t, contexts), dir), observed(source, dir), 'an empty store receives the export as it was');
    assert.equal((await t.concepts.get('shop:coin')).version, 2, 'versions come along');
    assert.equal((await t.concepts.get('shop:king')).embedding?.b64, (await s.concepts.get('shop:king')).embedding?.b64, 'vectors come along in the records');
    // the embedding settings come along with the vectors: `similar` answers in the fresh store
    assert.deepEqual(await t.embeddings.settings('shop'), await s.embeddings.settings('shop'), 'the embedding settings come along');
    const similarTarget = (await t.concepts.similar('king', { context: 'shop', k: 4 })).results;
    assert.equal(similarTarget.length, 4);
    assert.deepEqual(similarTarget, (await s.concepts.similar('king', { context: 'shop', k: 4 })).results, 'similar answers as in the source');
    imported.similar = similarTarget;
    imported.all = { ...r, file: 'all.jsonl' };
  } finally {
    await target.close();
  }
  for (const merge of ['overwrite', 'skip', 'merge'] as const) {
    const other = await openFresh();
    try {
      const t = other.store;
      await t.concepts.add({ name: 'coin', description: 'the target\'s', aliases: ['money'] } as never, { context: 'shop', provider: 'hash' });
      for (let i = 0; i < 3; i++) await t.concepts.add({ name: 'bread', description: `target v${i + 1}` }, { context: 'shop' });
      await t.concepts.add({ name: 'own' }, { context: 'shop' });
      const r = await t.import(doc.file, { merge });
      assert.equal(r.merge, merge);
      const coin = await t.concepts.get('shop:coin');
      const bread = await t.concepts.get('shop:bread');
      assert.ok(await t.concepts.find('own', 'shop'), `${merge}: the target's own concept stays`);
      if (merge === 'skip') assert.deepEqual([coin.description, bread.description], ["the target's", 'target v3']);
      if (merge === 'overwrite') assert.deepEqual([coin.description, bread.description], ['second version', null]);
      imported[merge] = { result: { ...r, file: 'shop.json.gz' }, coin, bread, records: await content(t, ['shop']) };
    } finally {
      await other.close();
    }
  }
  const otherProvider = await openFresh();
  try {
    const t = otherProvider.store;
    await t.concepts.add({ name: 'apple' }, { context: 'shop', provider: 'glove' });
    const before = await content(t, ['shop']);
    const err = await asyncErr(() => t.import(doc.file));
    assert.equal(err.code, 'CONFLICT', 'hash vectors are not mixed into a context of glove vectors');
    assert.deepEqual(await content(t, ['shop']), before, 'nothing was applied');
    assert.deepEqual(await t.embeddings.settings('shop'), { provider: 'glove', dimension: 100, from: 'shop' });
    imported.otherProvider = { code: err.code, message: err.message };
  } finally {
    await otherProvider.close();
  }
  return { exported: { jsonl: { ...jsonl, file: 'all.jsonl', bytes: undefined }, doc: { ...doc, file: 'shop.json.gz', bytes: undefined } }, source, imported };
};

/** Rolling back the workflows of knowledge: a concept batch, a frame expansion, a discovery; vectors follow. */
const rollbacks: Scenario = async (s, dir) => {
  await s.concepts.import(writeJsonl(join(dir, 'c1.jsonl'), FIELD_WORDS.map((name) => ({ name }))), { context: 'k', provider: 'hash' });
  for (const n of ['customer', 'bread', 'coin']) await s.concepts.add({ name: n }, { context: 'k' });
  await s.fields.discover({ context: 'k', k: 2, minCoherence: 0 });
  const before = await content(s, ['k']);
  const similarBefore = (await s.concepts.similar('king', { context: 'k', k: 4 })).results;
  const batch = await s.concepts.import(writeJsonl(join(dir, 'c2.jsonl'), [{ name: 'king', description: 'changed' }, { name: 'knight' }, { name: 'castle' }]), { context: 'k' });
  writeFileSync(join(dir, 'f.yaml'), COMMERCE_FRAMES_YAML.replaceAll('shop:', 'k:'));
  const framesAdded = await s.frames.add(join(dir, 'f.yaml'), { context: 'k' });
  const rediscovered = await s.fields.discover({ context: 'k', k: 3, minCoherence: 0 });
  const results = [];
  for (const wf of [rediscovered.workflow, framesAdded.workflow, batch.workflow]) results.push(await s.workflows.rollback(wf.workflow_id));
  assert.deepEqual(results.map((r) => r.status), ['rolled_back', 'rolled_back', 'rolled_back']);
  // as the user sees them: a rollback writes the old content as the next version
  const unversioned = (c: Record<string, unknown[]>) => observed(Object.fromEntries(Object.entries(c).map(([k, rs]) => [k, rs.map((r) => ({ ...(r as object), version: null }))])), dir);
  assert.deepEqual(unversioned(await content(s, ['k'])), unversioned(before), 'every kind as it was before the three workflows');
  assert.equal(await s.concepts.find('knight', 'k'), undefined);
  const similarAfter = (await s.concepts.similar('king', { context: 'k', k: 4 })).results;
  assert.deepEqual(similarAfter.map((r) => r.id), similarBefore.map((r) => r.id), 'the vectors of the rolled-back concepts are gone, the changed one is back');
  return { results, similarAfter, records: await content(s, ['k']) };
};

/** The audit trail: what was rejected, rolled back, deleted; filters by workflow, event, limit and time. */
const audit: Scenario = async (s, dir) => {
  const good = genAnalogies(3, 81, 'au-');
  const file = join(dir, 'mixed.jsonl');
  writeFileSync(file, [JSON.stringify(good[0]), '{"id":"bad-1","source_domain":"x"}', JSON.stringify(good[1]), 'not json', JSON.stringify(good[2])].join('\n') + '\n');
  const imported = await s.analogies.import(file, { lenient: true });
  assert.equal(imported.rejected, 2);
  const id = imported.workflow.workflow_id;
  await s.workflows.rollback(id);
  assert.equal(await s.analogies.count(), 0);
  await s.contexts.create('other');
  await s.analogies.import(writeJsonl(join(dir, 'a.jsonl'), genAnalogies(20, 82, 'dm-')), { context: 'other' });
  await s.analogies.deleteMatching({ context: 'other', max_quality: 0.5 });
  const ofWorkflow = await s.audit.list({ workflow_id: id });
  const events = ofWorkflow.map((e) => e.event);
  assert.equal(events[0], 'workflow_rolled_back', 'newest first');
  for (const e of ['workflow_created', 'import_rejected_lines', 'workflow_completed']) assert.ok(events.includes(e), `${e} in ${events.join(', ')}`);
  assert.ok(ofWorkflow.every((e) => e.workflow_id === id));
  const everything = await s.audit.list();
  const times = everything.map((e) => e.time);
  assert.deepEqual(times, [...times].sort().reverse(), 'newest first');
  const one = await s.audit.list({ event: 'context_created', limit: 1 });
  assert.deepEqual(one.map((e) => e.context), ['other']);
  assert.deepEqual(await s.audit.list({ since: new Date(Date.now() + 60_000).toISOString() }), []);
  const since = await s.audit.list({ since: everything[0]?.time });
  assert.ok(since.length >= 1 && since.every((e) => e.time >= String(everything[0]?.time)));
  const badFilter = await asyncErrCode(() => s.audit.list({ limit: -1 }));
  // The files an entry names (where the store keeps them differs by backend): their content.
  const rejected = ofWorkflow.find((e) => e.event === 'import_rejected_lines') as Record<string, unknown>;
  const files = ['rejects_file', 'reasons_file'].map((k) => readFileSync(String(rejected[k]), 'utf8').replace(String(rejected[k]), '<file>'));
  assert.equal(files[0]?.trim().split('\n').length, 2, 'the rejected lines, each once');
  const withoutPaths = (entries: unknown[]) => entries.map((e) => ({ ...(e as object), rejects_file: undefined, reasons_file: undefined }));
  return { ofWorkflow: withoutPaths(ofWorkflow), everything: withoutPaths(everything), one, badFilter, files };
};

/** The original system's storage directory: every line a record, a deletion, or reported; workflows; vectors. */
const legacy: Scenario = async (s, dir) => {
  const root = join(dir, 'legacy');
  mkdirSync(join(root, 'contexts', 'my ctx!'), { recursive: true });
  mkdirSync(join(root, 'contexts', 'plain'), { recursive: true });
  mkdirSync(join(root, 'workflows', 'x'), { recursive: true });
  mkdirSync(join(root, 'embeddings_cache'), { recursive: true });
  writeFileSync(join(root, 'contexts', 'my ctx!', 'analogies.jsonl'), LOOSE_LEGACY_LINES.join('\n'));
  const plain = Array.from({ length: 12 }, (_, i) => JSON.stringify({ type: 'analogy', id: `p${i}`, source_domain: 'sea', target_domain: 'sky', quality_score: i / 12, tags: ['t'] }));
  writeFileSync(join(root, 'contexts', 'plain', 'analogies.jsonl'), plain.join('\n') + '\n');
  writeFileSync(join(root, 'workflows', 'x', 'workflow_w1.json'), JSON.stringify({ workflow_id: 'w1', workflow_type: 'odd', status: 'processing', items_total: 3, created_at: '2024-01-01T00:00:00Z' }));
  writeFileSync(join(root, 'workflows', 'x', 'workflow_bad.json'), '{');
  writeFileSync(join(root, 'embeddings_cache', 'embeddings.npy'), encodeNpy({ dtype: 'float32', shape: [3, 3], data: new Float32Array([1, 2, 3, 4, 5, 6, 0, 1, 0]) }));
  writeFileSync(join(root, 'embeddings_cache', 'metadata.json'), JSON.stringify({ 'x:a': {}, 'x:b': {}, 'x:c': {} }));
  const r = await s.importLegacy(root);
  const f = r.files.find((x) => x.kind === 'analogies_jsonl' && x.context === 'legacy_my_ctx_');
  assert.ok(f, JSON.stringify(r.files));
  assert.equal((f.records ?? 0) + (f.deletions ?? 0) + f.reported.length + (f.blank ?? 0), f.units);
  assert.equal((await s.analogies.get('a1', 'legacy_my_ctx_')).deleted_at !== null, true);
  assert.equal(await s.analogies.count({ context: 'plain' }), 12);
  assert.equal((await s.workflows.get('w1')).status, 'cancelled');
  assert.deepEqual((await s.concepts.list('x')).map((c) => c.id), ['x:a', 'x:b', 'x:c']);
  const npz = join(dir, 'x.npz');
  await s.embeddings.export(npz, 'x');
  const vectors = readEmbeddingsNpz(npz);
  assert.deepEqual(vectors.ids, ['x:a', 'x:b', 'x:c']);
  const similar = await s.concepts.similar('x:a', { context: 'x', k: 2 });
  assert.deepEqual(similar.results.map((x) => x.id), ['x:b', 'x:c'], 'nearest by the imported vectors');
  // the same directory again: nothing new
  const again = await s.importLegacy(root);
  assert.equal(await s.analogies.count({ context: 'plain' }), 12);
  const missing = await asyncErrCode(() => s.importLegacy(join(dir, 'nope')));
  return {
    result: r,
    again,
    missing,
    similar: similar.results,
    vectors: { ids: vectors.ids, dimension: vectors.dimension, values: Array.from(vectors.vectors) },
    workflow: await s.workflows.get('w1'),
    history: await s.analogies.history('a1', 'legacy_my_ctx_'),
    records: await content(s, ['legacy_my_ctx_', 'plain', 'x']),
  };
};

export function knowledgeConformance(name: string, openFresh: () => Promise<KnowledgeStore>, reference?: { name: string; open: () => Promise<KnowledgeStore> }): void {
  const scenarios: Array<[string, (open: () => Promise<KnowledgeStore>) => Scenario]> = [
    ['concepts: add with a sense, versions, search, similar by vector, delete / restore, inheritance', () => concepts],
    ['concept batch: a workflow of concepts with vectors; a bad file refused whole; again as next versions', () => conceptBatch],
    ['frames, relations and instances: add, versions, query, delete / restore, bad files refused whole', () => frames],
    ['clusters and fields: discover, rediscover, retire; cross-domain analogies stored and versioned', () => fields],
    ['rollback of a concept batch, a frame expansion and a discovery: every kind and the vectors as before', () => rollbacks],
    ['knowledge export / import: every kind and context, JSON lines and gzip JSON, each merge strategy', (open) => exportImport(open)],
    ['audit trail: rejected lines, rollback, deletions; filters by workflow, event, limit, time', () => audit],
    ['legacy import: records, deletions, reported lines, workflows and vectors of the original system', () => legacy],
  ];
  describe(`knowledge conformance: ${name}`, () => {
    for (const [title, make] of scenarios) {
      test(reference ? `${title} (the same as ${reference.name})` : title, async () => {
        const got = await runScenario(openFresh, make(openFresh));
        if (!reference) return;
        const want = await runScenario(reference.open, make(reference.open));
        const diff = differences(got, want);
        assert.deepEqual(diff, [], `${name} and ${reference.name} differ:\n${diff.join('\n')}`);
      });
    }
  });
}
