/**
 * Word-sense choice from context (`--synset auto`): which WordNet sense of a word fits the words
 * a context offers (its name, description, parents, the concepts already in it).
 *
 * Each candidate sense gets a signature: a weighted bag of words from its gloss, lemmas and
 * examples, its lexicographer file (noun.plant, noun.artifact), its hypernyms, some hyponyms and
 * its WordNet domains (and their members). Two kinds of evidence compare the signature with the
 * context words:
 *   - overlap, Lesk-style (Lesk 1986; Banerjee & Pedersen 2002 for the extended neighbourhood):
 *     the weight of the signature words the context also names, per context word;
 *   - embedding similarity: cosine between the weighted mean of the signature's word vectors and
 *     the mean of the context's word vectors (GloVe), both centred on the vocabulary's mean vector
 *     (all-but-the-top's first step: without it every mean of many words points the same way).
 * A small prior for WordNet's sense order (its first sense is the most frequent) breaks near ties.
 * When the context has no usable word, or the evidence of all senses is within a margin, the
 * most frequent sense is chosen and the reason says so; another sense must lead it by the margin.
 */
import type { Synset, WordNet } from './wordnet.js';
import { LEX_FILE_NAMES } from './wordnet.js';
import { cosine } from '../embeddings/vector-math.js';

/** Unit word vectors by lower-case word; `center` is subtracted before comparing means. */
export interface WordVectors {
  readonly dimension: number;
  vector(word: string): Float32Array | undefined;
  readonly center: Float32Array;
}

export interface SenseWeights {
  /** Weight of the embedding cosine (in [-1, 1]). */
  embedding: number;
  /** Weight of the overlap score (weighted matches per context word, in [0, 1]). */
  overlap: number;
  /** Weight of the sense-order prior 1/rank (1 for the first sense). */
  prior: number;
  /** Evidence spread (max - min over senses) below which the senses are not separated, and the
   * lead over the most frequent sense that another sense needs to be chosen. */
  margin: number;
}

/**
 * Set before evaluating and checked on the dev split of `npm run bench -- wsd --tune` (a grid over
 * overlap and prior; the test split was not looked at): overlap 1 is among the best there; prior
 * 0 scored 0.4 points higher on dev, within noise, and 0.05 is kept because it keeps an
 * uninformative context name ("kb") from moving a word off its most frequent sense.
 */
export const DEFAULT_SENSE_WEIGHTS: SenseWeights = { embedding: 1, overlap: 1, prior: 0.05, margin: 0.02 };

export interface SenseCandidate {
  synset_id: string;
  /** 1-based position among the word's senses: WordNet orders them by tagged frequency. */
  rank: number;
  lemmas: string[];
  gloss: string;
  /** Cosine of centred mean vectors, or null without word vectors or without known context words. */
  embedding: number | null;
  overlap: number;
  /** Signature words the context shares with this sense (stems). */
  matched: string[];
  score: number;
}

export type SenseMethod = 'context' | 'most_frequent_sense' | 'only_sense';

export interface SenseChoice {
  word: string;
  synset_id: string;
  method: SenseMethod;
  reason: string;
  /** Context words used (after dropping stop words and the word itself). */
  context_words: string[];
  candidates: SenseCandidate[];
}

export interface ChooseSenseOptions {
  vectors?: WordVectors;
  weights?: SenseWeights;
  /** Example sentences left out of the signatures (evaluation: the example is the context). */
  omitExamples?: ReadonlySet<string>;
  /** Leaves WordNet domain links out of the signatures (an ablation for the evaluation). */
  withoutDomains?: boolean;
}

const STOP_WORDS = new Set(
  ('a about above after again against all also am an and any are as at be because been before being below between both but by can could did do does ' +
    'doing down during each either especially etc few for from further had has have having he her here hers him his how i if in into is it its itself ' +
    'just me more most my no nor not now of off often on once one only or other our ours out over own same she should so some something such than that the ' +
    'their them then there these they this those through to too under until up usually very was we were what when where which while who whom why will ' +
    'with would you your used use using usu e.g. i.e. kind part form type someone something esp many much may might must make made')
    .split(' '),
);

