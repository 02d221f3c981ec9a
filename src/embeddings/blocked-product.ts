/**
 * The one hot loop of batch scoring: out = X[rows] * Q^T for a block of matrix rows against a
 * batch of query vectors. Register-blocked 2 rows x 4 queries: each loaded matrix and query value
 * feeds several multiply-adds, which is what makes the batched form several times faster than a
 * loop of single dot products in plain JS (no BLAS to call).
 */

/**
 * @param x row-major matrix (N x dim)
 * @param rowStart first row of the block
 * @param rowEnd one past the last row
 * @param q row-major queries (nq x dim), Float64 so that scores do not lose precision
 * @param out scores, query-major: out[j * stride + (r - rowStart)], so that the per-question pass
 *   that follows reads one contiguous run per query
 * @param stride distance between queries' runs in out (>= rowEnd - rowStart)
 */
export function scoreBlock(
  x: Float32Array,
  rowStart: number,
  rowEnd: number,
  dim: number,
  q: Float64Array,
  nq: number,
  out: Float64Array,
  stride: number,
): void {
  const q4 = nq - (nq % 4);
  let r = rowStart;
  for (; r + 1 < rowEnd; r += 2) {
    const x0 = r * dim;
    const x1 = x0 + dim;
    const i0 = r - rowStart;
    let j = 0;
    for (; j < q4; j += 4) {
      const qa = j * dim;
      const qb = qa + dim;
      const qc = qb + dim;
      const qd = qc + dim;
      let s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
      for (let d = 0; d < dim; d++) {
        const a = x[x0 + d];
        const b = x[x1 + d];
        const va = q[qa + d];
        const vb = q[qb + d];
        const vc = q[qc + d];
        const vd = q[qd + d];
        s00 += a * va;
        s01 += a * vb;
        s02 += a * vc;
        s03 += a * vd;
        s10 += b * va;
        s11 += b * vb;
        s12 += b * vc;
        s13 += b * vd;
      }
      const c0 = j * stride + i0;
      out[c0] = s00;
      out[c0 + stride] = s01;
      out[c0 + 2 * stride] = s02;
      out[c0 + 3 * stride] = s03;
      out[c0 + 1] = s10;
      out[c0 + stride + 1] = s11;
      out[c0 + 2 * stride + 1] = s12;
      out[c0 + 3 * stride + 1] = s13;
    }
    for (; j < nq; j++) {
      const qa = j * dim;
      let s0 = 0, s1 = 0;
      for (let d = 0; d < dim; d++) {
        s0 += x[x0 + d] * q[qa + d];
        s1 += x[x1 + d] * q[qa + d];
      }
      out[j * stride + i0] = s0;
      out[j * stride + i0 + 1] = s1;
    }
  }
  for (; r < rowEnd; r++) {
    const x0 = r * dim;
    for (let j = 0; j < nq; j++) {
      const qa = j * dim;
      let s = 0;
      for (let d = 0; d < dim; d++) s += x[x0 + d] * q[qa + d];
      out[j * stride + (r - rowStart)] = s;
    }
  }
}
