/**
 * Batch analogy answering over the top rows of a vocabulary: the engine of `analogy eval`.
 *
 * One pass over the vocabulary matrix answers a whole batch of questions: the matrix, a block of
 * rows at a time, is multiplied against the batch's query vectors (WebAssembly SIMD, simd-dots.ts,
 * float32). Question files reuse their words heavily (the Google set: 19,544 questions over ~900
 * words), so the queries are the batch's DISTINCT words and each question combines its three
 * columns per candidate (3CosAdd or 3CosMul); for 3CosAdd, when a batch has fewer questions than
 * distinct words, the folded query b - a + c (one column per question) is narrower. Given
 * `queries` (one vector per question), candidates are scored by x . query (3CosAvg).
 *
 * The float32 scores only choose candidates: every candidate within a margin of a question's best
 * (far wider than the float32 error) is kept in a small bounded list, and the list is scored again
 * exactly, in doubles, as `complete` and a plain loop score (analogyScore of the three cosines),
 * so the answers are those of the exact computation: ties go to the earliest (most frequent) row.
 * A question whose list overflows (hundreds of near-ties) is scored exactly over all rows.
 */
import { SoftlogicError } from '../core/errors.js';
import type { VectorSpace } from './vector-space.js';
import { analogyScore, COSMUL_EPSILON, type AnalogyMethod } from './analogy-completion.js';
import { simdDots } from './simd-dots.js';

/** Rows per pass (even: the kernel takes rows in pairs); 256 x 100-d floats = 100 KB. */
const ROW_BLOCK = 256;
/** Queries per kernel call (a multiple of 4): 32 x 100-d floats = 12.5 KB stays in L1 while rows stream past. */
const QUERY_CHUNK = 32;
/** Caps per batch: distinct word vectors (the product's width) and questions. */
const MAX_COLUMNS = 512;
const MAX_QUESTIONS = 4096;
/**
 * Candidates kept per question. A float32 cosine of unit 100-d vectors is within ~2e-6 of the
 * double one; the margins below are tens of times that (3CosMul's relative margin allows for
 * cosines down to -0.98 in its terms).
 */
const CAP = 64;
const MARGIN_ADD = 1e-4;
const MARGIN_MUL = 1e-2;

function dotRows(m: Float32Array, dim: number, r: number, s: number): number {
  let acc = 0;
  for (let d = 0; d < dim; d++) acc += m[r * dim + d] * m[s * dim + d];
  return acc;
}

/** The exact (double) score of candidate row r, as a plain loop computes it. */
function exactScore(m: Float32Array, dim: number, r: number, ra: number, rb: number, rc: number, method: AnalogyMethod, query: Float64Array | undefined, qOff: number): number {
  if (query) {
    let acc = 0;
    for (let d = 0; d < dim; d++) acc += m[r * dim + d] * query[qOff + d];
    return acc;
  }
  return analogyScore(method, dotRows(m, dim, r, ra), dotRows(m, dim, r, rb), dotRows(m, dim, r, rc));
}

/**
 * Predicts the answer row for each question (rows of a, b, c given), over rows [0, top).
 * Exposed for benchmarks and tests; `evaluateAnalogies` is the user-facing entry point.
 */
