/**
 * Dense-vector helpers for the whole code base (embeddings and reasoning). Plain loops over typed
 * arrays: V8 compiles these to tight machine code, and a dependency would buy nothing at 100
 * dimensions. Sums are accumulated in doubles, so long vectors do not lose precision.
 */
import { SoftlogicError } from '../core/errors.js';

export type Vector = ArrayLike<number>;

function sameDimension(a: Vector, b: Vector): void {
  if (a.length !== b.length) {
    throw new SoftlogicError('DIMENSION_MISMATCH', `vectors have ${a.length} and ${b.length} dimensions`, {
      left: a.length,
      right: b.length,
    });
  }
}

export function dot(a: Vector, b: Vector): number {
  sameDimension(a, b);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

export function norm(a: Vector): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * a[i];
  return Math.sqrt(s);
}

/** Cosine similarity; a zero vector has no direction, so its similarity to anything is 0. */
export function cosine(a: Vector, b: Vector): number {
  sameDimension(a, b);
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  if (aa === 0 || bb === 0) return 0;
  return ab / Math.sqrt(aa * bb);
}

export function euclidean(a: Vector, b: Vector): number {
  sameDimension(a, b);
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - b[i];
    s += d * d;
  }
  return Math.sqrt(s);
}

export function manhattan(a: Vector, b: Vector): number {
  sameDimension(a, b);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i]);
  return s;
}

/** A unit-length copy as Float32Array; a zero vector stays zero rather than becoming NaN. */
export function normalize(a: Vector): Float32Array {
  const out = new Float32Array(a.length);
  const n = norm(a);
  if (n === 0) return out;
  for (let i = 0; i < a.length; i++) out[i] = a[i] / n;
  return out;
}

/** Normalises `a` in place (used on freshly built buffers to avoid a second allocation). */
export function normalizeInPlace(a: Float32Array): Float32Array {
  const n = norm(a);
  if (n === 0) return a;
  for (let i = 0; i < a.length; i++) a[i] /= n;
  return a;
}

/** Throws INVALID_INPUT naming the first non-finite component, so bad data never enters an index. */
export function assertFinite(a: Vector, what = 'vector'): void {
  for (let i = 0; i < a.length; i++) {
    if (!Number.isFinite(a[i])) {
      throw new SoftlogicError('INVALID_INPUT', `${what} has a non-finite value (${a[i]}) at position ${i}`, {
        position: i,
        value: String(a[i]),
      });
    }
  }
}

/** n row vectors of `dim` floats, row-major: row i is data[i*dim .. (i+1)*dim). */
export interface VectorMatrix {
  data: Float32Array;
  n: number;
  dim: number;
}

/** Checks shape and finiteness once at the boundary, so inner loops need not. */
export function checkMatrix(m: VectorMatrix, what = 'vectors'): void {
  if (!Number.isInteger(m.n) || m.n < 0 || !Number.isInteger(m.dim) || m.dim <= 0) {
    throw new SoftlogicError('INVALID_INPUT', `${what}: n must be a non-negative integer and dim a positive one`, {
      n: m.n,
      dim: m.dim,
    });
  }
  if (m.data.length !== m.n * m.dim) {
    throw new SoftlogicError('DIMENSION_MISMATCH', `${what}: expected ${m.n} x ${m.dim} = ${m.n * m.dim} floats, got ${m.data.length}`, {
      n: m.n,
      dim: m.dim,
      length: m.data.length,
    });
  }
  for (let i = 0; i < m.data.length; i++) {
    if (!Number.isFinite(m.data[i])) {
      throw new SoftlogicError('INVALID_INPUT', `${what}: row ${Math.floor(i / m.dim)} holds a non-finite value`, {
        row: Math.floor(i / m.dim),
      });
    }
  }
}

/** Row-normalized copy of a matrix (zero rows stay zero). */
export function unitRows(m: VectorMatrix): Float32Array {
  const out = new Float32Array(m.data);
  for (let r = 0; r < m.n; r++) {
    const o = r * m.dim;
    let s = 0;
    for (let j = 0; j < m.dim; j++) s += out[o + j] * out[o + j];
    if (s > 0) {
      // Multiplying by the inverse (not dividing) keeps k-means' results bit-identical to before the fold.
      const inv = 1 / Math.sqrt(s);
      for (let j = 0; j < m.dim; j++) out[o + j] *= inv;
    }
  }
  return out;
}
