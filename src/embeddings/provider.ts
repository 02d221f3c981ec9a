/**
 * What every embedding source offers: a name and a fixed dimension recorded per context (so
 * mixing dimensions can be refused), and a text -> unit vector mapping that says when it had to
 * invent a vector instead of knowing one.
 */
export interface Embedding {
  /** Unit length (or all zeros only if the provider cannot do better; none of ours does that). */
  vector: Float32Array;
  /** True when no part of the text was known and a deterministic stand-in was produced. */
  fallback: boolean;
}

export interface EmbeddingProvider {
  readonly name: 'glove' | 'hash' | (string & {});
  readonly dimension: number;
  embed(text: string): Embedding;
}

/** Splits a concept name into words: whitespace, underscores and hyphens all separate words. */
export function splitWords(text: string): string[] {
  return text
    .toLowerCase()
    .split(/[\s_-]+/u)
    .filter((w) => w.length > 0);
}
