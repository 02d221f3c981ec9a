/**
 * k-means over concept vectors, with k-means++ seeding from a seeded PRNG so that the same input
 * and seed always give the same clusters (semantic fields must not change between runs).
 *
 * Metrics:
 * - `cosine` (default; embeddings are compared by direction): rows are normalized, a point goes to
 *   the centroid of highest dot product, and each centroid is the normalized mean of its members
 *   (spherical k-means). The distance minimized is 1 - cos.
 * - `euclidean`: rows are used as given, centroids are plain means, distance is squared euclidean.
 *
 * Whatever the metric, the quality figures are cosines, so they read the same way:
 * - strength of a member = cos(member, its centroid);
 * - coherence of a cluster = mean strength of its members;
 * - distinctiveness of a cluster = 1 - max cos(its centroid, any other centroid), clamped to [0, 1]
 *   (1 when k = 1: nothing to be confused with).
 */
import { SoftlogicError } from '../core/errors.js';
import { createRng, DEFAULT_SEED, type Rng } from './random.js';
import { checkMatrix, unitRows, type VectorMatrix } from '../embeddings/vector-math.js';

export type { VectorMatrix } from '../embeddings/vector-math.js';

export type KMeansMetric = 'cosine' | 'euclidean';

export interface KMeansOptions {
  k: number;
  metric?: KMeansMetric;
  /** Lloyd iterations per run, default 100; a run also stops when no assignment changes. */
  maxIterations?: number;
  /** PRNG seed for k-means++, default 42. */
  seed?: number;
  /**
   * Independent seedings (from one PRNG stream); the run of lowest inertia wins. Default 1: with
   * k-means++ seeding one run is usually enough (scikit-learn made the same choice).
   */
  restarts?: number;
}

export interface KMeansResult {
  k: number;
  n: number;
  dim: number;
  metric: KMeansMetric;
  seed: number;
  /** Cluster index of each row. */
  assignments: Int32Array;
  /** k x dim, row-major; unit length for cosine. */
  centroids: Float32Array;
  sizes: Int32Array;
  /** cos(row, its centroid) per row. */
  strengths: Float32Array;
  /** Per cluster: mean member strength. */
  coherence: number[];
  /** Per cluster: 1 - max cosine to another centroid, in [0, 1]. */
  distinctiveness: number[];
  /** Sum of the minimized distance (1 - cos, or squared euclidean) over all rows. */
  inertia: number;
  /** Iterations of the winning run. */
  iterations: number;
  /** Whether the winning run stopped because assignments no longer changed. */
  converged: boolean;
}

interface Run {
  assignments: Int32Array;
  centroids: Float32Array;
  inertia: number;
  iterations: number;
  converged: boolean;
}

