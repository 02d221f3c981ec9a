/**
 * `npm run bench -- analogy [--top N] [--method cosadd|cosmul] [--questions Q] [--naive Q]`
 *
 * Questions/second of analogy evaluation at top 30000 on one core (JS is single-threaded here),
 * for the blocked matrix-product evaluator and, in the same run, a naive per-question loop of
 * single dot products as the baseline. The questions are generated from the GloVe vocabulary
 * itself (no network): morphological pairs (w / w+s, w / w+ing, w / w+ed, w / w+ly) within the top
 * N words plus a small fixed list of capitals, combined pairwise into `a b c d` questions. Like real
 * question files these reuse their words, which the evaluator exploits; a second, worst-case set
 * where every question uses four fresh words (no reuse at all) is timed too.
 */
import { GloveProvider } from '../src/embeddings/glove-provider.js';
import type { VectorSpace } from '../src/embeddings/vector-space.js';
import { evaluateAnalogies, parseQuestions, predictBatch } from '../src/embeddings/analogy-eval.js';
import type { AnalogyMethod } from '../src/embeddings/analogy-completion.js';
import { analogyScore, parseMethod } from '../src/embeddings/analogy-completion.js';

const CAPITALS = [
  ['athens', 'greece'], ['berlin', 'germany'], ['paris', 'france'], ['rome', 'italy'], ['madrid', 'spain'],
  ['london', 'england'], ['tokyo', 'japan'], ['moscow', 'russia'], ['cairo', 'egypt'], ['ottawa', 'canada'],
  ['beijing', 'china'], ['lisbon', 'portugal'], ['vienna', 'austria'], ['oslo', 'norway'], ['dublin', 'ireland'],
];

/** Builds a questions-words text: pairs (x, y) of one relation become questions x1 y1 x2 y2. */
export function generateQuestions(vocabulary: readonly string[], top: number, perSection: number): string {
  const inTop = new Set(vocabulary.slice(0, top));
  const sections: Array<[string, string[][]]> = [['capital-world', CAPITALS.filter(([a, b]) => inTop.has(a) && inTop.has(b))]];
  const suffixes: Array<[string, string]> = [['gram-plural', 's'], ['gram-present-participle', 'ing'], ['gram-past-tense', 'ed'], ['gram-adverb', 'ly']];
  for (const [name, suffix] of suffixes) {
    const pairs: string[][] = [];
    for (const w of vocabulary.slice(0, top)) {
      if (/^[a-z]{3,}$/.test(w) && inTop.has(w + suffix)) pairs.push([w, w + suffix]);
      if (pairs.length >= 200) break;
    }
    sections.push([name, pairs]);
  }
  const lines: string[] = [];
  for (const [name, pairs] of sections) {
    lines.push(`: ${name}`);
    let n = 0;
    for (let i = 0; i < pairs.length && n < perSection; i++) {
      for (let j = 0; j < pairs.length && n < perSection; j++) {
        if (i === j) continue;
        lines.push(`${pairs[i][0]} ${pairs[i][1]} ${pairs[j][0]} ${pairs[j][1]}`);
        n++;
      }
    }
  }
  return lines.join('\n');
}

/** Worst case for the evaluator: no word occurs in two questions. */
function distinctWordQuestions(vocabulary: readonly string[], top: number, count: number): string {
  const lines = [': distinct-words'];
  const words = vocabulary.slice(0, top).filter((w) => /^[a-z]+$/.test(w));
  for (let i = 0; i < count && 4 * i + 3 < words.length; i++) lines.push(words.slice(4 * i, 4 * i + 4).join(' '));
  return lines.join('\n');
}

/** Distinct question words (a, b, c) over all questions: what the blocked product is taken against. */
function distinctWords(sections: ReturnType<typeof parseQuestions>): number {
  const words = new Set<string>();
  for (const s of sections) for (const q of s.questions) for (let i = 0; i < 3; i++) words.add(q[i]);
  return words.size;
}

