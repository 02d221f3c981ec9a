/**
 * Analogy accuracy in the manner of word2vec's compute-accuracy: questions-words format, lower-cased,
 * vocabulary restricted to the N most frequent words (rows 0..N-1 of a frequency-ordered space);
 * a question with any word outside it is skipped and counted; a question is correct when the best
 * candidate among those N words, excluding its three question words, is its fourth word.
 *
 * Scoring is a blocked matrix product: a batch of questions' vectors against blocks of the top-N
 * matrix, so each matrix block is streamed once per batch rather than once per question
 * (analogy-batch.ts).
 */
import { SoftlogicError } from '../core/errors.js';
import type { VectorSpace } from './vector-space.js';
import type { AnalogyMethod } from './analogy-completion.js';
import { parseMethod } from './analogy-completion.js';
import { predictBatch } from './analogy-batch.js';
import { averageOffsetQueries } from './analogy-average.js';
export { predictBatch } from './analogy-batch.js';
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

function tally(correct: number, seen: number): Tally {
  return { correct, seen, accuracy: seen === 0 ? 0 : correct / seen };
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
