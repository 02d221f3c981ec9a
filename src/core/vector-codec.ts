import { SoftlogicError } from './errors.js';

/**
 * A concept's vector inside its record (the log is the truth): float32 little-endian, base64.
 * Every index over vectors is derived from these.
 */
export interface StoredEmbedding {
  provider: string;
  dimension: number;
  /** true when the provider knew no word of the name and made a deterministic stand-in */
  fallback: boolean;
  b64: string;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function encodeVector(vector: Float32Array): string {
  const copy = LITTLE_ENDIAN ? vector : swap(vector);
  return Buffer.from(copy.buffer, copy.byteOffset, copy.byteLength).toString('base64');
}

export function decodeVector(embedding: StoredEmbedding): Float32Array {
  const bytes = Buffer.from(embedding.b64, 'base64');
  if (bytes.length !== embedding.dimension * 4) {
    throw new SoftlogicError('INTEGRITY', `stored vector has ${bytes.length} bytes, expected ${embedding.dimension * 4}`);
  }
  const out = new Float32Array(embedding.dimension);
  new Uint8Array(out.buffer).set(bytes);
  return LITTLE_ENDIAN ? out : swap(out);
}

export function vectorToBlob(vector: Float32Array): Buffer {
  return Buffer.from(vector.buffer.slice(vector.byteOffset, vector.byteOffset + vector.byteLength));
}

export function blobToVector(blob: Buffer): Float32Array {
  const out = new Float32Array(blob.length / 4);
  new Uint8Array(out.buffer).set(blob);
  return out;
}

function swap(v: Float32Array): Float32Array {
  const out = new Float32Array(v.length);
  const view = new DataView(out.buffer);
  v.forEach((x, i) => view.setFloat32(i * 4, x, true));
  return out;
}
