/**
 * A set of named unit vectors stored as one row-major Float32Array, the layout that exact search,
 * analogy scoring and index building all stream over. Serves both a registry of concepts (grows
 * and shrinks) and a whole embedding vocabulary (wrapped without copying).
 */
import { SoftlogicError } from '../core/errors.js';
import type { Vector } from './vector-math.js';
import { assertFinite, norm } from './vector-math.js';

const SCANS_BEFORE_MAP = 32;

export class VectorSpace {
  readonly dimension: number;
  private idList: string[];
  private data: Float32Array;
  private count: number;
  /** Built on a later lookup: wrapping a 341k-word vocabulary should not pay for a Map up front. */
  private positions: Map<string, number> | undefined;
  /** Lookups answered by scanning idList so far (see indexOf). */
  private scans = 0;

  constructor(dimension: number, capacity = 16) {
    if (!Number.isInteger(dimension) || dimension < 1) {
      throw new SoftlogicError('INVALID_INPUT', `dimension must be a positive integer, got ${dimension}`);
    }
    this.dimension = dimension;
    this.idList = [];
    this.data = new Float32Array(Math.max(1, capacity) * dimension);
    this.count = 0;
  }

  /**
   * Wraps an existing matrix whose rows are already unit length (e.g. the GloVe cache) without
   * copying. Row i belongs to ids[i].
   */
  static fromUnitMatrix(ids: readonly string[], matrix: Float32Array, dimension: number): VectorSpace {
    if (matrix.length !== ids.length * dimension) {
      throw new SoftlogicError('DIMENSION_MISMATCH', `matrix has ${matrix.length} values, expected ${ids.length} x ${dimension}`);
    }
    const space = new VectorSpace(dimension, 1);
    space.idList = ids.slice();
    space.data = matrix;
    space.count = ids.length;
    return space;
  }

  get size(): number {
    return this.count;
  }

  /** The live rows (a view, not a copy): row i is matrix[i*D .. (i+1)*D). */
  get matrix(): Float32Array {
    return this.data.subarray(0, this.count * this.dimension);
  }

  get ids(): readonly string[] {
    return this.idList;
  }

  idAt(row: number): string {
    return this.idList[row];
  }

  indexOf(id: string): number {
    if (!this.positions) {
      // A command looks up a few words: a scan of the 341k-word vocabulary takes ~1 ms, the Map
      // ~0.3 s to build, so the first lookups scan (lastIndexOf: the row the Map would give).
      if (this.scans < SCANS_BEFORE_MAP) {
        this.scans++;
        return this.idList.lastIndexOf(id);
      }
      this.positions = new Map();
      for (let i = 0; i < this.count; i++) this.positions.set(this.idList[i], i);
    }
    return this.positions.get(id) ?? -1;
  }

  has(id: string): boolean {
    return this.indexOf(id) >= 0;
  }

  /** The unit vector of `id` (a view into the matrix), or undefined. */
  vector(id: string): Float32Array | undefined {
    const i = this.indexOf(id);
    return i < 0 ? undefined : this.row(i);
  }

  row(i: number): Float32Array {
    return this.data.subarray(i * this.dimension, (i + 1) * this.dimension);
  }

  /** Adds or replaces `id`; the stored copy is normalised. Zero and non-finite vectors are refused. */
  add(id: string, vector: Vector): void {
    if (id.length === 0) throw new SoftlogicError('INVALID_INPUT', 'vector id must not be empty');
    if (vector.length !== this.dimension) {
      throw new SoftlogicError('DIMENSION_MISMATCH', `vector for ${JSON.stringify(id)} has ${vector.length} dimensions, the space has ${this.dimension}`, {
        id,
        expected: this.dimension,
        actual: vector.length,
      });
    }
    assertFinite(vector, `vector for ${JSON.stringify(id)}`);
    const n = norm(vector);
    if (n === 0) throw new SoftlogicError('INVALID_INPUT', `vector for ${JSON.stringify(id)} is all zeros`);
    let i = this.indexOf(id);
    if (i < 0) {
      this.ensureCapacity(this.count + 1);
      i = this.count++;
      this.idList.push(id);
      this.positions?.set(id, i);
    }
    const off = i * this.dimension;
    for (let d = 0; d < this.dimension; d++) this.data[off + d] = vector[d] / n;
  }

  /** Removes `id` by moving the last row into its slot (O(D)); row order is not preserved. */
  remove(id: string): boolean {
    const i = this.indexOf(id);
    if (i < 0) return false;
    const last = this.count - 1;
    if (i !== last) {
      this.data.copyWithin(i * this.dimension, last * this.dimension, (last + 1) * this.dimension);
      const moved = this.idList[last];
      this.idList[i] = moved;
      this.positions?.set(moved, i);
    }
    this.idList.pop();
    this.positions?.delete(id);
    this.count = last;
    return true;
  }

  private ensureCapacity(rows: number): void {
    if (rows * this.dimension <= this.data.length) return;
    const next = new Float32Array(Math.max(rows, Math.ceil((this.data.length / this.dimension) * 1.5) + 16) * this.dimension);
    next.set(this.matrix);
    this.data = next;
  }
}
