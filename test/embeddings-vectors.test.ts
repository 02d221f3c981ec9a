import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cosine, dot, euclidean, manhattan, normalize, norm } from '../src/embeddings/vector-math.js';
import { VectorSpace } from '../src/embeddings/vector-space.js';
import { exactSearch } from '../src/embeddings/exact-search.js';
import { HashProvider } from '../src/embeddings/hash-provider.js';
import { createVectorIndex, loadVectorIndex } from '../src/embeddings/vector-index.js';
import { HnswVectorIndex } from '../src/embeddings/hnsw-index.js';
import { ExactVectorIndex } from '../src/embeddings/exact-index.js';
import { createProvider } from '../src/embeddings/providers.js';
import { errCode as code } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'softlogic-vectors-test-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));


/** Deterministic pseudo-random unit vectors. */
function randomVectors(n: number, dim: number, seed = 7): Float32Array {
  let s = seed;
  const out = new Float32Array(n * dim);
  for (let i = 0; i < out.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    out[i] = s / 4294967296 - 0.5;
  }
  return out;
}

test('vector math', () => {
  assert.equal(dot([1, 2, 3], [4, 5, 6]), 32);
  assert.ok(Math.abs(cosine([1, 0], [1, 1]) - Math.SQRT1_2) < 1e-12);
  assert.equal(cosine([0, 0], [1, 1]), 0);
  assert.equal(euclidean([0, 0], [3, 4]), 5);
  assert.equal(manhattan([0, 0], [3, -4]), 7);
  assert.ok(Math.abs(norm(normalize([3, 4])) - 1) < 1e-6);
  assert.deepEqual(Array.from(normalize([0, 0])), [0, 0]);
  assert.equal(code(() => cosine([1, 2], [1, 2, 3])), 'DIMENSION_MISMATCH');
});

test('hash provider: deterministic, unit length, configurable, spelling-aware', () => {
  const p = new HashProvider();
  assert.equal(p.dimension, 100);
  const a = p.embed('Ice cream');
  assert.deepEqual(a, p.embed('ice_cream'));
  assert.equal(a.fallback, false);
  assert.ok(Math.abs(norm(a.vector) - 1) < 1e-6);
  assert.ok(cosine(p.embed('running').vector, p.embed('runner').vector) > cosine(p.embed('running').vector, p.embed('zebra').vector));
  assert.equal(new HashProvider({ dimension: 16 }).embed('x').vector.length, 16);
  // Stable across runs and platforms: pin a few components.
  assert.deepEqual(Array.from(new HashProvider({ dimension: 8 }).embed('KING').vector, (x) => Number(x.toFixed(4))), [0.5, 0, 0.25, -0.5, 0.25, -0.25, 0.25, -0.5]);
  assert.equal(code(() => p.embed('   ')), 'INVALID_INPUT');
  assert.equal(code(() => new HashProvider({ dimension: 0 })), 'INVALID_INPUT');
});

test('vector space: add normalises, replace, remove swaps last row in, bad input refused', () => {
  const s = new VectorSpace(2, 1);
  s.add('a', [3, 4]);
  s.add('b', [0, 2]);
  s.add('c', [1, 0]);
  assert.equal(s.size, 3);
  assert.deepEqual(Array.from(s.vector('a') ?? []), [0.6000000238418579, 0.800000011920929]);
  s.add('a', [1, 0]);
  assert.equal(s.size, 3);
  assert.ok(s.remove('a'));
  assert.equal(s.remove('a'), false);
  assert.deepEqual([...s.ids].sort(), ['b', 'c']);
  assert.deepEqual(Array.from(s.vector('c') ?? []), [1, 0]);
  assert.equal(code(() => s.add('d', [1, 2, 3])), 'DIMENSION_MISMATCH');
  assert.equal(code(() => s.add('d', [NaN, 1])), 'INVALID_INPUT');
  assert.equal(code(() => s.add('d', [0, 0])), 'INVALID_INPUT');
  assert.equal(code(() => s.add('', [1, 1])), 'INVALID_INPUT');
});

test('exact search equals a brute-force sort; k validation and clamping', () => {
  const dim = 16;
  const n = 3000;
  const data = randomVectors(n, dim);
  const s = new VectorSpace(dim);
  for (let i = 0; i < n; i++) s.add(`v${i}`, data.subarray(i * dim, (i + 1) * dim));
  const q = randomVectors(1, dim, 99);
  const hits = exactSearch(s, q, 10);
  const brute = Array.from({ length: n }, (_, i) => ({ id: `v${i}`, score: cosine(q, data.subarray(i * dim, (i + 1) * dim)) }))
    .sort((a, b) => b.score - a.score)
    .slice(0, 10);
  assert.deepEqual(hits.map((h) => h.id), brute.map((h) => h.id));
  hits.forEach((h, i) => assert.ok(Math.abs(h.score - brute[i].score) < 1e-5));
  assert.equal(code(() => exactSearch(s, q, 0)), 'INVALID_INPUT');
  assert.equal(code(() => exactSearch(s, q, -3)), 'INVALID_INPUT');
  assert.equal(code(() => exactSearch(s, q, 2.5)), 'INVALID_INPUT');
  assert.equal(exactSearch(s, q, 1e9).length, n);
  assert.equal(exactSearch(s, q, 5, { excludeRows: new Set([hits[0].row]) })[0].id, hits[1].id);
  assert.equal(code(() => exactSearch(s, [1, 2], 3)), 'DIMENSION_MISMATCH');
  assert.equal(code(() => exactSearch(s, new Float32Array(dim).fill(Infinity), 3)), 'INVALID_INPUT');
  assert.deepEqual(exactSearch(new VectorSpace(dim), q, 5), []);
});

