/**
 * What a store knows about a context, as words for choosing a word's sense (`--synset auto`): the
 * context's name and description, its parents' names and descriptions, and the names of the
 * concepts already in it (the most recent first, up to CONTEXT_CONCEPTS). The default context is a
 * catch-all, not a domain: neither its name nor its concepts count (its description does).
 */
import { SoftlogicError } from '../../core/errors.js';
import { DEFAULT_CONTEXT } from '../../core/names.js';
import { createProvider, type GloveProvider } from '../../embeddings/index.js';
import { chooseSense, wordVectorsOf, type SenseChoice, type WordVectors } from '../../reasoning/word-sense.js';
import { wordnet } from '../../reasoning/wordnet.js';
import type { Backend } from '../../backend/backend.js';

const CONTEXT_CONCEPTS = 200;

/** The context's own words; a context that does not exist yet offers its name only. */
export async function senseContextTexts(backend: Backend, context: string, extra: ReadonlyArray<string | null | undefined> = []): Promise<string[]> {
  const texts: string[] = [];
  const named = (name: string): void => {
    if (name !== DEFAULT_CONTEXT) texts.push(name.replace(/[_.-]+/g, ' '));
  };
  const exists = (await backend.contexts.get(context)) !== undefined;
  if (!exists) named(context);
  for (const c of exists ? await backend.contexts.chain(context) : []) {
    named(c.name);
    if (c.description) texts.push(c.description);
    if (c.name === context && c.name !== DEFAULT_CONTEXT) {
      const recent = await backend.records.queryEntities<{ name: string }>(c.name, 'concept', { order: 'newest', limit: CONTEXT_CONCEPTS });
      if (recent.length > 0) texts.push(recent.map((r) => r.name.replace(/_/g, ' ')).join(', '));
    }
  }
  for (const t of extra) if (t) texts.push(t);
  return texts;
}

let vectors: WordVectors | null | undefined;

/** GloVe's vocabulary as word vectors for sense choice; without GloVe (not installed) overlap alone decides. */
export function senseVectors(): WordVectors | undefined {
  if (vectors === undefined) {
    try {
      vectors = wordVectorsOf((createProvider({ name: 'glove' }) as GloveProvider).vocabularySpace);
    } catch (err) {
      if (!(err instanceof SoftlogicError)) throw err;
      vectors = null;
    }
  }
  return vectors ?? undefined;
}

/** The sense of `word` that fits the texts; NOT_FOUND when WordNet does not know the word. */
export function chooseSenseFor(word: string, texts: readonly string[]): SenseChoice {
  const choice = chooseSense(wordnet(), word, texts, { vectors: senseVectors() });
  if (!choice) throw new SoftlogicError('NOT_FOUND', `WordNet has no sense of "${word.replace(/_/g, ' ')}" (synset 'auto')`, { name: word, field: 'synset' });
  return choice;
}

export interface SensesOptions {
  /** A context of the store whose words count (default: none). */
  context?: string;
  /** Further words, e.g. the concept's description. */
  text?: string;
}

/** Scores the senses of `word` against a context of the store and/or free text. */
export async function sensesInContext(backend: Backend, word: string, options: SensesOptions = {}): Promise<SenseChoice> {
  const name = word.trim().toLowerCase().replace(/\s+/g, '_');
  if (name.length === 0) throw new SoftlogicError('INVALID_INPUT', 'word must not be empty', { field: 'word' });
  if (options.context !== undefined) await backend.contexts.require(options.context);
  const texts = options.context === undefined ? [] : await senseContextTexts(backend, options.context);
  return chooseSenseFor(name, options.text ? [...texts, options.text] : texts);
}
