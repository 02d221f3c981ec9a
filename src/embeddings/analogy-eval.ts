/**
 * Analogy accuracy in the manner of word2vec's compute-accuracy: questions-words format, lower-cased,
 * vocabulary restricted to the N most frequent words (rows 0..N-1 of a frequency-ordered space);
 * a question with any word outside it is skipped and counted; a question is correct when the best
 * candidate among those N words, excluding its three question words, is its fourth word.
 *
 * Scoring is a blocked matrix product: a batch of questions' query vectors against blocks of the
 * top-N matrix (scoreBlock), so each matrix block is streamed once per batch rather than once per
 * question.
 */
import { SoftlogicError } from '../core/errors.js';
import type { VectorSpace } from './vector-space.js';
import type { AnalogyMethod } from './analogy-completion.js';
import { COSMUL_EPSILON, parseMethod } from './analogy-completion.js';
import { scoreBlock } from './blocked-product.js';

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
  method: AnalogyMethod;
  top: number;
  sections: SectionResult[];
  semantic: Tally;
  syntactic: Tally;
  total: Tally & { skipped: number; questions: number };
}

export interface EvalOptions {
  /** Vocabulary restriction (default 30000, as compute-accuracy). */
  top?: number;
  method?: AnalogyMethod;
  /** Questions per batch; 64 keeps the query block in cache. */
  batch?: number;
}

const ROW_BLOCK = 256;

function tally(correct: number, seen: number): Tally {
  return { correct, seen, accuracy: seen === 0 ? 0 : correct / seen };
}

/**
 * Predicts the answer row for each question (rows of a, b, c given), over rows [0, top).
 * Exposed for benchmarks and tests; `evaluateAnalogies` is the user-facing entry point.
 */
export function predictBatch(space: VectorSpace, rows: Int32Array, top: number, method: AnalogyMethod, batch = 64): Int32Array {
  const dim = space.dimension;
  const m = space.matrix;
  const count = rows.length / 3;
  const predicted = new Int32Array(count).fill(-1);
  // cosadd folds into one query per question (x.b - x.a + x.c = x.(b - a + c) for unit x);
  // cosmul needs the three cosines separately: three query rows per question.
  const perQ = method === 'cosadd' ? 1 : 3;
  const qs = new Float64Array(batch * perQ * dim);
  const out = new Float64Array(ROW_BLOCK * batch * perQ);
  const best = new Float64Array(batch);
  for (let start = 0; start < count; start += batch) {
    const nb = Math.min(batch, count - start);
    for (let j = 0; j < nb; j++) {
      const qi = start + j;
      const a = rows[qi * 3] * dim;
      const b = rows[qi * 3 + 1] * dim;
      const c = rows[qi * 3 + 2] * dim;
      if (perQ === 1) {
        for (let d = 0; d < dim; d++) qs[j * dim + d] = m[b + d] - m[a + d] + m[c + d];
      } else {
        for (let d = 0; d < dim; d++) {
          qs[(j * 3) * dim + d] = m[a + d];
          qs[(j * 3 + 1) * dim + d] = m[b + d];
          qs[(j * 3 + 2) * dim + d] = m[c + d];
        }
      }
      best[j] = -Infinity;
    }
    const nq = nb * perQ;
    for (let r0 = 0; r0 < top; r0 += ROW_BLOCK) {
      const r1 = Math.min(top, r0 + ROW_BLOCK);
      scoreBlock(m, r0, r1, dim, qs, nq, out);
      for (let j = 0; j < nb; j++) {
        const qi = start + j;
        const ra = rows[qi * 3];
        const rb = rows[qi * 3 + 1];
        const rc = rows[qi * 3 + 2];
        let bestScore = best[j];
        let bestRow = predicted[qi];
        for (let r = r0; r < r1; r++) {
          let s: number;
          const o = (r - r0) * nq + j * perQ;
          if (perQ === 1) s = out[o];
          else s = (((out[o + 1] + 1) / 2) * ((out[o + 2] + 1) / 2)) / ((out[o] + 1) / 2 + COSMUL_EPSILON);
          // Strict '>' keeps the earliest (most frequent) row on ties, like a sequential scan.
          if (s > bestScore && r !== ra && r !== rb && r !== rc) {
            bestScore = s;
            bestRow = r;
          }
        }
        best[j] = bestScore;
        predicted[qi] = bestRow;
      }
    }
  }
  return predicted;
}

export function evaluateAnalogies(space: VectorSpace, sections: readonly QuestionSection[], options: EvalOptions = {}): EvalResult {
  const method = parseMethod(options.method ?? 'cosadd');
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
      expected.push(r[3]);
      sectionOf.push(si);
    }
  });
  const predicted = predictBatch(space, Int32Array.from(kept), top, method, options.batch ?? 64);
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
