/**
 * The first principal components of a set of vectors, by power iteration on the covariance
 * (deflated after each component). Enough for a 2-D picture of a few thousand concepts without
 * a linear-algebra dependency; the start vector is fixed, so the same data gives the same picture.
 */
export function pca(rows: ArrayLike<number>[], components = 2, iterations = 100): number[][] {
  const n = rows.length;
  if (n === 0) return [];
  const dim = rows[0].length;
  const mean = new Float64Array(dim);
  for (const r of rows) for (let j = 0; j < dim; j++) mean[j] += r[j] / n;
  const centered = rows.map((r) => Float64Array.from({ length: dim }, (_, j) => r[j] - mean[j]));
  let variance = 0;
  for (const x of centered) for (let j = 0; j < dim; j++) variance += x[j] * x[j];
  const axes: Float64Array[] = [];
  for (let c = 0; c < components; c++) {
    let v = Float64Array.from({ length: dim }, (_, j) => 1 / Math.sqrt(dim) + (j % (c + 2)) * 1e-3);
    for (let it = 0; it < iterations; it++) {
      // w = X^T (X v), then remove the axes already found and normalise.
      const w = new Float64Array(dim);
      for (const x of centered) {
        let dot = 0;
        for (let j = 0; j < dim; j++) dot += x[j] * v[j];
        for (let j = 0; j < dim; j++) w[j] += dot * x[j];
      }
      for (const a of axes) {
        let dot = 0;
        for (let j = 0; j < dim; j++) dot += w[j] * a[j];
        for (let j = 0; j < dim; j++) w[j] -= dot * a[j];
      }
      const norm = Math.hypot(...w);
      // Nothing left along any new axis (fewer dimensions than components): a zero axis.
      if (norm <= 1e-12 * variance) {
        v = new Float64Array(dim);
        break;
      }
      for (let j = 0; j < dim; j++) w[j] /= norm;
      v = w;
    }
    axes.push(v);
  }
  return centered.map((x) =>
    axes.map((a) => {
      let dot = 0;
      for (let j = 0; j < dim; j++) dot += x[j] * a[j];
      return dot;
    }),
  );
}
