/**
 * Small dense-vector helpers. Plain loops over typed arrays: V8 compiles these to tight machine
 * code, and a dependency would buy nothing at 100 dimensions.
 */
import { SoftlogicError } from '../core/errors.js';

export type Vector = Float32Array | Float64Array | readonly number[];

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
