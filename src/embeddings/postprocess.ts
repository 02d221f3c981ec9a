/**
 * "All-but-the-top" post-processing (Mu & Viswanath, ICLR 2018): word vectors share a large
 * common mean and a few dominant directions that carry word frequency rather than meaning;
 * removing them makes cosine reflect meaning better. For every row x of the space searched:
 *   x' = (x - mean) - sum_i (u_i . (x - mean)) u_i,   then x' / |x'|
 * with mean and u_1..u_D (the top D principal components) computed from those same rows. The
 * paper's rule of thumb is D ~ dimension / 100; we take D = 2 for 100-d GloVe by that rule rounded
 * up (fixed before any evaluation; see README "Embeddings and reasoning").
 */
import { SoftlogicError } from '../core/errors.js';
import { VectorSpace } from './vector-space.js';

export type Postprocess = 'none' | 'abtt';
export const POSTPROCESS_NAMES: readonly Postprocess[] = ['none', 'abtt'];
export const ABTT_COMPONENTS = 2;

export function parsePostprocess(value: string): Postprocess {
  if ((POSTPROCESS_NAMES as readonly string[]).includes(value)) return value as Postprocess;
  throw new SoftlogicError('INVALID_INPUT', `unknown post-processing ${JSON.stringify(value)} (none or abtt)`, { field: 'postprocess' });
}

/** Top `count` eigenvectors of a symmetric positive semi-definite matrix (power iteration with deflation). */
function topEigenvectors(cov: Float64Array, dim: number, count: number): Float64Array[] {
  const a = cov.slice();
  const out: Float64Array[] = [];
  for (let c = 0; c < count; c++) {
    let v = new Float64Array(dim).map((_, i) => 1 / Math.sqrt(dim) + (i % 7) * 1e-3);
    let lambda = 0;
    for (let it = 0; it < 1000; it++) {
      const w = new Float64Array(dim);
      for (let i = 0; i < dim; i++) {
        let s = 0;
        for (let j = 0; j < dim; j++) s += a[i * dim + j] * v[j];
        w[i] = s;
      }
      const n = Math.hypot(...w);
      if (n === 0) break;
      for (let i = 0; i < dim; i++) w[i] /= n;
      let delta = 0;
      for (let i = 0; i < dim; i++) delta = Math.max(delta, Math.abs(w[i] - v[i]));
      v = w;
      lambda = n;
      if (delta < 1e-12) break;
    }
    out.push(v);
    for (let i = 0; i < dim; i++) for (let j = 0; j < dim; j++) a[i * dim + j] -= lambda * v[i] * v[j];
  }
  return out;
}

/**
 * The first `rows` rows of `space`, post-processed and re-normalised, as a new space (same ids in
 * the same order). Statistics come from those rows only: the space a search or evaluation covers.
 */
export function allButTheTop(space: VectorSpace, rows = space.size, components = ABTT_COMPONENTS): VectorSpace {
  const n = Math.min(rows, space.size);
  const dim = space.dimension;
  if (n < 2) throw new SoftlogicError('INVALID_INPUT', 'all-but-the-top needs at least two vectors');
  if (!Number.isInteger(components) || components < 0 || components >= dim) {
    throw new SoftlogicError('INVALID_INPUT', `components must be an integer in [0, ${dim - 1}], got ${components}`);
  }
  const m = space.matrix;
  const mean = new Float64Array(dim);
  for (let r = 0; r < n; r++) for (let d = 0; d < dim; d++) mean[d] += m[r * dim + d];
  for (let d = 0; d < dim; d++) mean[d] /= n;
  const cov = new Float64Array(dim * dim);
  const x = new Float64Array(dim);
  for (let r = 0; r < n; r++) {
    for (let d = 0; d < dim; d++) x[d] = m[r * dim + d] - mean[d];
    for (let i = 0; i < dim; i++) {
      const xi = x[i];
      for (let j = i; j < dim; j++) cov[i * dim + j] += xi * x[j];
    }
  }
  for (let i = 0; i < dim; i++) for (let j = i; j < dim; j++) cov[j * dim + i] = cov[i * dim + j] /= n;
  const top = topEigenvectors(cov, dim, components);
  const out = new Float32Array(n * dim);
  for (let r = 0; r < n; r++) {
    for (let d = 0; d < dim; d++) x[d] = m[r * dim + d] - mean[d];
    for (const u of top) {
      let p = 0;
      for (let d = 0; d < dim; d++) p += u[d] * x[d];
      for (let d = 0; d < dim; d++) x[d] -= p * u[d];
    }
    let s = 0;
    for (let d = 0; d < dim; d++) s += x[d] * x[d];
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let d = 0; d < dim; d++) out[r * dim + d] = x[d] * inv;
  }
  return VectorSpace.fromUnitMatrix(space.ids.slice(0, n), out, dim);
}
