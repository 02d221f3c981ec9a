import { readTextFile } from '../../core/input-files.js';
import { SoftlogicError } from '../../core/errors.js';
import { assertContextName, DEFAULT_CONTEXT } from '../../core/names.js';
import {
  complete,
  cosine,
  createProvider,
  euclidean,
  evaluateAnalogies,
  exactSearch,
  GloveProvider,
  manhattan,
  parseEvalMethod,
  parseMethod,
  parseQuestions,
  validateK,
  type AnalogyMethod,
  type EvalResult,
  type VectorSpace,
} from '../../embeddings/index.js';
import { ABTT_COMPONENTS, allButTheTop, parsePostprocess, type Postprocess } from '../../embeddings/postprocess.js';
import type { VectorBackend } from '../../backend/vector-table.js';
import { wordnet } from '../../reasoning/wordnet.js';
import type { ConceptRecord } from '../concepts/concept-record.js';
import { decodeVector } from './codec.js';
import { effectiveSettings, providerFor, type EmbeddingSettings } from './settings.js';
import { registrySpace } from './context-vectors.js';
import { searchIndex } from './index-store.js';

/**
 * What the reasoning over vectors needs of a store: the backend's vector parts, and the concept a
 * term names (by id or name, in the context or its parents; the concept methods' lookup).
 */
export interface ReasoningStore extends VectorBackend {
  findConcept(nameOrId: string, context: string): Promise<ConceptRecord | undefined>;
}

export type Scope = 'registry' | 'vocabulary';
export const MAX_K = 10_000;

export function parseScope(scope: string): Scope {
  if (scope === 'registry' || scope === 'vocabulary') return scope;
  throw new SoftlogicError('INVALID_INPUT', `unknown scope ${JSON.stringify(scope)} (registry or vocabulary)`, { field: 'scope' });
}

function checkK(k: number): number {
  if (!Number.isInteger(k) || k <= 0 || k > MAX_K) throw new SoftlogicError('INVALID_INPUT', `k must be an integer in [1, ${MAX_K}], got ${k}`, { field: 'k', k });
  return k;
}

async function settingsOf(store: ReasoningStore, context: string): Promise<EmbeddingSettings> {
  await store.contexts.require(context);
  const s = await effectiveSettings(store, context);
  // A context without concepts yet answers with the default provider.
  return s ?? { provider: 'glove', dimension: 100 };
}

/** A term's vector: a concept's stored vector (by id or name), else the provider's embedding. */
export interface Resolved {
  term: string;
  concept: ConceptRecord | null;
  vector: Float32Array;
  source: 'concept' | 'provider';
}

export async function resolveTerm(store: ReasoningStore, term: string, context: string, settings: EmbeddingSettings): Promise<Resolved> {
  if (term.trim().length === 0) throw new SoftlogicError('INVALID_INPUT', 'term must not be empty', { field: 'term' });
  const concept = (await store.findConcept(term, context)) ?? null;
  if (concept?.embedding) return { term, concept, vector: decodeVector(concept.embedding), source: 'concept' };
  if (settings.provider === 'imported') {
    throw new SoftlogicError('NOT_IN_VOCABULARY', `"${term}" is not a concept of context '${context}' (its vectors are imported, so names cannot be embedded)`, { words: [term] });
  }
  const embedded = providerFor(settings).embed(term);
  if (embedded.fallback) throw new SoftlogicError('NOT_IN_VOCABULARY', `not in vocabulary: "${term}" (no word of it is known to ${settings.provider})`, { words: [term] });
  return { term, concept, vector: embedded.vector, source: 'provider' };
}

function glove(settings: EmbeddingSettings): GloveProvider {
  if (settings.provider !== 'glove') {
    throw new SoftlogicError('INVALID_INPUT', `scope vocabulary needs the glove provider; this context uses ${settings.provider}`, { provider: settings.provider });
  }
  return createProvider({ name: 'glove' }) as GloveProvider;
}

export interface SimilarResult {
  query: string;
  context: string;
  scope: Scope;
  k: number;
  method: string;
  results: Array<{ id: string; name: string; score: number }>;
}