export function kmeans(matrix: VectorMatrix, options: KMeansOptions): KMeansResult {
  checkMatrix(matrix);
  const { n, dim } = matrix;
  const k = options.k;
  const metric = options.metric ?? 'cosine';
  const maxIterations = options.maxIterations ?? 100;
  const restarts = options.restarts ?? 1;
  const seed = options.seed ?? DEFAULT_SEED;
  if (n === 0) throw new SoftlogicError('INVALID_INPUT', 'k-means needs at least one vector; there are none', { n });
  if (!Number.isInteger(k) || k <= 0) {
    throw new SoftlogicError('INVALID_INPUT', `k must be a positive integer, got ${k}`, { k });
  }
  if (k > n) {
    throw new SoftlogicError('INVALID_INPUT', `k = ${k} is larger than the number of vectors (${n})`, { k, n });
  }
  if (metric !== 'cosine' && metric !== 'euclidean') {
    throw new SoftlogicError('INVALID_INPUT', `unknown metric "${String(metric)}" (cosine or euclidean)`, { metric });
  }
  if (!Number.isInteger(maxIterations) || maxIterations < 1) {
    throw new SoftlogicError('INVALID_INPUT', `maxIterations must be a positive integer, got ${maxIterations}`);
  }
  if (!Number.isInteger(restarts) || restarts < 1) {
    throw new SoftlogicError('INVALID_INPUT', `restarts must be a positive integer, got ${restarts}`);
  }

  const data = metric === 'cosine' ? unitRows(matrix) : matrix.data;
  // Squared norms of rows, for the euclidean expansion |x-c|^2 = |x|^2 - 2 x.c + |c|^2.
  const rowSq = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    const o = i * dim;
    for (let j = 0; j < dim; j++) s += data[o + j] * data[o + j];
    rowSq[i] = s;
  }
  const rng = createRng(seed);
  let best: Run | undefined;
  for (let r = 0; r < restarts; r++) {
    const run = lloyd({ data, rowSq, n, dim, k, metric }, maxIterations, rng);
    if (!best || run.inertia < best.inertia) best = run;
  }
  const win = best as Run;

  const strengths = new Float32Array(n);
  const sizes = new Int32Array(k);
  const strengthSum = new Float64Array(k);
  const cNorm = new Float64Array(k);
  for (let c = 0; c < k; c++) cNorm[c] = Math.sqrt(dotRows(win.centroids, c * dim, win.centroids, c * dim, dim));
  for (let i = 0; i < n; i++) {
    const c = win.assignments[i];
    const denom = Math.sqrt(rowSq[i]) * cNorm[c];
    const s = denom > 0 ? dotRows(data, i * dim, win.centroids, c * dim, dim) / denom : 0;
    strengths[i] = s;
    sizes[c] += 1;
    strengthSum[c] += s;
  }
  const coherence = Array.from(strengthSum, (s, c) => (sizes[c] > 0 ? s / sizes[c] : 0));
  const distinctiveness: number[] = [];
  for (let a = 0; a < k; a++) {
    let maxCos = -1;
    for (let b = 0; b < k; b++) {
      if (a === b) continue;
      const denom = cNorm[a] * cNorm[b];
      const cos = denom > 0 ? dotRows(win.centroids, a * dim, win.centroids, b * dim, dim) / denom : 0;
      if (cos > maxCos) maxCos = cos;
    }
    distinctiveness.push(k === 1 ? 1 : Math.min(1, Math.max(0, 1 - maxCos)));
  }
  return {
    k,
    n,
    dim,
    metric,
    seed,
    assignments: win.assignments,
    centroids: win.centroids,
    sizes,
    strengths,
    coherence,
    distinctiveness,
    inertia: win.inertia,
    iterations: win.iterations,
    converged: win.converged,
  };
}

function dotRows(a: Float32Array, ao: number, b: Float32Array, bo: number, dim: number): number {
  let s = 0;
  for (let j = 0; j < dim; j++) s += a[ao + j] * b[bo + j];
  return s;
}

/** Distance of row i to centroid c under the metric (1 - cos for unit rows, else squared euclidean). */
function distance(
  data: Float32Array,
  rowSq: Float64Array,
  i: number,
  cents: Float32Array,
  centSq: Float64Array,
  c: number,
  dim: number,
  metric: KMeansMetric,
): number {
  const d = dotRows(data, i * dim, cents, c * dim, dim);
  if (metric === 'cosine') return 1 - d;
  // Rounding can push the expansion slightly below zero for coincident points.
  return Math.max(0, rowSq[i] - 2 * d + centSq[c]);
}

/** The rows being clustered (unit rows in cosine mode), their squared norms, and k. */
interface Points {
  data: Float32Array;
  rowSq: Float64Array;
  n: number;
  dim: number;
  k: number;
  metric: KMeansMetric;
}

/**
 * Greedy k-means++ (Arthur & Vassilvitskii 2007, as scikit-learn runs it): the first centre is
 * uniform; each next one is the best of 2 + ln k candidates drawn with probability proportional
 * to D(x) (1 - cos, or squared euclidean), "best" meaning the one that lowers the total D most.
 * Plain k-means++ too often puts two seeds in one group and none in another, and one Lloyd run
 * cannot undo that; the extra candidates cost a few passes over the data.
 */
