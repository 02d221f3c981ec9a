/**
 * VectorIndex by linear scan: exact, trivially incremental, persisted as an embeddings .npz so
 * the file is also readable by NumPy.
 */
import { SoftlogicError } from '../core/errors.js';
import type { Vector } from './vector-math.js';
import { VectorSpace } from './vector-space.js';
import { exactSearch } from './exact-search.js';
import { readEmbeddingsNpz, writeEmbeddingsNpz } from './npz.js';
import type { IndexHit, VectorIndex } from './vector-index.js';

export class ExactVectorIndex implements VectorIndex {
  readonly kind = 'exact';
  readonly dimension: number;
  private space: VectorSpace;

  constructor(dimension: number) {
    this.dimension = dimension;
    this.space = new VectorSpace(dimension);
  }

  static fromFile(path: string): ExactVectorIndex {
    const table = readEmbeddingsNpz(path);
    const index = new ExactVectorIndex(Math.max(1, table.dimension));
    index.fill(table.ids, table.vectors);
    return index;
  }

  /** Ids and their unit rows (views, not copies): what a background build of another index starts from. */
  contents(): { ids: readonly string[]; matrix: Float32Array } {
    return { ids: this.space.ids, matrix: this.space.matrix };
  }

  get size(): number {
    return this.space.size;
  }

  has(id: string): boolean {
    return this.space.has(id);
  }

  add(id: string, vector: Vector): void {
    this.space.add(id, vector);
  }

  addAll(ids: readonly string[], matrix: Float32Array): void {
    if (matrix.length !== ids.length * this.dimension) {
      throw new SoftlogicError('DIMENSION_MISMATCH', `${ids.length} ids need ${ids.length * this.dimension} values, got ${matrix.length}`);
    }
    this.fill(ids, matrix);
  }

  remove(id: string): boolean {
    return this.space.remove(id);
  }

  search(vector: Vector, k: number): IndexHit[] {
    return exactSearch(this.space, vector, k).map(({ id, score }) => ({ id, score }));
  }

  save(path: string): void {
    // Stored, not deflated: float vectors barely compress, and an exact index may hold 100,000s of them.
    writeEmbeddingsNpz(path, { ids: [...this.space.ids], dimension: this.dimension, vectors: this.space.matrix }, false);
  }

  load(path: string): void {
    const table = readEmbeddingsNpz(path);
    if (table.ids.length > 0 && table.dimension !== this.dimension) {
      throw new SoftlogicError('DIMENSION_MISMATCH', `${path} holds ${table.dimension}-d vectors, this index is ${this.dimension}-d`);
    }
    this.space = new VectorSpace(this.dimension, table.ids.length);
    this.fill(table.ids, table.vectors);
  }

  private fill(ids: readonly string[], vectors: Float32Array): void {
    const d = this.dimension;
    ids.forEach((id, i) => this.space.add(id, vectors.subarray(i * d, (i + 1) * d)));
  }
}