/** Nearest concepts of the registry (the context and its parents) or words of the vocabulary. */
export async function similarConcepts(store: ReasoningStore, term: string, options: { context?: string; k?: number; scope?: Scope } = {}): Promise<SimilarResult> {
  const context = assertContextName(options.context ?? DEFAULT_CONTEXT);
  const k = checkK(options.k ?? 10);
  const scope = options.scope ?? 'registry';
  const settings = await settingsOf(store, context);
  const q = await resolveTerm(store, term, context, settings);
  if (scope === 'vocabulary') {
    const space = glove(settings).vocabularySpace;
    const self = space.indexOf(q.concept?.name ?? term.trim().toLowerCase());
    const hits = exactSearch(space, q.vector, k, { excludeRows: self >= 0 ? new Set([self]) : undefined });
    return { query: term, context, scope, k, method: 'exact cosine over the vocabulary', results: hits.map((h) => ({ id: h.id, name: h.id, score: h.score })) };
  }
  const exclude = new Set(q.concept ? [q.concept.id] : []);
  const merged: Array<{ id: string; score: number; name: string }> = [];
  const names = new Map<string, string>();
  for (const row of await store.contexts.chain(context)) {
    for (const h of await searchIndex(store, row.name, q.vector, k, exclude)) {
      if (names.has(h.id)) continue;
      names.set(h.id, h.id);
      merged.push({ id: h.id, score: h.score, name: nameOfId(h.id) });
    }
  }
  merged.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1));
  return { query: term, context, scope, k, method: 'cosine over the concept index', results: merged.slice(0, k) };
}

function nameOfId(id: string): string {
  const parts = id.split(':');
  return parts[1] ?? id;
}

export type SimilarityMethod = 'cosine' | 'euclidean' | 'manhattan' | 'hybrid';

export function parseSimilarityMethod(m: string): SimilarityMethod {
  if (m === 'cosine' || m === 'euclidean' || m === 'manhattan' || m === 'hybrid') return m;
  throw new SoftlogicError('INVALID_INPUT', `unknown similarity method ${JSON.stringify(m)} (cosine, euclidean, manhattan or hybrid)`, { field: 'method' });
}

export interface SimilarityResult {
  a: { term: string; concept: string | null; synset_id: string | null };
  b: { term: string; concept: string | null; synset_id: string | null };
  method: SimilarityMethod;
  /** similarity (cosine, hybrid) or distance (euclidean, manhattan) */
  score: number;
  kind: 'similarity' | 'distance';
  cosine: number;
  path_similarity: number | null;
  note: string | null;
}

/**
 * hybrid = mean of cosine and WordNet path similarity when both terms are WordNet-grounded
 * concepts; otherwise it equals cosine and the result says so.
 */
export async function similarity(store: ReasoningStore, a: string, b: string, options: { context?: string; method?: SimilarityMethod } = {}): Promise<SimilarityResult> {
  const context = assertContextName(options.context ?? DEFAULT_CONTEXT);
  const method = options.method ?? 'cosine';
  const settings = await settingsOf(store, context);
  const ra = await resolveTerm(store, a, context, settings);
  const rb = await resolveTerm(store, b, context, settings);
  const cos = cosine(ra.vector, rb.vector);
  let score = cos;
  let kind: SimilarityResult['kind'] = 'similarity';
  let path: number | null = null;
  let note: string | null = null;
  if (method === 'euclidean') {
    score = euclidean(ra.vector, rb.vector);
    kind = 'distance';
  } else if (method === 'manhattan') {
    score = manhattan(ra.vector, rb.vector);
    kind = 'distance';
  } else if (method === 'hybrid') {
    const sa = ra.concept?.synset_id;
    const sb = rb.concept?.synset_id;
    if (sa && sb) {
      path = wordnet().pathSimilarity(sa, sb);
      if (path === null) note = `${sa} and ${sb} share no WordNet hierarchy: hybrid equals cosine`;
      else score = (cos + path) / 2;
    } else {
      const ungrounded = [sa ? null : a, sb ? null : b].filter((x) => x !== null);
      note = `not WordNet-grounded: ${ungrounded.map((t) => JSON.stringify(t)).join(', ')}; hybrid equals cosine`;
    }
  }
  const side = (r: Resolved) => ({ term: r.term, concept: r.concept?.id ?? null, synset_id: r.concept?.synset_id ?? null });
  return { a: side(ra), b: side(rb), method, score, kind, cosine: cos, path_similarity: path, note };
}

export interface CompletionResult {
  question: { a: string; b: string; c: string };
  context: string;
  scope: Scope;
  method: AnalogyMethod;
  postprocess: Postprocess;
  results: Array<{ id: string; name: string; score: number; cos_a: number; cos_b: number; cos_c: number }>;
  trace: string[];
  /** why the vocabulary answered although no scope was asked for (null: the asked scope answered) */
  fallback_reason: string | null;
}

function vocabularyCompletion(settings: EmbeddingSettings, a: string, b: string, c: string, k: number, method: AnalogyMethod, postprocess: Postprocess) {
  const vocabulary = glove(settings).vocabularySpace;
  const space = postprocess === 'abtt' ? processedVocabulary(vocabulary) : vocabulary;
  const r = complete(space, a, b, c, { k, method });
  const trace = postprocess === 'abtt' ? [...r.trace, `vectors post-processed: all-but-the-top (mean and top ${ABTT_COMPONENTS} principal components of the vocabulary removed)`] : r.trace;
  return { question: r.question, results: r.results.map((x) => ({ id: x.id, name: x.id, score: x.score, cos_a: x.cosA, cos_b: x.cosB, cos_c: x.cosC })), trace };
}