/** Lower case, possessive and common plural endings removed: how signature and context words meet. */
export function stemWord(word: string): string {
  let w = word.toLowerCase().replace(/'s$/u, '');
  if (w.length > 4 && w.endsWith('ies')) w = `${w.slice(0, -3)}y`;
  else if (w.length > 4 && /(ches|shes|sses|xes)$/u.test(w)) w = w.slice(0, -2);
  else if (w.length > 3 && w.endsWith('s') && !w.endsWith('ss') && !w.endsWith('us') && !w.endsWith('is')) w = w.slice(0, -1);
  return w;
}

/** Content words of a text: letters and digits, no stop words, no single letters. */
export function contentWords(text: string): string[] {
  return (text.toLowerCase().match(/[a-z][a-z0-9'-]*[a-z0-9]|[a-z]/gu) ?? [])
    .flatMap((w) => w.split('-'))
    .map((w) => w.replace(/'s$/u, ''))
    .filter((w) => w.length > 1 && !STOP_WORDS.has(w));
}

/** stem -> the heaviest weight seen and the surface form to look a vector up by. */
type Bag = Map<string, { weight: number; word: string }>;

function addText(bag: Bag, text: string, weight: number, exclude: ReadonlySet<string>): void {
  for (const word of contentWords(text.replace(/_/g, ' '))) {
    const stem = stemWord(word);
    if (exclude.has(stem)) continue;
    const had = bag.get(stem);
    if (!had || had.weight < weight) bag.set(stem, { weight, word });
  }
}

const HYPONYMS_READ = 40;
const DOMAIN_MEMBERS_READ = 40;

/** The weighted words that describe one sense (see the module comment for the weights' order). */
export function senseSignature(wn: WordNet, sense: Synset, exclude: ReadonlySet<string>, options: ChooseSenseOptions = {}): Bag {
  const bag: Bag = new Map();
  addText(bag, sense.lemmas.join(' '), 1, exclude);
  addText(bag, sense.definition, 1, exclude);
  for (const example of sense.examples) if (!options.omitExamples?.has(example)) addText(bag, example, 0.5, exclude);
  const lexName = LEX_FILE_NAMES[sense.lexFile];
  if (lexName && !lexName.endsWith('Tops') && !lexName.endsWith('.all')) addText(bag, lexName.slice(lexName.indexOf('.') + 1), 0.5, exclude);
  for (const h of wn.related(sense, 'hypernym')) {
    addText(bag, h.lemmas.join(' '), 0.5, exclude);
    addText(bag, h.definition, 0.25, exclude);
  }
  for (const h of wn.related(sense, 'hyponym', HYPONYMS_READ)) addText(bag, h.lemmas.join(' '), 0.25, exclude);
  if (!options.withoutDomains) {
    for (const d of wn.related(sense, 'domain')) {
      addText(bag, d.lemmas.join(' '), 1, exclude);
      addText(bag, d.definition, 0.25, exclude);
    }
    for (const m of wn.related(sense, 'domain_member', DOMAIN_MEMBERS_READ)) addText(bag, m.lemmas.join(' '), 0.25, exclude);
  }
  return bag;
}

/** Sum of weight * (unit vector - center) over the known words; undefined when none is known. */
function centredMean(vectors: WordVectors, words: Iterable<{ word: string; weight: number }>): Float32Array | undefined {
  const sum = new Float32Array(vectors.dimension);
  let known = 0;
  for (const { word, weight } of words) {
    const v = vectors.vector(word);
    if (!v) continue;
    for (let d = 0; d < sum.length; d++) sum[d] += weight * (v[d] - vectors.center[d]);
    known++;
  }
  return known > 0 ? sum : undefined;
}

const round = (x: number): number => Math.round(x * 10_000) / 10_000;

/**
 * Scores every sense of `word` (the first part of speech WordNet has it in, nouns first, as the
 * most-frequent-sense rule does) against the context texts and picks one. Undefined when WordNet
 * does not know the word.
 */
export function chooseSense(wn: WordNet, word: string, contextTexts: readonly string[], options: ChooseSenseOptions = {}): SenseChoice | undefined {
  const weights = options.weights ?? DEFAULT_SENSE_WEIGHTS;
  const first = wn.mostFrequentSense(word);
  if (!first) return undefined;
  const senses = wn.synsets(word, first.pos === 's' ? 'a' : first.pos);
  const exclude = new Set(contentWords(word.replace(/_/g, ' ')).map(stemWord));
  const contextBag: Bag = new Map();
  for (const text of contextTexts) addText(contextBag, text, 1, exclude);
  const context_words = [...contextBag.values()].map((c) => c.word);
  const base = (s: Synset, i: number): Omit<SenseCandidate, 'embedding' | 'overlap' | 'matched' | 'score'> => ({
    synset_id: s.id,
    rank: i + 1,
    lemmas: s.lemmas,
    gloss: s.gloss,
  });
  const mfs = (method: SenseMethod, reason: string, candidates: SenseCandidate[]): SenseChoice => ({
    word,
    synset_id: first.id,
    method,
    reason,
    context_words,
    candidates,
  });
  if (senses.length === 1) {
    return mfs('only_sense', 'WordNet has one sense of this word', [{ ...base(first, 0), embedding: null, overlap: 0, matched: [], score: 0 }]);
  }
  const contextVector = options.vectors ? centredMean(options.vectors, [...contextBag.values()].map((c) => ({ word: c.word, weight: 1 }))) : undefined;
  const candidates: SenseCandidate[] = senses.map((s, i) => {
    const signature = senseSignature(wn, s, exclude, options);
    const matched: string[] = [];
    let hit = 0;
    for (const stem of contextBag.keys()) {
      const w = signature.get(stem);
      if (w) {
        hit += w.weight;
        matched.push(stem);
      }
    }
    const overlap = contextBag.size > 0 ? hit / contextBag.size : 0;
    const sigVector = contextVector && options.vectors ? centredMean(options.vectors, signature.values()) : undefined;
    const embedding = contextVector && sigVector ? cosine(contextVector, sigVector) : null;
    const evidence = weights.embedding * (embedding ?? 0) + weights.overlap * overlap;
    return { ...base(s, i), embedding: embedding === null ? null : round(embedding), overlap: round(overlap), matched, score: evidence };
  });
  if (contextBag.size === 0 || (contextVector === undefined && candidates.every((c) => c.overlap === 0))) {
    for (const c of candidates) c.score = round(c.score);
    return mfs('most_frequent_sense', contextBag.size === 0 ? 'the context offers no words to compare: most frequent sense (WordNet\'s first)' : 'no context word is known to the vectors or found in any sense: most frequent sense (WordNet\'s first)', candidates);
  }
  const evidence = candidates.map((c) => c.score);
  const spread = Math.max(...evidence) - Math.min(...evidence);
  for (const c of candidates) c.score = round(c.score + weights.prior / c.rank);
  if (spread < weights.margin) {
    return mfs('most_frequent_sense', `the context does not separate the senses (evidence spread ${round(spread)} < ${weights.margin}): most frequent sense (WordNet's first)`, candidates);
  }
  let best = candidates[0];
  for (const c of candidates) if (c.score > best.score) best = c;
  // Leaving the most frequent sense takes a clear lead over it, not just any lead (a context named
  // "kb" nudges every sense a little).
  if (best !== candidates[0] && best.score - candidates[0].score < weights.margin) {
    return mfs('most_frequent_sense', `the best fit (${best.synset_id}) leads the most frequent sense by less than ${weights.margin}: most frequent sense (WordNet's first)`, candidates);
  }
  const runnerUp = Math.max(...candidates.filter((c) => c !== best).map((c) => c.score));
  return {
    word,
    synset_id: best.synset_id,
    method: 'context',
    reason: `best fit to the context (score ${best.score}, next ${round(runnerUp)})${best.rank === 1 ? '; it is also the most frequent sense' : ''}`,
    context_words,
    candidates,
  };
}

let sharedVectors: { key: object; vectors: WordVectors } | undefined;

/** Adapts unit rows (e.g. GloVe's vocabulary) to WordVectors, centred on the mean of the first `centerRows` rows. */
export function wordVectorsOf(space: { dimension: number; size: number; row(i: number): Float32Array; indexOf(word: string): number }, centerRows = 50_000): WordVectors {
  if (sharedVectors?.key === space) return sharedVectors.vectors;
  const center = new Float32Array(space.dimension);
  const n = Math.min(centerRows, space.size);
  for (let i = 0; i < n; i++) {
    const r = space.row(i);
    for (let d = 0; d < center.length; d++) center[d] += r[d] / n;
  }
  const vectors: WordVectors = {
    dimension: space.dimension,
    center,
    vector: (word) => {
      const i = space.indexOf(word);
      return i < 0 ? undefined : space.row(i);
    },
  };
  sharedVectors = { key: space, vectors };
  return vectors;
}
