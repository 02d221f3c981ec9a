/**
 * Vectors in the store: per-context provider and dimension, similarity (all methods, hybrid with
 * WordNet), registry / vocabulary search and analogy completion checked against brute force, the
 * persisted index (incremental, rebuilt), NPZ export / import and bad input.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Store } from '../src/api/store.js';
import { cosine, encodeNpz, readEmbeddingsNpz, writeEmbeddingsNpz, type NpyArray } from '../src/embeddings/index.js';
import { decodeVector } from '../src/methods/embeddings/codec.js';
import { asyncErrCode, cliErr, cliOk, tempDir, useTestGloveCache } from './helpers.js';

useTestGloveCache();

const code = asyncErrCode;

const ROYAL = ['king', 'queen', 'man', 'woman', 'prince', 'princess', 'boy', 'girl', 'apple', 'car', 'dog', 'uncle', 'aunt'];

test('glove: similar, similarity, hybrid and analogy completion equal brute force', async () => {
  const store = await Store.init(join(tempDir(), 's'));
  for (const w of ROYAL) await store.concepts.add({ name: w, synset: ['apple', 'car'].includes(w) ? undefined : 'auto' });
  const all = await store.concepts.list();
  const vec = new Map(all.map((c) => [c.id, decodeVector(c.embedding!)]));
  const king = all.find((c) => c.name === 'king')!;

  // similar over the registry: brute-force cosine ranking, self excluded
  const expected = all
    .filter((c) => c.id !== king.id)
    .map((c) => ({ id: c.id, s: cosine(vec.get(king.id)!, vec.get(c.id)!) }))
    .sort((a, b) => b.s - a.s)
    .slice(0, 5);
  const got = await store.concepts.similar('king', { k: 5 });
  assert.deepEqual(got.results.map((r) => r.id), expected.map((e) => e.id));
  got.results.forEach((r, i) => assert.ok(Math.abs(r.score - expected[i].s) < 1e-5));
  assert.equal((await store.concepts.similar('king', { k: 1000 })).results.length, all.length - 1, 'k beyond the registry clamps');

  // vocabulary scope
  const voc = await store.concepts.similar('king', { k: 5, scope: 'vocabulary' });
  assert.ok(voc.results.some((r) => r.id === 'queen' || r.id === 'prince'));
  assert.ok(!voc.results.some((r) => r.id === 'king'));

  // similarity methods
  const cos = await store.embeddings.similarity('king', 'queen');
  assert.ok(Math.abs(cos.score - cosine(vec.get(king.id)!, vec.get(all.find((c) => c.name === 'queen')!.id)!)) < 1e-6);
  const eu = await store.embeddings.similarity('king', 'queen', { method: 'euclidean' });
  assert.equal(eu.kind, 'distance');
  assert.ok(Math.abs(eu.score - Math.sqrt(2 - 2 * cos.cosine)) < 1e-4, 'unit vectors: |a-b| = sqrt(2 - 2cos)');
  assert.ok((await store.embeddings.similarity('king', 'queen', { method: 'manhattan' })).score > eu.score);
  const hy = await store.embeddings.similarity('man', 'woman', { method: 'hybrid' });
  assert.equal(typeof hy.path_similarity, 'number');
  assert.ok(Math.abs(hy.score - (hy.cosine + (hy.path_similarity as number)) / 2) < 1e-12);
  assert.equal(hy.note, null);
  const hy2 = await store.embeddings.similarity('apple', 'car', { method: 'hybrid' });
  assert.equal(hy2.score, hy2.cosine);
  assert.match(hy2.note ?? '', /not WordNet-grounded.*equals cosine/);
  assert.equal(await code(() => store.embeddings.similarity('king', 'qqzxqzx')), 'NOT_IN_VOCABULARY');
  assert.equal(await code(() => store.embeddings.similarity('king', '')), 'INVALID_INPUT');

  // analogy completion over the registry: brute-force 3CosAdd
  const [a, b, c] = ['man', 'king', 'woman'].map((n) => all.find((x) => x.name === n)!.id);
  const brute = all
    .filter((x) => ![a, b, c].includes(x.id))
    .map((x) => {
      const v = vec.get(x.id)!;
      return { id: x.id, s: cosine(v, vec.get(b)!) - cosine(v, vec.get(a)!) + cosine(v, vec.get(c)!) };
    })
    .sort((p, q) => q.s - p.s);
  const comp = await store.embeddings.complete('man', 'king', 'woman', { k: 3 });
  assert.deepEqual(comp.results.map((r) => r.id), brute.slice(0, 3).map((x) => x.id));
  assert.equal(comp.results[0].name, 'queen');
  assert.ok(comp.trace.length >= 3);
  const vocab = await store.embeddings.complete('man', 'king', 'woman', { k: 3, scope: 'vocabulary', method: 'cosmul' });
  assert.equal(vocab.results[0].id, 'queen');
  assert.equal(await code(() => store.embeddings.complete('man', 'king', 'qqzxqzx', { scope: 'vocabulary' })), 'NOT_IN_VOCABULARY');
  assert.equal(await code(() => store.embeddings.complete('man', 'king', 'elephant')), 'NOT_IN_VOCABULARY');
  assert.equal(await code(() => store.embeddings.complete('man', 'king', 'woman', { k: 0 })), 'INVALID_INPUT');
  assert.equal(await code(() => store.embeddings.complete('man', 'king', 'woman', { k: 1e9 })), 'INVALID_INPUT');
  assert.equal(await code(() => store.concepts.similar('king', { k: -1 })), 'INVALID_INPUT');
  await store.close();
});

test('index: persisted beside the store, updated on add / delete, rebuilt by rebuild', async () => {
  const dir = join(tempDir(), 's');
  const store = await Store.init(dir);
  for (const w of ['alpha', 'beta', 'gamma', 'delta']) await store.concepts.add({ name: w }, { provider: 'hash', context: 'g' });
  const path = join(dir, 'contexts', 'g', 'vectors.index');
  assert.ok(existsSync(path));
  assert.equal(readEmbeddingsNpz(path).ids.length, 4, 'an exact index below the threshold is an npz');
  await store.concepts.delete('g:beta');
  assert.deepEqual(readEmbeddingsNpz(path).ids.sort(), ['g:alpha', 'g:delta', 'g:gamma']);
  assert.ok(!(await store.concepts.similar('alpha', { context: 'g', k: 10 })).results.some((r) => r.id === 'g:beta'));
  await store.concepts.restore('g:beta');
  const before = await store.concepts.similar('alpha', { context: 'g', k: 10 });
  assert.equal(before.results.length, 3);
  await store.rebuild();
  assert.deepEqual(await store.concepts.similar('alpha', { context: 'g', k: 10 }), before);
  assert.equal((await store.embeddings.index('g'))?.size, 4);
  assert.ok(existsSync(join(dir, 'contexts', 'g', 'embeddings.npz')), 'rebuild refreshes embeddings.npz');
  await store.close();
});

test('NPZ: export, import into another store, creation of missing concepts, bad files', async () => {
  const dir = tempDir();
  const s1 = await Store.init(join(dir, 's1'));
  for (const w of ['red', 'green', 'blue']) await s1.concepts.add({ name: w }, { provider: 'hash' });
  const out = join(dir, 'e.npz');
  const ex = await s1.embeddings.export(out);
  assert.equal(ex.count, 3);
  assert.equal(ex.dimension, 100);
  const table = readEmbeddingsNpz(out);
  assert.deepEqual(table.ids, ['default:blue', 'default:green', 'default:red']);
  assert.ok(existsSync(join(dir, 's1', 'contexts', 'default', 'embeddings.npz')));
  await s1.close();

  const s2 = await Store.init(join(dir, 's2'));
  await s2.concepts.add({ name: 'red', description: 'kept' }, { provider: 'glove' });
  const imp = await s2.embeddings.import(out);
  assert.equal(imp.count, 3);
  assert.equal(imp.created, 2);
  assert.equal(imp.updated, 1);
  const red = await s2.concepts.get('default:red');
  assert.equal(red.version, 2);
  assert.equal(red.description, 'kept');
  assert.equal(red.embedding?.provider, 'imported');
  const v = decodeVector(red.embedding!);
  assert.ok(Math.abs(cosine(v, table.vectors.subarray(200, 300)) - 1) < 1e-6);
  assert.equal((await s2.concepts.similar('red', { k: 2 })).results.length, 2);

  // names as ids: a 3-d file becomes an 'imported' context of dimension 3
  const small = join(dir, 'small.npz');
  writeEmbeddingsNpz(small, { ids: ['Sun', 'moon', 'Star Dust'], dimension: 3, vectors: Float32Array.from([1, 0, 0, 0.9, 0.1, 0, 0, 0, 1]) });
  const r3 = await s2.embeddings.import(small, 'sky');
  assert.equal(r3.dimension, 3);
  assert.deepEqual((await s2.concepts.list('sky')).map((c) => c.id).sort(), ['sky:moon', 'sky:star_dust', 'sky:sun']);
  assert.equal((await s2.concepts.similar('sun', { context: 'sky', k: 1 })).results[0].id, 'sky:moon');
  assert.equal(await code(() => s2.concepts.add({ name: 'comet' }, { context: 'sky' })), 'INVALID_INPUT', 'names cannot be embedded in an imported space');
  assert.equal(await code(() => s2.concepts.add({ name: 'comet' }, { context: 'sky', provider: 'glove' })), 'DIMENSION_MISMATCH');
  assert.equal(await code(() => s2.embeddings.similarity('sun', 'comet', { context: 'sky' })), 'NOT_IN_VOCABULARY');

  // dimension mismatch, NaN, truncated, not a zip
  assert.equal(await code(() => s2.embeddings.import(small)), 'DIMENSION_MISMATCH');
  const nan = join(dir, 'nan.npz');
  writeFileSync(
    nan,
    encodeNpz(
      new Map<string, NpyArray>([
        ['ids', { dtype: 'unicode', shape: [2], data: ['a', 'b'] }],
        ['vectors', { dtype: 'float32', shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, Number.NaN, 6]) }],
      ]),
    ),
  );
  assert.equal(await code(() => s2.embeddings.import(nan, 'sky')), 'INVALID_INPUT');
  const trunc = join(dir, 'trunc.npz');
  writeFileSync(trunc, readFileSync(out).subarray(0, 200));
  assert.notEqual(await code(() => s2.embeddings.import(trunc)), 'INTERNAL');
  const junk = join(dir, 'junk.npz');
  writeFileSync(junk, 'not a zip at all');
  assert.notEqual(await code(() => s2.embeddings.import(junk)), 'INTERNAL');
  assert.equal(await code(() => s2.embeddings.import(join(dir, 'missing.npz'))), 'FILE_NOT_FOUND');
  await s2.close();
});

test('CLI: similarity, analogy complete / eval, embeddings export / import', () => {
  const dir = tempDir();
  const store = join(dir, 's');
  cliOk(store, ['init']);
  for (const w of ['king', 'queen', 'man', 'woman', 'prince']) cliOk(store, ['concepts', 'add', w]);
  const sim = cliOk(store, ['similarity', 'king', 'queen', '--method', 'hybrid']);
  assert.equal(sim.method, 'hybrid');
  assert.match(sim.note, /equals cosine/);
  assert.equal(cliErr(store, ['similarity', 'king', 'zzqxq']).code, 'NOT_IN_VOCABULARY');
  assert.equal(cliErr(store, ['similarity', 'king', 'queen', '--method', 'jaccard']).code, 'INVALID_INPUT');
  const comp = cliOk(store, ['analogy', 'complete', 'man', 'king', 'woman', '--k', '1']);
  assert.equal(comp.results[0].name, 'queen');
  assert.equal(cliErr(store, ['analogy', 'complete', 'man', 'king', 'woman', '--k', '0']).code, 'INVALID_INPUT');
  const q = join(dir, 'q.txt');
  writeFileSync(q, ': capital-common-countries\nathens greece berlin germany\nparis france rome italy\n: gram-plural\ncar cars dog dogs\nqqzxq cars dog dogs\n');
  const ev = cliOk(store, ['analogy', 'eval', q, '--top', '30000']);
  assert.equal(ev.total.seen, 3);
  assert.equal(ev.total.skipped, 1);
  const npz = join(dir, 'e.npz');
  assert.equal(cliOk(store, ['embeddings', 'export', '--out', npz]).count, 5);
  const other = join(dir, 's2');
  cliOk(other, ['init']);
  assert.equal(cliOk(other, ['embeddings', 'import', npz]).created, 5);
  assert.equal(cliOk(other, ['concepts', 'similar', 'king', '--k', '1']).results[0].name, cliOk(store, ['concepts', 'similar', 'king', '--k', '1']).results[0].name);
});