export function predictBatch(space: VectorSpace, rows: Int32Array, top: number, method: AnalogyMethod, queries?: Float64Array): Int32Array {
  const simd = simdDots();
  if (!simd) throw new SoftlogicError('INTERNAL', 'analogy evaluation needs WebAssembly SIMD (Node 20 or later)');
  const dim = space.dimension;
  const m = space.matrix;
  const count = rows.length / 3;
  const predicted = new Int32Array(count).fill(-1);
  if (count === 0 || top <= 0) return predicted;
  // The kernel's layout: rows padded to a multiple of 4 floats, an even number of them.
  const dimP = Math.ceil(dim / 4) * 4;
  const rowsP = top + (top % 2);
  const maxQ = Math.max(MAX_COLUMNS, MAX_QUESTIONS);
  const matrixBytes = rowsP * dimP * 4;
  const qBase = matrixBytes;
  const outBase = qBase + maxQ * dimP * 4;
  simd.reserve(outBase + maxQ * ROW_BLOCK * 4);
  const heap = new Float32Array(simd.memory.buffer);
  if (dimP === dim) heap.set(m.subarray(0, top * dim));
  else for (let r = 0; r < top; r++) heap.set(m.subarray(r * dim, (r + 1) * dim), r * dimP);
  heap.fill(0, top * dimP, rowsP * dimP);
  const qs = heap.subarray(qBase / 4, outBase / 4);
  const out = heap.subarray(outBase / 4);

  const best = new Float64Array(MAX_QUESTIONS);
  const candRow = new Int32Array(MAX_QUESTIONS * CAP);
  const candScore = new Float64Array(MAX_QUESTIONS * CAP);
  const candCount = new Int32Array(MAX_QUESTIONS);
  const overflow = new Uint8Array(MAX_QUESTIONS);
  const qCol = new Int32Array(MAX_QUESTIONS * 3);
  const folded64 = new Float64Array(dim);

  // Query `col`'s value at dimension d, in the kernel's quad-interleaved layout.
  const put = (col: number, d: number, v: number): void => {
    qs[(col >> 2) * dimP * 4 + (d >> 2) * 16 + (col & 3) * 4 + (d & 3)] = v;
  };

  let start = 0;
  while (start < count) {
    // Grow the batch until it would need more than MAX_COLUMNS distinct words.
    const column = new Map<number, number>();
    let end = start;
    while (end < count && end - start < MAX_QUESTIONS) {
      let fresh = 0;
      for (let t = 0; t < 3; t++) if (!column.has(rows[end * 3 + t])) fresh++;
      if (column.size + fresh > MAX_COLUMNS && end > start) break;
      for (let t = 0; t < 3; t++) if (!column.has(rows[end * 3 + t])) column.set(rows[end * 3 + t], column.size);
      end++;
    }
    const nb = end - start;
    const folded = queries !== undefined || (method === 'cosadd' && nb < column.size);
    const nq = folded ? nb : column.size;
    const nqP = Math.ceil(nq / 4) * 4;
    qs.fill(0, 0, nqP * dimP);
    if (folded) {
      for (let j = 0; j < nb; j++) {
        const qi = start + j;
        if (queries) {
          for (let d = 0; d < dim; d++) put(j, d, queries[qi * dim + d]);
        } else {
          const a = rows[qi * 3] * dim;
          const b = rows[qi * 3 + 1] * dim;
          const c = rows[qi * 3 + 2] * dim;
          for (let d = 0; d < dim; d++) folded64[d] = m[b + d] - m[a + d] + m[c + d];
          for (let d = 0; d < dim; d++) put(j, d, folded64[d]);
        }
      }
    } else {
      for (const [row, col] of column) for (let d = 0; d < dim; d++) put(col, d, m[row * dim + d]);
    }
    for (let j = 0; j < nb; j++) {
      const qi = start + j;
      for (let t = 0; t < 3; t++) qCol[j * 3 + t] = folded ? j : (column.get(rows[qi * 3 + t]) as number);
    }
    best.fill(-Infinity, 0, nb);
    candCount.fill(0, 0, nb);
    overflow.fill(0, 0, nb);

    for (let r0 = 0; r0 < top; r0 += ROW_BLOCK) {
      const r1 = Math.min(top, r0 + ROW_BLOCK);
      const nRows = (r1 - r0) + ((r1 - r0) % 2);
      for (let c0 = 0; c0 < nqP; c0 += QUERY_CHUNK) {
        const nc = Math.min(QUERY_CHUNK, nqP - c0);
        simd.dots(r0 * dimP * 4, nRows, dimP * 4, qBase + c0 * dimP * 4, nc, outBase + c0 * ROW_BLOCK * 4, ROW_BLOCK * 4);
      }
      for (let j = 0; j < nb; j++) {
        if (overflow[j]) continue;
        const qi = start + j;
        const ra = rows[qi * 3];
        const rb = rows[qi * 3 + 1];
        const rc = rows[qi * 3 + 2];
        const oa = qCol[j * 3] * ROW_BLOCK - r0;
        const ob = qCol[j * 3 + 1] * ROW_BLOCK - r0;
        const oc = qCol[j * 3 + 2] * ROW_BLOCK - r0;
        const base = j * CAP;
        let top1 = best[j];
        let n = candCount[j];
        const mul = !folded && method === 'cosmul';
        let floor = mul ? top1 * (1 - MARGIN_MUL) : top1 - MARGIN_ADD;
        for (let r = r0; r < r1; r++) {
          const s = folded ? out[oa + r] : mul ? (((out[ob + r] + 1) / 2) * ((out[oc + r] + 1) / 2)) / ((out[oa + r] + 1) / 2 + COSMUL_EPSILON) : out[ob + r] - out[oa + r] + out[oc + r];
          if (s < floor || r === ra || r === rb || r === rc) continue;
          if (s > top1) {
            top1 = s;
            floor = mul ? top1 * (1 - MARGIN_MUL) : top1 - MARGIN_ADD;
          }
          if (n === CAP) {
            // Full: drop what the risen best has left behind (order kept: rows ascend).
            let k = 0;
            for (let i = 0; i < n; i++) {
              if (candScore[base + i] >= floor) {
                candRow[base + k] = candRow[base + i];
                candScore[base + k] = candScore[base + i];
                k++;
              }
            }
            n = k;
            if (n === CAP) {
              overflow[j] = 1;
              break;
            }
          }
          candRow[base + n] = r;
          candScore[base + n] = s;
          n++;
        }
        best[j] = top1;
        candCount[j] = n;
      }
    }

    for (let j = 0; j < nb; j++) {
      const qi = start + j;
      const ra = rows[qi * 3];
      const rb = rows[qi * 3 + 1];
      const rc = rows[qi * 3 + 2];
      let bestExact = -Infinity;
      let bestRow = -1;
      const score = (r: number): void => {
        const s = exactScore(m, dim, r, ra, rb, rc, method, queries, qi * dim);
        // Strict '>' in ascending row order keeps the earliest (most frequent) row on ties.
        if (s > bestExact) {
          bestExact = s;
          bestRow = r;
        }
      };
      if (overflow[j]) {
        for (let r = 0; r < top; r++) if (r !== ra && r !== rb && r !== rc) score(r);
      } else {
        const mul = !folded && method === 'cosmul';
        const floor = mul ? best[j] * (1 - MARGIN_MUL) : best[j] - MARGIN_ADD;
        for (let i = 0; i < candCount[j]; i++) if (candScore[j * CAP + i] >= floor) score(candRow[j * CAP + i]);
      }
      predicted[qi] = bestRow;
    }
    start = end;
  }
  return predicted;
}
