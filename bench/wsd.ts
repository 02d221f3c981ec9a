/**
 * Word-sense benchmark: `npm run bench -- wsd [--max-cases 3000] [--tune]`.
 *
 * An evaluation set built from WordNet itself (no outside data):
 *   - example cases: a sense's example sentence that contains the word, the word taken out, is the
 *     context; that sense is the answer. The example is left out of the sense's signature, so the
 *     method never sees the sentence it is asked about.
 *   - domain cases: a synset with a topic/region/usage domain link (;c ;r ;u), named by a word with
 *     two or more noun senses. The context is named after the domain ("finance") and described by
 *     three other members of that domain ("banks, loans, deposits"), as a user would build it.
 * Lemmas are split by a hash into dev (1 in 5) and test; `--tune` grids the overlap and prior
 * weights on dev only, and the reported accuracies are on test. Baseline: the most frequent sense
 * (WordNet's first). An ablation without the domain links shows how much of the domain gain comes
 * from WordNet's domain links, which also built those cases.
 */
import { wordnet, type Synset, type WordNet } from '../src/reasoning/wordnet.js';
import { chooseSense, contentWords, DEFAULT_SENSE_WEIGHTS, stemWord, wordVectorsOf, type SenseWeights, type WordVectors } from '../src/reasoning/word-sense.js';
import { createProvider, type GloveProvider } from '../src/embeddings/index.js';
import { argValue, report } from './util.js';

interface WsdCase {
  kind: 'example' | 'domain';
  word: string;
  context: string[];
  answer: string;
  omit?: string;
}

/** FNV-1a: a stable split of lemmas into dev and test. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

export const isDev = (word: string): boolean => hash(word) % 5 === 0;

function exampleCases(wn: WordNet): WsdCase[] {
  const out: WsdCase[] = [];
  for (const word of wn.lemmas('n')) {
    if (word.includes('_')) continue;
    const senses = wn.synsets(word, 'n');
    if (senses.length < 2) continue;
    for (const s of senses) {
      for (const example of s.examples) {
        const words = contentWords(example);
        const target = stemWord(word);
        if (!words.some((w) => stemWord(w) === target)) continue;
        const context = words.filter((w) => stemWord(w) !== target);
        if (context.length === 0) continue;
        out.push({ kind: 'example', word, context: [context.join(' ')], answer: s.id, omit: example });
      }
    }
  }
  return out;
}

function domainCases(wn: WordNet): WsdCase[] {
  const out: WsdCase[] = [];
  const domains = new Map<string, Synset>();
  for (const word of wn.lemmas('n')) {
    if (word.includes('_')) continue;
    const senses = wn.synsets(word, 'n');
    if (senses.length < 2) continue;
    for (const s of senses) {
      for (const d of wn.related(s, 'domain')) {
        if (d.pos !== 'n') continue;
        domains.set(d.id, d);
        // Three other single-word noun members of the domain describe the context.
        const others = wn
          .related(d, 'domain_member')
          .filter((m) => m.pos === 'n' && m.offset !== s.offset)
          .map((m) => m.lemmas.find((l) => !l.includes('_') && l.toLowerCase() !== word))
          .filter((l): l is string => l !== undefined);
        if (others.length < 3) continue;
        const start = hash(s.id) % (others.length - 2);
        const name = d.lemmas[0].replace(/_/g, ' ').toLowerCase();
        out.push({ kind: 'domain', word, context: [name, others.slice(start, start + 3).join(', ')], answer: s.id });
      }
    }
  }
  return out;
}

/** Every k-th case, so a cap keeps the mix of words. */
function spread<T>(xs: T[], max: number): T[] {
  if (xs.length <= max) return xs;
  const step = xs.length / max;
  return Array.from({ length: max }, (_, i) => xs[Math.floor(i * step)]);
}

interface Accuracy {
  cases: number;
  accuracy: number;
  most_frequent_sense: number;
  fell_back_to_mfs: number;
}

function evaluate(wn: WordNet, cases: WsdCase[], vectors: WordVectors | undefined, weights: SenseWeights, withoutDomains = false): Accuracy {
  let right = 0;
  let mfsRight = 0;
  let fellBack = 0;
  for (const c of cases) {
    const choice = chooseSense(wn, c.word, c.context, { vectors, weights, withoutDomains, omitExamples: c.omit ? new Set([c.omit]) : undefined });
    if (!choice) continue;
    if (choice.synset_id === c.answer) right++;
    if (choice.candidates[0].synset_id === c.answer) mfsRight++;
    if (choice.method !== 'context') fellBack++;
  }
  const pct = (n: number): number => Math.round((n / Math.max(1, cases.length)) * 10_000) / 100;
  return { cases: cases.length, accuracy: pct(right), most_frequent_sense: pct(mfsRight), fell_back_to_mfs: fellBack };
}

export default async function run(args: string[]): Promise<void> {
  const max = argValue(args, 'max-cases', 3000);
  const wn = wordnet();
  const t0 = performance.now();
  const examples = exampleCases(wn);
  const domain = domainCases(wn);
  const buildSeconds = (performance.now() - t0) / 1000;
  const split = (xs: WsdCase[], dev: boolean): WsdCase[] => spread(xs.filter((c) => isDev(c.word) === dev), dev ? Math.ceil(max / 4) : max);
  const dev = { example: split(examples, true), domain: split(domain, true) };
  const test = { example: split(examples, false), domain: split(domain, false) };
  const glove = createProvider({ name: 'glove' }) as GloveProvider;
  const vectors = wordVectorsOf(glove.vocabularySpace);

  let weights = DEFAULT_SENSE_WEIGHTS;
  const tuning: Array<Record<string, unknown>> = [];
  if (args.includes('--tune')) {
    let best = -1;
    for (const overlap of [0, 0.5, 1, 2]) {
      for (const prior of [0, 0.05, 0.1, 0.2]) {
        const w = { ...DEFAULT_SENSE_WEIGHTS, overlap, prior };
        const a = evaluate(wn, dev.example, vectors, w);
        const b = evaluate(wn, dev.domain, vectors, w);
        // Both kinds count equally: the dev score is the mean of the two accuracies.
        const score = (a.accuracy + b.accuracy) / 2;
        tuning.push({ overlap, prior, dev_example: a.accuracy, dev_domain: b.accuracy });
        if (score > best) {
          best = score;
          weights = w;
        }
      }
    }
  }
  const t1 = performance.now();
  const exampleResult = evaluate(wn, test.example, vectors, weights);
  const domainResult = evaluate(wn, test.domain, vectors, weights);
  const perCaseMs = (performance.now() - t1) / (test.example.length + test.domain.length);
  report('wsd', {
    note: 'accuracy in % on the test split (lemmas hashed apart from dev); most_frequent_sense = WordNet\'s first sense, the old --synset auto',
    cases_built: { example: examples.length, domain: domain.length, seconds: Math.round(buildSeconds * 10) / 10 },
    weights,
    ...(tuning.length > 0 ? { tuning_on_dev: tuning } : {}),
    test_example_contexts: exampleResult,
    test_domain_contexts: domainResult,
    test_domain_contexts_without_domain_links: evaluate(wn, test.domain, vectors, weights, true),
    test_example_contexts_overlap_only: evaluate(wn, test.example, undefined, weights),
    test_domain_contexts_overlap_only: evaluate(wn, test.domain, undefined, weights),
    ms_per_choice: Math.round(perCaseMs * 100) / 100,
  });
}
