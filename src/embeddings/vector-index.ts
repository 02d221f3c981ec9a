/**
 * The similarity-index contract shared by exact search and HNSW, and the factory that chooses
 * between them: below a size threshold a linear scan is exact and already fast (5000 x 100-d is
 * ~0.5 M multiply-adds, well under a millisecond), so an approximate graph would only add
 * build cost, persistence and recall loss.
 */
import { existsSync, readFileSync } from 'node:fs';
import { SoftlogicError } from '../core/errors.js';
import type { Vector } from './vector-math.js';
import { ExactVectorIndex } from './exact-index.js';
import { HnswVectorIndex, hnswMetaPath } from './hnsw-index.js';
import type { HnswOptions } from './hnsw-index.js';

export interface IndexHit {
  id: string;
  /** Cosine similarity to the query. */
  score: number;
}

export interface VectorIndex {
  readonly kind: 'exact' | 'hnsw';
  readonly dimension: number;
  readonly size: number;
  has(id: string): boolean;
  /** Adds or replaces the vector of `id` (stored unit-normalised). */
  add(id: string, vector: Vector): void;
  /** Adds or replaces many (row-major N x D); HNSW builds these with several threads. */
  addAll(ids: readonly string[], matrix: Float32Array): void;
  remove(id: string): boolean;
  /**
   * Best first; k <= 0 is INVALID_INPUT, k beyond size clamps. HNSW is approximate: asked for
   * nearly the whole index it may return a few fewer than k (nodes its search did not reach).
   */
  search(vector: Vector, k: number): IndexHit[];
  /** Persists atomically. */
  save(path: string): void;
  /** Replaces the contents with what `save` wrote at `path`. */
  load(path: string): void;
}

/** Index sizes below this use exact search. */
export const EXACT_THRESHOLD = 5000;

export interface CreateIndexOptions extends HnswOptions {
  /** Expected number of vectors; decides exact vs HNSW. */
  expectedSize?: number;
  threshold?: number;
}

export function createVectorIndex(dimension: number, options: CreateIndexOptions = {}): VectorIndex {
  const threshold = options.threshold ?? EXACT_THRESHOLD;
  if ((options.expectedSize ?? 0) < threshold) return new ExactVectorIndex(dimension);
  return new HnswVectorIndex(dimension, options);
}

/** Opens whatever kind of index `save` left at `path` (HNSW leaves a metadata sidecar). */
export function loadVectorIndex(path: string): VectorIndex {
  if (!existsSync(path)) throw new SoftlogicError('FILE_NOT_FOUND', `no vector index at ${path}`);
  const metaPath = hnswMetaPath(path);
  if (existsSync(metaPath)) {
    const meta = JSON.parse(readFileSync(metaPath, 'utf8')) as { dimension?: unknown };
    if (typeof meta.dimension !== 'number') throw new SoftlogicError('INTEGRITY', `${metaPath} is not an index sidecar`);
    const index = new HnswVectorIndex(meta.dimension);
    index.load(path);
    return index;
  }
  return ExactVectorIndex.fromFile(path);
}