function seedPlusPlus(points: Points, rng: Rng): Float32Array {
  const { data, rowSq, n, dim, k, metric } = points;
  const cents = new Float32Array(k * dim);
  const one = new Float64Array(1);
  const minD = new Float64Array(n);
  const trial = new Float64Array(n);
  const bestTrial = new Float64Array(n);
  const trials = 2 + Math.floor(Math.log(k));
  /** D of every row to row `p` (as a centre) into `out`; returns the total of min(current, that). */
  const potentialWith = (p: number, out: Float64Array, current: Float64Array | undefined): number => {
    one[0] = rowSq[p];
    const centre = data.subarray(p * dim, (p + 1) * dim);
    let total = 0;
    for (let i = 0; i < n; i++) {
      const d = distance(data, rowSq, i, centre, one, 0, dim, metric);
      const m = current ? Math.min(current[i], d) : d;
      out[i] = m;
      total += Math.max(0, m);
    }
    return total;
  };
  let pick = Math.floor(rng() * n);
  cents.set(data.subarray(pick * dim, (pick + 1) * dim), 0);
  let total = potentialWith(pick, minD, undefined);
  for (let c = 1; c < k; c++) {
    if (total <= 0) {
      // Every point coincides with a centre already: any choice is as good; keep it seeded.
      pick = Math.floor(rng() * n);
    } else {
      let bestTotal = Infinity;
      for (let t = 0; t < trials; t++) {
        let target = rng() * total;
        let cand = n - 1;
        for (let i = 0; i < n; i++) {
          target -= Math.max(0, minD[i]);
          if (target < 0) {
            cand = i;
            break;
          }
        }
        const candTotal = potentialWith(cand, trial, minD);
        if (candTotal < bestTotal) {
          bestTotal = candTotal;
          pick = cand;
          bestTrial.set(trial);
        }
      }
      minD.set(bestTrial);
      total = bestTotal;
    }
    cents.set(data.subarray(pick * dim, (pick + 1) * dim), c * dim);
    if (total <= 0) total = potentialWith(pick, minD, minD);
  }
  return cents;
}

/**
 * Lloyd's iterations with Hamerly's bounds (2010): each point keeps an upper bound on the distance
 * to its centre and a lower bound on the distance to any other centre; when the bounds show the
 * assignment cannot change the point is skipped, so late iterations touch few points. The bounds
 * need a true metric, so both modes work in euclidean distance: for unit rows and unit centroids
 * (cosine mode) |x - c|^2 = 2 - 2 cos, which orders centres exactly as 1 - cos does.
 */
