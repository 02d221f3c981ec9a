import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SoftlogicError } from '../src/core/errors.js';
import { kmeans, type KMeansResult } from '../src/reasoning/kmeans.js';
import { createRng } from '../src/reasoning/random.js';

/** `perGroup` noisy points around each of `groups` random directions, labels by group. */
function groupedVectors(groups: number, perGroup: number, dim: number, noise: number, seed = 1) {
  const rng = createRng(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
  const centres = Array.from({ length: groups }, () => Array.from({ length: dim }, gauss));
  const n = groups * perGroup;
  const data = new Float32Array(n * dim);
  const labels: number[] = [];
  for (let i = 0; i < n; i++) {
    const g = i % groups;
    labels.push(g);
    for (let j = 0; j < dim; j++) data[i * dim + j] = centres[g][j] + noise * gauss();
  }
  return { data, n, dim, labels };
}

function purity(r: KMeansResult, labels: number[]): number {
  let total = 0;
  for (let c = 0; c < r.k; c++) {
    const counts = new Map<number, number>();
    labels.forEach((l, i) => {
      if (r.assignments[i] === c) counts.set(l, (counts.get(l) ?? 0) + 1);
    });
    total += Math.max(0, ...counts.values());
  }
  return total / labels.length;
}

function code(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    assert.ok(err instanceof SoftlogicError);
    return err.code;
  }
}

test('three well-separated groups are recovered (purity >= 0.9), cosine and euclidean', () => {
  const { data, n, dim, labels } = groupedVectors(3, 40, 50, 0.5);
  for (const metric of ['cosine', 'euclidean'] as const) {
    const r = kmeans({ data, n, dim }, { k: 3, metric });
    assert.ok(purity(r, labels) >= 0.9, `${metric} purity ${purity(r, labels)}`);
    assert.equal(r.sizes.reduce((a, b) => a + b, 0), n);
    assert.ok(r.converged);
    for (let c = 0; c < 3; c++) {
      assert.ok(r.coherence[c] > 0.5 && r.coherence[c] <= 1, `coherence ${r.coherence[c]}`);
      assert.ok(r.distinctiveness[c] > 0.5 && r.distinctiveness[c] <= 1, `distinctiveness ${r.distinctiveness[c]}`);
    }
    for (const s of r.strengths) assert.ok(s >= -1 && s <= 1.000001);
  }
});

test('same seed gives identical results; the result does not depend on Math.random', () => {
  const { data, n, dim } = groupedVectors(4, 50, 20, 1.5, 9);
  const a = kmeans({ data, n, dim }, { k: 4 });
  const saved = Math.random;
  Math.random = () => 0.123;
  try {
    const b = kmeans({ data, n, dim }, { k: 4 });
    assert.deepEqual(Array.from(a.assignments), Array.from(b.assignments));
    assert.deepEqual(Array.from(a.centroids), Array.from(b.centroids));
    assert.equal(a.inertia, b.inertia);
  } finally {
    Math.random = saved;
  }
  const c = kmeans({ data, n, dim }, { k: 4, seed: 1234, restarts: 3 });
  assert.equal(c.seed, 1234);
  assert.equal(c.k, 4);
});

test('centroids are unit length under cosine; k = 1 and k = n work', () => {
  const { data, n, dim } = groupedVectors(2, 5, 8, 0.3);
  const r = kmeans({ data, n, dim }, { k: 2 });
  for (let c = 0; c < 2; c++) {
    let s = 0;
    for (let j = 0; j < dim; j++) s += r.centroids[c * dim + j] ** 2;
    assert.ok(Math.abs(Math.sqrt(s) - 1) < 1e-5);
  }
  const one = kmeans({ data, n, dim }, { k: 1 });
  assert.deepEqual(one.distinctiveness, [1]);
  const all = kmeans({ data, n, dim }, { k: n });
  assert.deepEqual([...all.sizes], new Array(n).fill(1));
});

test('bad k and bad input are clear INVALID_INPUT errors', () => {
  const { data, n, dim } = groupedVectors(2, 3, 4, 0.1);
  assert.equal(code(() => kmeans({ data, n, dim }, { k: 0 })), 'INVALID_INPUT');
  assert.equal(code(() => kmeans({ data, n, dim }, { k: -2 })), 'INVALID_INPUT');
  assert.equal(code(() => kmeans({ data, n, dim }, { k: 1.5 })), 'INVALID_INPUT');
  assert.throws(() => kmeans({ data, n, dim }, { k: 7 }), /k = 7 is larger than the number of vectors \(6\)/);
  assert.equal(code(() => kmeans({ data: new Float32Array(0), n: 0, dim: 4 }, { k: 1 })), 'INVALID_INPUT');
  assert.equal(code(() => kmeans({ data, n: 5, dim }, { k: 2 })), 'DIMENSION_MISMATCH');
  const nan = Float32Array.from(data);
  nan[5] = NaN;
  assert.throws(() => kmeans({ data: nan, n, dim }, { k: 2 }), /row 1 holds a non-finite value/);
  assert.equal(code(() => kmeans({ data, n, dim }, { k: 2, maxIterations: 0 })), 'INVALID_INPUT');
});

test('10,000 x 100 with k = 10 runs well under the 10 s budget', () => {
  const { data, n, dim } = groupedVectors(10, 1000, 100, 1.5, 3);
  const t0 = performance.now();
  const r = kmeans({ data, n, dim }, { k: 10 });
  const ms = performance.now() - t0;
  assert.equal(r.n, 10000);
  // The budget itself: a loaded machine (the suite runs beside other work) must not fail it, a
  // quadratic step (~100x the work) still does.
  assert.ok(ms < 10_000, `took ${ms.toFixed(0)} ms`);
});
