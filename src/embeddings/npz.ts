/**
 * NumPy .npz: a zip archive of .npy members, stored (numpy.savez) or deflated
 * (numpy.savez_compressed). On top of the generic reader/writer sit the embeddings-specific
 * ones: `ids` (unicode, N) + `vectors` (float, N x D), which is what `embeddings export/import`
 * and the store's per-context embeddings.npz use.
 */
import { readFileSync } from 'node:fs';
import { zipSync } from 'fflate';
import { unzipBounded } from './zip-bounded.js';
import { LIMITS } from '../core/limits.js';
import type { Zippable } from 'fflate';
import { SoftlogicError } from '../core/errors.js';
import { encodeNpy, parseNpy } from './npy.js';
import type { NpyArray } from './npy.js';
import { atomicWriteFile } from '../core/atomic-write.js';

/** Reads every array of an .npz, keyed by name without the `.npy` suffix. */
export function parseNpz(bytes: Uint8Array, label = 'npz file'): Map<string, NpyArray> {
  // A zip starts with a local header "PK\3\4" (or, when empty, the end record "PK\5\6").
  if (bytes.byteLength < 4 || bytes[0] !== 0x50 || bytes[1] !== 0x4b) {
    throw new SoftlogicError('UNSUPPORTED_FORMAT', `${label} is not a zip archive (an .npz is a zip of .npy files)`);
  }
  const entries = unzipBounded(bytes, { totalBytes: LIMITS.npzInflatedBytes, entries: 64 }, label);
  const out = new Map<string, NpyArray>();
  for (const [name, data] of entries) {
    if (name.endsWith('/')) continue;
    const key = name.endsWith('.npy') ? name.slice(0, -4) : name;
    out.set(key, parseNpy(data, `${label}:${name}`));
  }
  return out;
}

/** Encodes arrays into an .npz; `compress` mirrors savez_compressed (deflate) vs savez (stored). */
export function encodeNpz(arrays: ReadonlyMap<string, NpyArray>, compress = true): Uint8Array {
  const files: Zippable = {};
  for (const [name, array] of arrays) files[`${name}.npy`] = [encodeNpy(array), { level: compress ? 6 : 0 }];
  return zipSync(files);
}

export interface EmbeddingsTable {
  ids: string[];
  dimension: number;
  /** Row-major N x D float32. */
  vectors: Float32Array;
}

/**
 * Reads an embeddings .npz (`ids` + `vectors`). Refuses a missing array, a shape mismatch,
 * duplicate or empty ids, and any NaN/Infinity (naming row and column) so that no bad vector
 * reaches a store or an index.
 */
export function readEmbeddingsNpz(source: string | Uint8Array): EmbeddingsTable {
  const label = typeof source === 'string' ? source : 'npz data';
  let bytes: Uint8Array;
  try {
    bytes = typeof source === 'string' ? readFileSync(source) : source;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new SoftlogicError('FILE_NOT_FOUND', `${label} does not exist`);
    throw err;
  }
  const arrays = parseNpz(bytes, label);
  const ids = arrays.get('ids');
  const vectors = arrays.get('vectors');
  const present = [...arrays.keys()].join(', ') || 'none';
  if (!ids || !vectors) {
    throw new SoftlogicError('INVALID_INPUT', `${label} must hold arrays 'ids' and 'vectors' (it holds: ${present})`, { arrays: [...arrays.keys()] });
  }
  if (ids.dtype !== 'unicode' || ids.shape.length !== 1) {
    throw new SoftlogicError('UNSUPPORTED_FORMAT', `${label}: 'ids' must be a 1-D unicode array`, { dtype: ids.dtype, shape: ids.shape });
  }
  if (vectors.dtype === 'unicode' || vectors.shape.length !== 2) {
    throw new SoftlogicError('UNSUPPORTED_FORMAT', `${label}: 'vectors' must be a 2-D float32 or float64 array`, { dtype: vectors.dtype, shape: vectors.shape });
  }
  const [rows, dimension] = vectors.shape;
  if (rows !== ids.data.length) {
    throw new SoftlogicError('DIMENSION_MISMATCH', `${label}: ${ids.data.length} ids but ${rows} vectors`, { ids: ids.data.length, vectors: rows });
  }
  if (dimension < 1 && rows > 0) throw new SoftlogicError('INVALID_INPUT', `${label}: vectors have no dimensions`);
  const seen = new Set<string>();
  ids.data.forEach((id, i) => {
    if (id.length === 0) throw new SoftlogicError('INVALID_INPUT', `${label}: id at row ${i} is empty`, { row: i });
    if (seen.has(id)) throw new SoftlogicError('INVALID_INPUT', `${label}: duplicate id ${JSON.stringify(id)} at row ${i}`, { row: i, id });
    seen.add(id);
  });
  const data = vectors.data;
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) {
      const row = Math.floor(i / dimension);
      const column = i % dimension;
      throw new SoftlogicError('INVALID_INPUT', `${label}: vector ${JSON.stringify(ids.data[row])} (row ${row}) has ${data[i]} at column ${column}`, {
        row,
        column,
        id: ids.data[row],
        value: String(data[i]),
      });
    }
  }
  const f32 = data instanceof Float32Array ? data : Float32Array.from(data);
  return { ids: ids.data, dimension, vectors: f32 };
}

/** Encodes ids (unicode) + vectors (float32, N x D) as an .npz, compressed unless `compress` is false. */
export function encodeEmbeddingsNpz(table: EmbeddingsTable, compress = true): Uint8Array {
  const n = table.ids.length;
  if (table.vectors.length !== n * table.dimension) {
    throw new SoftlogicError('DIMENSION_MISMATCH', `${n} ids x ${table.dimension} dimensions != ${table.vectors.length} values`);
  }
  return encodeNpz(
    new Map<string, NpyArray>([
      ['ids', { dtype: 'unicode', shape: [n], data: table.ids }],
      ['vectors', { dtype: 'float32', shape: [n, table.dimension], data: table.vectors }],
    ]),
    compress,
  );
}

/** Writes an embeddings .npz atomically (temp file, fsync, rename). */
export function writeEmbeddingsNpz(path: string, table: EmbeddingsTable, compress = true): void {
  atomicWriteFile(path, [encodeEmbeddingsNpz(table, compress)]);
}
