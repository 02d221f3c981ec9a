/**
 * Analogy accuracy in the manner of word2vec's compute-accuracy: questions-words format, lower-cased,
 * vocabulary restricted to the N most frequent words (rows 0..N-1 of a frequency-ordered space);
 * a question with any word outside it is skipped and counted; a question is correct when the best
 * candidate among those N words, excluding its three question words, is its fourth word.
 *
 * Scoring is a blocked matrix product: a batch of questions' vectors against blocks of the top-N
 * matrix (scoreBlock), so each matrix block is streamed once per batch rather than once per
 * question (see predictBatch).
 */
import { SoftlogicError } from '../core/errors.js';
import type { VectorSpace } from './vector-space.js';
import type { AnalogyMethod } from './analogy-completion.js';
import { COSMUL_EPSILON, parseMethod } from './analogy-completion.js';
import { scoreBlock } from './blocked-product.js';
import { averageOffsetQueries } from './analogy-average.js';
import { allButTheTop, parsePostprocess, type Postprocess } from './postprocess.js';

/** Methods of the evaluation: those of `analogy complete` plus 3CosAvg, which needs a section's pairs. */
export type EvalMethod = AnalogyMethod | 'cosavg';

export function parseEvalMethod(method: string): EvalMethod {
  return method === 'cosavg' ? method : parseMethod(method);
}

export interface QuestionSection {
  name: string;
  /** Lower-cased [a, b, c, expected]. */
  questions: Array<[string, string, string, string]>;
}

/** Parses `: section` headers and `a b c d` lines; blank lines are ignored, anything else is refused. */
export function parseQuestions(text: string): QuestionSection[] {
  const sections: QuestionSection[] = [];
  let current: QuestionSection | undefined;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line.length === 0) continue;
    if (line.startsWith(':')) {
      current = { name: line.slice(1).trim(), questions: [] };
      sections.push(current);
      continue;
    }
    const words = line.toLowerCase().split(/\s+/);
    if (words.length !== 4) {
      throw new SoftlogicError('INVALID_INPUT', `questions line ${i + 1}: expected 4 words, got ${words.length}`, { line: i + 1 });
    }
    if (!current) {
      current = { name: '(no section)', questions: [] };
      sections.push(current);
    }
    current.questions.push(words as [string, string, string, string]);
  }
  return sections;
}

/** Sections named gram* are syntactic in the Google set; all others semantic. */
export function sectionKind(name: string): 'semantic' | 'syntactic' {
  return name.toLowerCase().startsWith('gram') ? 'syntactic' : 'semantic';
}

export interface Tally {
  correct: number;
  seen: number;
  /** correct / seen, 0 when nothing was seen. */
  accuracy: number;
}

export interface SectionResult extends Tally {
  name: string;
  kind: 'semantic' | 'syntactic';
  skipped: number;
}

export interface EvalResult {
  method: EvalMethod;
  postprocess: Postprocess;
  top: number;
  sections: SectionResult[];
  semantic: Tally;
  syntactic: Tally;
  total: Tally & { skipped: number; questions: number };
}

export interface EvalOptions {
  /** Vocabulary restriction (default 30000, as compute-accuracy). */
  top?: number;
  method?: EvalMethod;
  /** Post-processing of the searched top-N vectors (postprocess.ts); default none. */
  postprocess?: Postprocess;
}

const ROW_BLOCK = 256;
/** 32 float64 query vectors of 100-d = 25 KB: stays in L1 while a row block streams past. */
const QUERY_CHUNK = 32;
/** Caps per batch: distinct word vectors (the product's width) and questions. */
const MAX_COLUMNS = 512;
const MAX_QUESTIONS = 4096;

function tally(correct: number, seen: number): Tally {
  return { correct, seen, accuracy: seen === 0 ? 0 : correct / seen };
}

/**
 * Predicts the answer row for each question (rows of a, b, c given), over rows [0, top).
 *
 * Question files reuse their words heavily (the Google set: 19,544 questions over ~900 words),
 * so a batch's product is taken against its DISTINCT question words rather than three vectors per
 * question: S = X[top] * W^T, blocked over rows. Each question then combines its three columns of
 * S per candidate (3CosAdd or 3CosMul) in a cheap streaming pass. For 3CosAdd, when a batch has
 * fewer questions than distinct words, the folded query b - a + c (one column per question) is
 * narrower and is used instead. Given `queries` (one vector per question), the product is taken
 * against those, scored by x . query (3CosAvg).
 *
 * Exposed for benchmarks and tests; `evaluateAnalogies` is the user-facing entry point.
 */
