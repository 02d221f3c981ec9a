/**
 * 3CosAvg (Drozd, Gladkova & Matsuoka 2016, "Word embeddings, analogies, and machine learning:
 * beyond king - man + woman = queen"): instead of the one offset b - a, the answer to c is sought
 * near c + mean(b_i - a_i) over the pairs of the relation (a question file's section). Every pair
 * that shares a word with the question's target pair (first word c, or second word d) is left out
 * of the mean, so no question sees its answer through another pair (in city-in-state many cities
 * share a state); the other pairs of the section are used as given.
 */
import type { VectorSpace } from './vector-space.js';

/**
 * One query vector per question (rows a, b, c, d in `rows`, 4 per question; `sectionOf` per
 * question): c + the mean offset of the section's distinct pairs (a, b) and (c, d) that share no
 * word with this question's (c, d). With no such pair, the question's own b - a.
 */
export function averageOffsetQueries(space: VectorSpace, rows: Int32Array, sectionOf: readonly number[]): Float64Array {
  const dim = space.dimension;
  const m = space.matrix;
  const count = rows.length / 4;
  const pairs = new Map<number, Map<string, [number, number]>>();
  for (let q = 0; q < count; q++) {
    let s = pairs.get(sectionOf[q]);
    if (!s) pairs.set(sectionOf[q], (s = new Map()));
    for (const [x, y] of [[rows[q * 4], rows[q * 4 + 1]], [rows[q * 4 + 2], rows[q * 4 + 3]]]) s.set(`${x},${y}`, [x, y]);
  }
  const out = new Float64Array(count * dim);
  const offset = new Float64Array(dim);
  for (let q = 0; q < count; q++) {
    const [a, b, c, answer] = [rows[q * 4], rows[q * 4 + 1], rows[q * 4 + 2], rows[q * 4 + 3]];
    offset.fill(0);
    let n = 0;
    for (const [x, y] of (pairs.get(sectionOf[q]) as Map<string, [number, number]>).values()) {
      if (x === c || y === answer) continue;
      for (let d = 0; d < dim; d++) offset[d] += m[y * dim + d] - m[x * dim + d];
      n++;
    }
    for (let d = 0; d < dim; d++) out[q * dim + d] = m[c * dim + d] + (n > 0 ? offset[d] / n : m[b * dim + d] - m[a * dim + d]);
  }
  return out;
}
