/**
 * Dense vector helpers shared by the reasoning modules. Vectors are Float32Array (what the
 * embedding store holds); sums are accumulated in doubles so long vectors do not lose precision.
 */
import { SoftlogicError } from '../core/errors.js';

/** n row vectors of `dim` floats, row-major: row i is data[i*dim .. (i+1)*dim). */
export interface VectorMatrix {
  data: Float32Array;
  n: number;
  dim: number;
}

export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

export function norm(a: ArrayLike<number>): number {
  return Math.sqrt(dot(a, a));
}

/** Cosine similarity; 0 when either vector is zero (no direction, so no similarity). */
export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const na = norm(a);
  const nb = norm(b);
  if (na === 0 || nb === 0) return 0;
  return dot(a, b) / (na * nb);
}

/** A unit-length copy; a zero vector stays zero. */
export function unit(a: ArrayLike<number>): Float32Array {
  const out = Float32Array.from(a);
  const n = norm(out);
  if (n > 0) for (let i = 0; i < out.length; i++) out[i] /= n;
  return out;
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
      const inv = 1 / Math.sqrt(s);
      for (let j = 0; j < m.dim; j++) out[o + j] *= inv;
    }
  }
  return out;
}