export function predictBatch(space: VectorSpace, rows: Int32Array, top: number, method: AnalogyMethod, queries?: Float64Array): Int32Array {
  const dim = space.dimension;
  const m = space.matrix;
  const count = rows.length / 3;
  const predicted = new Int32Array(count).fill(-1);
  const qs = new Float64Array(Math.max(MAX_COLUMNS, MAX_QUESTIONS) * dim);
  const bestScore = new Float64Array(MAX_QUESTIONS);
  let out = new Float64Array(0);
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
    if (queries) {
      qs.set(queries.subarray(start * dim, end * dim));
    } else if (folded) {
      for (let j = 0; j < nb; j++) {
        const a = rows[(start + j) * 3] * dim;
        const b = rows[(start + j) * 3 + 1] * dim;
        const c = rows[(start + j) * 3 + 2] * dim;
        for (let d = 0; d < dim; d++) qs[j * dim + d] = m[b + d] - m[a + d] + m[c + d];
      }
    } else {
      for (const [row, col] of column) for (let d = 0; d < dim; d++) qs[col * dim + d] = m[row * dim + d];
    }
    if (out.length < nq * ROW_BLOCK) out = new Float64Array(nq * ROW_BLOCK);
    bestScore.fill(-Infinity, 0, nb);
    for (let r0 = 0; r0 < top; r0 += ROW_BLOCK) {
      const r1 = Math.min(top, r0 + ROW_BLOCK);
      // Queries in chunks small enough for L1, so each row pair is multiplied against cached data.
      for (let c0 = 0; c0 < nq; c0 += QUERY_CHUNK) {
        const nc = Math.min(QUERY_CHUNK, nq - c0);
        scoreBlock(m, r0, r1, dim, qs.subarray(c0 * dim, (c0 + nc) * dim), nc, out.subarray(c0 * ROW_BLOCK), ROW_BLOCK);
      }
      for (let j = 0; j < nb; j++) {
        const qi = start + j;
        const ra = rows[qi * 3];
        const rb = rows[qi * 3 + 1];
        const rc = rows[qi * 3 + 2];
        let best = bestScore[j];
        let bestRow = predicted[qi];
        if (folded) {
          const o = j * ROW_BLOCK - r0;
          for (let r = r0; r < r1; r++) {
            const s = out[o + r];
            // Strict '>' keeps the earliest (most frequent) row on ties, like a sequential scan.
            if (s > best && r !== ra && r !== rb && r !== rc) {
              best = s;
              bestRow = r;
            }
          }
        } else {
          const oa = (column.get(ra) as number) * ROW_BLOCK - r0;
          const ob = (column.get(rb) as number) * ROW_BLOCK - r0;
          const oc = (column.get(rc) as number) * ROW_BLOCK - r0;
          if (method === 'cosadd') {
            for (let r = r0; r < r1; r++) {
              const s = out[ob + r] - out[oa + r] + out[oc + r];
              if (s > best && r !== ra && r !== rb && r !== rc) {
                best = s;
                bestRow = r;
              }
            }
          } else {
            for (let r = r0; r < r1; r++) {
              const s = (((out[ob + r] + 1) / 2) * ((out[oc + r] + 1) / 2)) / ((out[oa + r] + 1) / 2 + COSMUL_EPSILON);
              if (s > best && r !== ra && r !== rb && r !== rc) {
                best = s;
                bestRow = r;
              }
            }
          }
        }
        bestScore[j] = best;
        predicted[qi] = bestRow;
      }
    }
    start = end;
  }
  return predicted;
}

export function evaluateAnalogies(space: VectorSpace, sections: readonly QuestionSection[], options: EvalOptions = {}): EvalResult {
  const method = parseEvalMethod(options.method ?? 'cosadd');
  const postprocess = parsePostprocess(options.postprocess ?? 'none');
  const topRequested = options.top ?? 30000;
  if (!Number.isInteger(topRequested) || topRequested <= 0) {
    throw new SoftlogicError('INVALID_INPUT', `top must be a positive integer, got ${topRequested}`);
  }
  const top = Math.min(topRequested, space.size);
  // Lower-cased lookup within the top rows only.
  const rowOf = (w: string): number => {
    const i = space.indexOf(w);
    return i >= 0 && i < top ? i : -1;
  };
  const kept: number[] = [];
  const answers: number[] = [];
  const expected: number[] = [];
  const sectionOf: number[] = [];
  const skipped = new Array<number>(sections.length).fill(0);
  sections.forEach((section, si) => {
    for (const q of section.questions) {
      const r = q.map(rowOf);
      if (r.some((x) => x < 0)) {
        skipped[si]++;
        continue;
      }
      kept.push(r[0], r[1], r[2]);
      answers.push(r[0], r[1], r[2], r[3]);
      expected.push(r[3]);
      sectionOf.push(si);
    }
  });
  const searched = postprocess === 'abtt' ? allButTheTop(space, top) : space;
  const queries = method === 'cosavg' ? averageOffsetQueries(searched, Int32Array.from(answers), sectionOf) : undefined;
  const predicted = predictBatch(searched, Int32Array.from(kept), top, method === 'cosavg' ? 'cosadd' : method, queries);
  const correct = new Array<number>(sections.length).fill(0);
  const seen = new Array<number>(sections.length).fill(0);
  for (let i = 0; i < expected.length; i++) {
    seen[sectionOf[i]]++;
    if (predicted[i] === expected[i]) correct[sectionOf[i]]++;
  }
  const results: SectionResult[] = sections.map((s, i) => ({
    name: s.name,
    kind: sectionKind(s.name),
    skipped: skipped[i],
    ...tally(correct[i], seen[i]),
  }));
  const sum = (kind: 'semantic' | 'syntactic' | undefined, f: (s: SectionResult) => number): number =>
    results.filter((s) => kind === undefined || s.kind === kind).reduce((acc, s) => acc + f(s), 0);
  return {
    method,
    postprocess,
    top,
    sections: results,
    semantic: tally(sum('semantic', (s) => s.correct), sum('semantic', (s) => s.seen)),
    syntactic: tally(sum('syntactic', (s) => s.correct), sum('syntactic', (s) => s.seen)),
    total: {
      ...tally(sum(undefined, (s) => s.correct), sum(undefined, (s) => s.seen)),
      skipped: sum(undefined, (s) => s.skipped),
      questions: sections.reduce((a, s) => a + s.questions.length, 0),
    },
  };
}