test('createVectorIndex: exact below the threshold, HNSW above', () => {
  assert.ok(createVectorIndex(8) instanceof ExactVectorIndex);
  assert.ok(createVectorIndex(8, { expectedSize: 4999 }) instanceof ExactVectorIndex);
  assert.ok(createVectorIndex(8, { expectedSize: 5000 }) instanceof HnswVectorIndex);
  assert.ok(createVectorIndex(8, { expectedSize: 10, threshold: 5 }) instanceof HnswVectorIndex);
});

for (const kind of ['exact', 'hnsw'] as const) {
  test(`${kind} index: add, replace, remove, search, save, load, bad input`, () => {
    const dim = 24;
    const n = 2000;
    const data = randomVectors(n, dim, 3);
    const index = kind === 'exact' ? new ExactVectorIndex(dim) : new HnswVectorIndex(dim, { capacity: 100 });
    // Half one by one, half in bulk (the rebuild path).
    for (let i = 0; i < n / 2; i++) index.add(`w${i}`, data.subarray(i * dim, (i + 1) * dim));
    index.addAll(Array.from({ length: n / 2 }, (_, i) => `w${n / 2 + i}`), data.subarray((n / 2) * dim));
    assert.equal(index.size, n);
    assert.equal(code(() => index.addAll(['a', 'b'], new Float32Array(dim))), 'DIMENSION_MISMATCH');
    const reference = new ExactVectorIndex(dim);
    for (let i = 0; i < n; i++) reference.add(`w${i}`, data.subarray(i * dim, (i + 1) * dim));
    // Recall@10 against exact over 50 queries.
    let hit = 0;
    for (let q = 0; q < 50; q++) {
      const query = randomVectors(1, dim, 1000 + q);
      const truth = new Set(reference.search(query, 10).map((h) => h.id));
      hit += index.search(query, 10).filter((h) => truth.has(h.id)).length;
    }
    assert.ok(hit / 500 >= 0.95, `recall ${hit / 500}`);
    const self = index.search(data.subarray(5 * dim, 6 * dim), 1)[0];
    assert.equal(self.id, 'w5');
    assert.ok(Math.abs(self.score - 1) < 1e-5);
    assert.ok(index.remove('w5'));
    assert.equal(index.remove('w5'), false);
    assert.notEqual(index.search(data.subarray(5 * dim, 6 * dim), 1)[0].id, 'w5');
    index.add('w5', data.subarray(6 * dim, 7 * dim)); // re-added, reusing a deleted slot
    assert.equal(index.size, n);
    assert.deepEqual(new Set(index.search(data.subarray(6 * dim, 7 * dim), 2).map((h) => h.id)), new Set(['w5', 'w6']));
    // k clamps to the size; a graph search asked for everything may miss a few unreachable nodes.
    const all = index.search(data.subarray(0, dim), 1e9).length;
    assert.ok(kind === 'exact' ? all === n : all >= n * 0.99 && all <= n, `${all} results`);
    assert.equal(code(() => index.search(data.subarray(0, dim), 0)), 'INVALID_INPUT');
    assert.equal(code(() => index.search([1, 2, 3], 1)), 'DIMENSION_MISMATCH');
    assert.equal(code(() => index.add('x', [1, 2, 3])), 'DIMENSION_MISMATCH');
    const file = join(dir, `${kind}.index`);
    index.save(file);
    const back = loadVectorIndex(file);
    assert.equal(back.kind, kind);
    assert.equal(back.size, n);
    const q = randomVectors(1, dim, 4242);
    assert.deepEqual(back.search(q, 10).map((h) => h.id), index.search(q, 10).map((h) => h.id));
    back.add('new', q);
    assert.equal(back.search(q, 1)[0].id, 'new');
    const wrongDim = kind === 'exact' ? new ExactVectorIndex(dim + 1) : new HnswVectorIndex(dim + 1);
    assert.equal(code(() => wrongDim.load(file)), 'DIMENSION_MISMATCH');
    if (kind === 'hnsw') {
      writeFileSync(file, 'garbage');
      assert.equal(code(() => loadVectorIndex(file)), 'INTEGRITY');
    }
  });
}

test('createProvider: by name, dimension recorded per context is enforced', () => {
  const p = createProvider({ name: 'hash', dimension: 32 });
  assert.equal(p.name, 'hash');
  assert.equal(p.dimension, 32);
  assert.equal(code(() => createProvider({ name: 'word2vec' })), 'INVALID_INPUT');
});
