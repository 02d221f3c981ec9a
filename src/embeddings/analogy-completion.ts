/**
 * Analogy completion a : b :: c : ? over unit vectors, exact (one pass over the space).
 *   3CosAdd: argmax_x cos(x,b) - cos(x,a) + cos(x,c)
 *   3CosMul (Levy & Goldberg 2014): cosines shifted to [0,1] by cos' = (cos+1)/2, then
 *            argmax_x cos'(x,b) * cos'(x,c) / (cos'(x,a) + 0.001)
 * The three question words never answer (they would usually win trivially).
 */
import { SoftlogicError } from '../core/errors.js';
import type { VectorSpace } from './vector-space.js';
import { TopK, validateK } from './exact-search.js';

export type AnalogyMethod = 'cosadd' | 'cosmul';

export const COSMUL_EPSILON = 0.001;

export interface CompleteOptions {
  k?: number;
  method?: AnalogyMethod;
  /** Search only the first `limit` rows (e.g. the most frequent words of a vocabulary). */
  limit?: number;
}

export interface AnalogyCandidate {
  id: string;
  score: number;
  /** The three cosines behind the score, for explanations. */
  cosA: number;
  cosB: number;
  cosC: number;
}

export interface AnalogyResult {
  question: { a: string; b: string; c: string };
  method: AnalogyMethod;
  results: AnalogyCandidate[];
  trace: string[];
}

/** Row of a word: exact id first, then its lower-case form (vocabularies are lower-case). */
export function resolveRow(space: VectorSpace, word: string): number {
  const i = space.indexOf(word);
  return i >= 0 ? i : space.indexOf(word.trim().toLowerCase());
}

/** Rows of the question words, or NOT_IN_VOCABULARY naming every missing one. */
export function resolveQuestion(space: VectorSpace, words: readonly string[], limit = space.size): number[] {
  const empty = words.findIndex((w) => w.trim().length === 0);
  if (empty >= 0) throw new SoftlogicError('INVALID_INPUT', `analogy word ${empty + 1} is empty`);
  const rows = words.map((w) => resolveRow(space, w));
  const missing = words.filter((_, i) => rows[i] < 0 || rows[i] >= limit);
  if (missing.length > 0) {
    throw new SoftlogicError('NOT_IN_VOCABULARY', `not in vocabulary: ${missing.map((w) => JSON.stringify(w)).join(', ')}`, { words: missing });
  }
  return rows;
}

export function parseMethod(method: string): AnalogyMethod {
  if (method === 'cosadd' || method === 'cosmul') return method;
  throw new SoftlogicError('INVALID_INPUT', `unknown analogy method ${JSON.stringify(method)} (cosadd or cosmul)`);
}

/** Score of one candidate from its three cosines; shared with the evaluator so both agree. */
export function analogyScore(method: AnalogyMethod, cosA: number, cosB: number, cosC: number): number {
  if (method === 'cosadd') return cosB - cosA + cosC;
  return (((cosB + 1) / 2) * ((cosC + 1) / 2)) / ((cosA + 1) / 2 + COSMUL_EPSILON);
}

export function complete(space: VectorSpace, a: string, b: string, c: string, options: CompleteOptions = {}): AnalogyResult {
  const method = parseMethod(options.method ?? 'cosadd');
  const limit = Math.min(options.limit ?? space.size, space.size);
  const [ra, rb, rc] = resolveQuestion(space, [a, b, c], limit);
  const exclude = new Set([ra, rb, rc]);
  const k = validateK(options.k ?? 10, Math.max(0, limit - exclude.size));
  const dim = space.dimension;
  const m = space.matrix;
  const va = space.row(ra);
  const vb = space.row(rb);
  const vc = space.row(rc);
  const heap = new TopK(Math.max(1, k));
  for (let r = 0; r < limit; r++) {
    if (exclude.has(r)) continue;
    const off = r * dim;
    let sa = 0;
    let sb = 0;
    let sc = 0;
    for (let d = 0; d < dim; d++) {
      const x = m[off + d];
      sa += x * va[d];
      sb += x * vb[d];
      sc += x * vc[d];
    }
    const s = analogyScore(method, sa, sb, sc);
    if (s > heap.threshold) heap.push(s, r);
  }
  const results = k === 0 ? [] : heap.sorted().map(({ row, score }) => {
    const x = space.row(row);
    let ca = 0;
    let cb = 0;
    let cc = 0;
    for (let d = 0; d < dim; d++) {
      ca += x[d] * va[d];
      cb += x[d] * vb[d];
      cc += x[d] * vc[d];
    }
    return { id: space.idAt(row), score, cosA: ca, cosB: cb, cosC: cc };
  });
  const [ia, ib, ic] = [space.idAt(ra), space.idAt(rb), space.idAt(rc)];
  const trace = [
    `${ia} : ${ib} :: ${ic} : ?`,
    method === 'cosadd'
      ? `3CosAdd: score(x) = cos(x, ${ib}) - cos(x, ${ia}) + cos(x, ${ic}), i.e. x nearest to ${ib} - ${ia} + ${ic}`
      : `3CosMul: score(x) = cos'(x, ${ib}) * cos'(x, ${ic}) / (cos'(x, ${ia}) + ${COSMUL_EPSILON}), cos' = (cos + 1) / 2`,
    `searched ${limit - exclude.size} candidates exactly; excluded the question words ${ia}, ${ib}, ${ic}`,
  ];
  const best = results[0];
  if (best) {
    trace.push(
      `best: ${best.id} (score ${best.score.toFixed(4)}; cos to ${ib} ${best.cosB.toFixed(3)}, to ${ic} ${best.cosC.toFixed(3)}, to ${ia} ${best.cosA.toFixed(3)})`,
    );
  } else {
    trace.push('no candidate left after excluding the question words');
  }
  return { question: { a: ia, b: ib, c: ic }, method, results, trace };
}
