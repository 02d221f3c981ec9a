/**
 * Exact top-k by cosine over a VectorSpace: the answer below the index threshold and the reference
 * that HNSW recall is measured against. Rows are unit length, so cosine is a dot product.
 */
import { SoftlogicError } from '../core/errors.js';
import type { VectorSpace } from './vector-space.js';
import { assertFinite, normalize } from './vector-math.js';
import type { Vector } from './vector-math.js';

export interface Neighbor {
  id: string;
  row: number;
  score: number;
}

export interface ExactSearchOptions {
  /** Rows that may never be returned (e.g. the query's own row, analogy question words). */
  excludeRows?: ReadonlySet<number>;
  /** Only the first `limit` rows are searched (vocabulary restricted to the most frequent words). */
  limit?: number;
}

/** Validates k: k <= 0 or non-integer is an error, k beyond the space clamps to its size. */
export function validateK(k: number, size: number): number {
  if (!Number.isInteger(k) || k <= 0) {
    throw new SoftlogicError('INVALID_INPUT', `k must be a positive integer, got ${k}`, { k });
  }
  return Math.min(k, size);
}

/**
 * A bounded min-heap of (score, row): the root is the weakest of the current best k, so a
 * candidate is one comparison away from rejection, which is the common case.
 */
export class TopK {
  readonly scores: Float64Array;
  readonly rows: Int32Array;
  size = 0;

  constructor(readonly k: number) {
    this.scores = new Float64Array(k);
    this.rows = new Int32Array(k);
  }

  /** The score a candidate must beat to enter. */
  get threshold(): number {
    return this.size < this.k ? -Infinity : this.scores[0];
  }

  push(score: number, row: number): void {
    if (this.size < this.k) {
      let i = this.size++;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (this.scores[p] <= score) break;
        this.scores[i] = this.scores[p];
        this.rows[i] = this.rows[p];
        i = p;
      }
      this.scores[i] = score;
      this.rows[i] = row;
    } else if (score > this.scores[0]) {
      let i = 0;
      const n = this.size;
      while (true) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && this.scores[r] < this.scores[l] ? r : l;
        if (this.scores[c] >= score) break;
        this.scores[i] = this.scores[c];
        this.rows[i] = this.rows[c];
        i = c;
      }
      this.scores[i] = score;
      this.rows[i] = row;
    }
  }

  /** Best first; ties broken by lower row (more frequent word) for deterministic output. */
  sorted(): Array<{ row: number; score: number }> {
    const out: Array<{ row: number; score: number }> = [];
    for (let i = 0; i < this.size; i++) out.push({ row: this.rows[i], score: this.scores[i] });
    return out.sort((a, b) => b.score - a.score || a.row - b.row);
  }
}

const BLOCK_ROWS = 4096;

/**
 * Dot products of rows [start, end) with q into out[0..]. Four rows per pass share each load of
 * q[d]: ~1.7x faster than one row at a time in V8.
 */
function scoreRows(m: Float32Array, start: number, end: number, dim: number, q: Float32Array, out: Float64Array): void {
  let r = start;
  for (; r + 3 < end; r += 4) {
    const o0 = r * dim;
    const o1 = o0 + dim;
    const o2 = o1 + dim;
    const o3 = o2 + dim;
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (let d = 0; d < dim; d++) {
      const v = q[d];
      s0 += m[o0 + d] * v;
      s1 += m[o1 + d] * v;
      s2 += m[o2 + d] * v;
      s3 += m[o3 + d] * v;
    }
    out[r - start] = s0;
    out[r - start + 1] = s1;
    out[r - start + 2] = s2;
    out[r - start + 3] = s3;
  }
  for (; r < end; r++) {
    const o = r * dim;
    let s = 0;
    for (let d = 0; d < dim; d++) s += m[o + d] * q[d];
    out[r - start] = s;
  }
}

/**
 * Scores rows in blocks into a small buffer, then selects: the scoring loop stays branch-free and
 * the heap only sees each block's survivors above the running threshold.
 */
export function exactSearch(space: VectorSpace, query: Vector, k: number, options: ExactSearchOptions = {}): Neighbor[] {
  const dim = space.dimension;
  if (query.length !== dim) {
    throw new SoftlogicError('DIMENSION_MISMATCH', `query has ${query.length} dimensions, the space has ${dim}`, {
      expected: dim,
      actual: query.length,
    });
  }
  assertFinite(query, 'query vector');
  const rows = Math.min(options.limit ?? space.size, space.size);
  const exclude = options.excludeRows;
  const kk = validateK(k, Math.max(0, rows - (exclude?.size ?? 0)));
  if (kk === 0) return [];
  const q = normalize(query);
  const m = space.matrix;
  const heap = new TopK(kk);
  const scores = new Float64Array(BLOCK_ROWS);
  for (let start = 0; start < rows; start += BLOCK_ROWS) {
    const end = Math.min(rows, start + BLOCK_ROWS);
    scoreRows(m, start, end, dim, q, scores);
    for (let r = start; r < end; r++) {
      const s = scores[r - start];
      if (s > heap.threshold && !(exclude && exclude.has(r))) heap.push(s, r);
    }
  }
  return heap.sorted().map(({ row, score }) => ({ id: space.idAt(row), row, score }));
}
