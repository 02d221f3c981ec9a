/**
 * A deterministic, dependency-free provider: each word is the signed sum of its hashed character
 * n-grams (fastText-style, with word boundary markers), so related spellings share features and
 * the same text always yields the same vector on every platform.
 */
import { SoftlogicError } from '../core/errors.js';
import type { Embedding, EmbeddingProvider } from './provider.js';
import { splitWords } from './provider.js';
import { normalizeInPlace } from './vector-math.js';

export interface HashProviderOptions {
  dimension?: number;
  /** Character n-gram sizes; 3..5 balances spelling similarity against collisions. */
  minN?: number;
  maxN?: number;
}

/** FNV-1a over UTF-16 code units: fast, stable, no dependency. */
function fnv1a(s: string, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export class HashProvider implements EmbeddingProvider {
  readonly name = 'hash';
  readonly dimension: number;
  private readonly minN: number;
  private readonly maxN: number;

  constructor(options: HashProviderOptions = {}) {
    const dimension = options.dimension ?? 100;
    if (!Number.isInteger(dimension) || dimension < 1 || dimension > 65536) {
      throw new SoftlogicError('INVALID_INPUT', `hash dimension must be an integer in 1..65536, got ${dimension}`);
    }
    this.dimension = dimension;
    this.minN = options.minN ?? 3;
    this.maxN = options.maxN ?? 5;
  }

  embed(text: string): Embedding {
    const words = splitWords(text);
    if (words.length === 0) throw new SoftlogicError('INVALID_INPUT', 'cannot embed an empty name');
    const v = new Float32Array(this.dimension);
    for (const word of words) this.addWord(v, word);
    return { vector: normalizeInPlace(v), fallback: false };
  }

  private addWord(v: Float32Array, word: string): void {
    const marked = `<${word}>`;
    // The whole word is its own feature so that short words still differ clearly.
    this.addFeature(v, marked);
    for (let n = this.minN; n <= this.maxN; n++) {
      for (let i = 0; i + n <= marked.length; i++) this.addFeature(v, marked.slice(i, i + n));
    }
  }

  private addFeature(v: Float32Array, feature: string): void {
    const h = fnv1a(feature, 0);
    // A second, independent hash picks the sign so collisions cancel out on average.
    const sign = fnv1a(feature, 0x9e3779b9) & 1 ? 1 : -1;
    v[h % this.dimension] += sign;
  }
}