/**
 * a : b :: c : ? (a is to b as c is to ?) over the registry's concepts (terms are concept names
 * or ids) or the vocabulary. With no scope given and no concept in the context's registry, the
 * vocabulary answers and `fallback_reason` says so.
 */
export async function completeAnalogy(
  store: ReasoningStore,
  a: string,
  b: string,
  c: string,
  options: { context?: string; k?: number; method?: string; scope?: Scope; postprocess?: string } = {},
): Promise<CompletionResult> {
  const context = assertContextName(options.context ?? DEFAULT_CONTEXT);
  const k = checkK(options.k ?? 10);
  if (options.method === 'cosavg') {
    throw new SoftlogicError('INVALID_INPUT', "method cosavg needs the other pairs of a relation: use it with 'analogy eval' (cosadd or cosmul here)", { field: 'method' });
  }
  const method = parseMethod(options.method ?? 'cosadd');
  const postprocess = parsePostprocess(options.postprocess ?? 'none');
  const settings = await settingsOf(store, context);
  if (options.scope === 'vocabulary') {
    return { ...vocabularyCompletion(settings, a, b, c, k, method, postprocess), context, scope: 'vocabulary', method, postprocess, fallback_reason: null };
  }
  const { space } = await registrySpace(store, context, settings.dimension);
  if (options.scope === undefined && space.size === 0 && settings.provider === 'glove') {
    const fallback_reason = `context '${context}' has no concepts with vectors: answered from the GloVe vocabulary`;
    const answered = vocabularyCompletion(settings, a, b, c, k, method, postprocess);
    return { ...answered, trace: [fallback_reason, ...answered.trace], context, scope: 'vocabulary', method, postprocess, fallback_reason };
  }
  if (postprocess !== 'none') {
    throw new SoftlogicError('INVALID_INPUT', `postprocess ${postprocess} applies to the GloVe vocabulary (scope vocabulary), not to a registry`, { field: 'postprocess' });
  }
  return completeOverRegistry(store, space, context, [a, b, c], k, method);
}

/** a : b :: c : ? over the registry's concepts of a context (terms are concept names or ids). */
async function completeOverRegistry(
  store: ReasoningStore,
  space: VectorSpace,
  context: string,
  [a, b, c]: string[],
  k: number,
  method: AnalogyMethod,
): Promise<CompletionResult> {
  const ids: Array<string | undefined> = [];
  for (const t of [a, b, c]) {
    if (t.trim().length === 0) throw new SoftlogicError('INVALID_INPUT', 'analogy terms must not be empty');
    ids.push((await store.findConcept(t, context))?.id);
  }
  const missing = [a, b, c].filter((_, i) => ids[i] === undefined || !space.has(ids[i] as string));
  if (missing.length > 0) {
    throw new SoftlogicError('NOT_IN_VOCABULARY', `not concepts of context '${context}': ${missing.map((w) => JSON.stringify(w)).join(', ')} (add them as concepts, or ask for the vocabulary scope)`, {
      words: missing,
      option: { scope: 'vocabulary' },
    });
  }
  if (space.size <= 3) throw new SoftlogicError('INVALID_INPUT', `the registry of '${context}' has ${space.size} concepts: no candidate is left besides the three question terms`);
  validateK(k, space.size - 3);
  const r = complete(space, ids[0] as string, ids[1] as string, ids[2] as string, { k, method });
  return {
    question: r.question,
    context,
    scope: 'registry',
    method,
    postprocess: 'none',
    results: r.results.map((x) => ({ id: x.id, name: nameOfId(x.id), score: x.score, cos_a: x.cosA, cos_b: x.cosB, cos_c: x.cosC })),
    trace: r.trace,
    fallback_reason: null,
  };
}

/** Questions-words accuracy over the GloVe vocabulary restricted to its `top` most frequent words. */
export function evalAnalogies(file: string, options: { top?: number; method?: string; postprocess?: string } = {}): EvalResult {
  const method = parseEvalMethod(options.method ?? 'cosadd');
  const postprocess = parsePostprocess(options.postprocess ?? 'none');
  const text = readTextFile(file);
  const sections = parseQuestions(text);
  const g = createProvider({ name: 'glove' }) as GloveProvider;
  return evaluateAnalogies(g.vocabularySpace, sections, { top: options.top ?? 30_000, method, postprocess });
}

const processed = new WeakMap<VectorSpace, VectorSpace>();

/** The whole vocabulary post-processed once per process (~0.5 s per 100,000 words; a second copy of the matrix). */
function processedVocabulary(space: VectorSpace): VectorSpace {
  let p = processed.get(space);
  if (!p) processed.set(space, (p = allButTheTop(space)));
  return p;
}