/** The baseline: for each question, one pass over the top rows with three single dot products. */
function naivePredict(space: VectorSpace, rows: Int32Array, top: number, method: AnalogyMethod): Int32Array {
  const dim = space.dimension;
  const m = space.matrix;
  const count = rows.length / 3;
  const out = new Int32Array(count);
  const dot = (r: number, s: number): number => {
    let acc = 0;
    for (let d = 0; d < dim; d++) acc += m[r * dim + d] * m[s * dim + d];
    return acc;
  };
  for (let q = 0; q < count; q++) {
    const [a, b, c] = [rows[q * 3], rows[q * 3 + 1], rows[q * 3 + 2]];
    let best = -Infinity;
    let bestRow = -1;
    for (let r = 0; r < top; r++) {
      if (r === a || r === b || r === c) continue;
      const s = analogyScore(method, dot(r, a), dot(r, b), dot(r, c));
      if (s > best) {
        best = s;
        bestRow = r;
      }
    }
    out[q] = bestRow;
  }
  return out;
}

export default async function analogy(args: string[]): Promise<void> {
  const get = (name: string): string | undefined => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const top = Number(get('top') ?? 30000);
  const methods: AnalogyMethod[] = get('method') ? [parseMethod(get('method') as string)] : ['cosadd', 'cosmul'];
  const perSection = Number(get('questions') ?? 1000);
  const naiveCount = Number(get('naive') ?? 200);
  const glove = GloveProvider.open(get('cache-dir') ? { cacheDir: get('cache-dir') } : {});
  const space = glove.vocabularySpace;
  void space.indexOf('the'); // build the word map outside the timings
  const scenarios: Array<[string, ReturnType<typeof parseQuestions>]> = [
    ['generated', parseQuestions(generateQuestions(glove.vocabulary, top, perSection))],
    ['distinct-words (worst case)', parseQuestions(distinctWordQuestions(glove.vocabulary, top, Number(get('distinct') ?? 1500)))],
  ];
  const report: Array<Record<string, number | string | boolean>> = [];
  let questions = 0;
  for (const [scenario, sections] of scenarios) {
    const count = sections.reduce((a, s) => a + s.questions.length, 0);
    questions += count;
    console.log(`analogy [${scenario}]: ${count} questions in ${sections.length} section(s) over ${distinctWords(sections)} distinct question words, top ${top}, ${space.dimension}d`);
    for (const method of methods) {
      evaluateAnalogies(space, sections.map((s) => ({ ...s, questions: s.questions.slice(0, 20) })), { top, method }); // warm-up
      const t0 = performance.now();
      const result = evaluateAnalogies(space, sections, { top, method });
      const blockedSeconds = (performance.now() - t0) / 1000;
      const blockedQps = result.total.seen / blockedSeconds;

      // Baseline on a prefix of the same questions, and the blocked evaluator on that same prefix.
      const rows: number[] = [];
      for (const s of sections) {
        for (const q of s.questions) {
          const r = q.map((w) => space.indexOf(w));
          if (r.every((x) => x >= 0 && x < top)) rows.push(r[0], r[1], r[2]);
          if (rows.length / 3 >= naiveCount) break;
        }
        if (rows.length / 3 >= naiveCount) break;
      }
      const subset = Int32Array.from(rows);
      const t1 = performance.now();
      const naive = naivePredict(space, subset, top, method);
      const naiveSeconds = (performance.now() - t1) / 1000;
      const naiveQps = subset.length / 3 / naiveSeconds;
      const blockedSubset = predictBatch(space, subset, top, method);
      const agree = naive.every((r, i) => r === blockedSubset[i]);
      const row = {
        scenario,
        method,
        top,
        questionsSeen: result.total.seen,
        skipped: result.total.skipped,
        accuracy: Number(result.total.accuracy.toFixed(4)),
        blockedQps: Number(blockedQps.toFixed(1)),
        naiveQps: Number(naiveQps.toFixed(1)),
        naiveQuestions: subset.length / 3,
        speedup: Number((blockedQps / naiveQps).toFixed(2)),
        sameAnswersAsNaive: agree,
        meetsTarget: blockedQps >= 1000,
      };
      report.push(row);
      console.log(
        `  ${method}: blocked ${blockedQps.toFixed(0)} q/s (${result.total.seen} questions, ${blockedSeconds.toFixed(2)} s), naive loop ${naiveQps.toFixed(0)} q/s (${row.naiveQuestions} questions) -> ${row.speedup}x; accuracy ${(result.total.accuracy * 100).toFixed(1)}%; answers identical: ${agree}`,
      );
      if (scenario === 'generated') {
        for (const s of result.sections) console.log(`    ${s.name} (${s.kind}): ${s.correct}/${s.seen} = ${(s.accuracy * 100).toFixed(1)}%, skipped ${s.skipped}`);
      }
    }
  }
  console.log(JSON.stringify({ bench: 'analogy', questions, results: report }));
}