function lloyd(points: Points, maxIterations: number, rng: Rng): Run {
  const { data, rowSq, n, dim, k, metric } = points;
  const cents = seedPlusPlus(points, rng);
  const old = new Float32Array(k * dim);
  const centSq = new Float64Array(k);
  const assignments = new Int32Array(n);
  const upper = new Float64Array(n);
  const lower = new Float64Array(n);
  const moved = new Float64Array(k);
  const half = new Float64Array(k);
  const sums = new Float64Array(k * dim);
  const counts = new Int32Array(k);
  // Float rounding in the bounds must only ever cause extra work, never a wrong skip.
  const EPS = 1e-6;

  const updateCentSq = (): void => {
    for (let c = 0; c < k; c++) centSq[c] = dotRows(cents, c * dim, cents, c * dim, dim);
  };
  const dist = (i: number, c: number): number =>
    Math.sqrt(Math.max(0, rowSq[i] - 2 * dotRows(data, i * dim, cents, c * dim, dim) + centSq[c]));
  /** Exact scan of every centre for row i: sets its assignment and both bounds. */
  const scan = (i: number): void => {
    const o = i * dim;
    let b1 = Infinity;
    let b2 = Infinity;
    let bc = 0;
    // The hot loop: dot products inlined (a call per pair costs ~2x at dim 100).
    for (let c = 0; c < k; c++) {
      const co = c * dim;
      let d0 = 0;
      let d1 = 0;
      let j = 0;
      for (; j + 1 < dim; j += 2) {
        d0 += data[o + j] * cents[co + j];
        d1 += data[o + j + 1] * cents[co + j + 1];
      }
      if (j < dim) d0 += data[o + j] * cents[co + j];
      const d2 = Math.max(0, rowSq[i] - 2 * (d0 + d1) + centSq[c]);
      if (d2 < b1) {
        b2 = b1;
        b1 = d2;
        bc = c;
      } else if (d2 < b2) {
        b2 = d2;
      }
    }
    assignments[i] = bc;
    upper[i] = Math.sqrt(b1);
    lower[i] = Math.sqrt(b2);
  };
  const recomputeCentres = (): void => {
    old.set(cents);
    sums.fill(0);
    counts.fill(0);
    for (let i = 0; i < n; i++) {
      const c = assignments[i];
      counts[c] += 1;
      const o = i * dim;
      const co = c * dim;
      for (let j = 0; j < dim; j++) sums[co + j] += data[o + j];
    }
    for (let c = 0; c < k; c++) {
      const co = c * dim;
      if (counts[c] === 0) {
        // An empty cluster takes the point worst served by its centre, so k clusters stay k.
        let far = 0;
        for (let i = 1; i < n; i++) if (upper[i] > upper[far]) far = i;
        upper[far] = 0;
        cents.set(data.subarray(far * dim, (far + 1) * dim), co);
        continue;
      }
      let inv = 1 / counts[c];
      if (metric === 'cosine') {
        let s = 0;
        for (let j = 0; j < dim; j++) s += sums[co + j] * sums[co + j];
        inv = s > 0 ? 1 / Math.sqrt(s) : 0;
      }
      for (let j = 0; j < dim; j++) cents[co + j] = sums[co + j] * inv;
    }
    updateCentSq();
    for (let c = 0; c < k; c++) {
      let s = 0;
      const co = c * dim;
      for (let j = 0; j < dim; j++) {
        const d = cents[co + j] - old[co + j];
        s += d * d;
      }
      moved[c] = Math.sqrt(s);
    }
  };

  updateCentSq();
  for (let i = 0; i < n; i++) scan(i);
  let iterations = 1;
  let converged = false;
  while (true) {
    if (iterations >= maxIterations) break;
    recomputeCentres();
    // Bounds follow the centres: the own centre moved at most moved[a], any other at most the
    // largest move among the others.
    let m1 = 0;
    let m2 = 0;
    let r = -1;
    for (let c = 0; c < k; c++) {
      if (moved[c] > m1) {
        m2 = m1;
        m1 = moved[c];
        r = c;
      } else if (moved[c] > m2) {
        m2 = moved[c];
      }
    }
    for (let c = 0; c < k; c++) {
      let nearest = Infinity;
      for (let c2 = 0; c2 < k; c2++) {
        if (c2 === c) continue;
        const d = Math.sqrt(Math.max(0, centSq[c] - 2 * dotRows(cents, c * dim, cents, c2 * dim, dim) + centSq[c2]));
        if (d < nearest) nearest = d;
      }
      half[c] = nearest / 2;
    }
    let changed = 0;
    for (let i = 0; i < n; i++) {
      const a = assignments[i];
      upper[i] += moved[a];
      lower[i] -= a === r ? m2 : m1;
      const bound = Math.max(half[a], lower[i]);
      if (upper[i] + EPS <= bound) continue;
      upper[i] = dist(i, a);
      if (upper[i] + EPS <= bound) continue;
      scan(i);
      if (assignments[i] !== a) changed += 1;
    }
    iterations += 1;
    if (changed === 0) {
      converged = true;
      break;
    }
  }
  // Leave centres consistent with the final assignments (a no-op after convergence).
  if (!converged) recomputeCentres();
  else updateCentSq();
  let inertia = 0;
  for (let i = 0; i < n; i++) {
    const c = assignments[i];
    const dp = dotRows(data, i * dim, cents, c * dim, dim);
    inertia += metric === 'cosine' ? 1 - dp : Math.max(0, rowSq[i] - 2 * dp + centSq[c]);
  }
  return { assignments, centroids: cents, inertia, iterations, converged };
}
