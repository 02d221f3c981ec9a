import type { ConceptVector, VectorBackend } from '../../backend/vector-table.js';
import { VectorSpace } from '../../embeddings/index.js';

/**
 * Concept vectors of a context as the operations read them: through the backend's vector table,
 * a page (a matrix) at a time. The table follows the concept records (embedded: a cache derived
 * from the logs; see vector-table.ts).
 */
export type CachedVector = ConceptVector;

/** Active concept vectors of one context (not its parents), in id order; of one dimension when given. */
export async function contextVectors(backend: VectorBackend, context: string, dimension?: number): Promise<CachedVector[]> {
  const out: CachedVector[] = [];
  for await (const page of backend.vectors.read(context, { dimension })) {
    const d = page.dimension;
    for (let i = 0; i < page.ids.length; i++) {
      out.push({ id: page.ids[i], name: page.names[i], synset_id: page.synsetIds[i], fallback: page.fallback[i], vector: page.matrix.subarray(i * d, (i + 1) * d) });
    }
  }
  return out;
}

/**
 * The vectors of one context as ids + one row-major matrix (what index builds and NPZ files
 * take); of the dimension given, else of the first vector's (0 for a context without vectors).
 */
export async function contextMatrix(backend: VectorBackend, context: string, dimension?: number): Promise<{ ids: string[]; matrix: Float32Array; dimension: number }> {
  const pages = [];
  let rows = 0;
  for await (const page of backend.vectors.read(context, { dimension })) {
    pages.push(page);
    rows += page.ids.length;
    dimension = page.dimension;
  }
  dimension ??= 0;
  const matrix = new Float32Array(rows * dimension);
  const ids: string[] = [];
  for (const page of pages) {
    matrix.set(page.matrix, ids.length * dimension);
    for (const id of page.ids) ids.push(id);
  }
  return { ids, matrix, dimension };
}

/** Concept vectors over a context and its parents (nearer first), of one dimension. */
export async function chainVectors(backend: VectorBackend, context: string, dimension: number): Promise<CachedVector[]> {
  const seen = new Set<string>();
  const out: CachedVector[] = [];
  for (const row of await backend.contexts.chain(context)) {
    for (const v of await contextVectors(backend, row.name, dimension)) {
      if (seen.has(v.id)) continue;
      seen.add(v.id);
      out.push(v);
    }
  }
  return out;
}

/** The registry of a context (and its parents) as a VectorSpace keyed by concept id. */
export async function registrySpace(backend: VectorBackend, context: string, dimension: number): Promise<{ space: VectorSpace; vectors: CachedVector[] }> {
  const vectors = await chainVectors(backend, context, dimension);
  const space = new VectorSpace(dimension, Math.max(1, vectors.length));
  for (const v of vectors) space.add(v.id, v.vector);
  return { space, vectors };
}
