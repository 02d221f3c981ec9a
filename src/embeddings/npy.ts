/**
 * NumPy .npy (format versions 1.0-3.0) for the dtypes softlogic exchanges: little-endian float32,
 * float64 and fixed-width unicode (`<U n`, UCS-4). Anything else (big-endian, Fortran order, object
 * arrays that would need pickle, other dtypes) is refused with UNSUPPORTED_FORMAT rather than
 * guessed at, so a vector file is either read exactly or not at all.
 * Format reference: numpy/lib/format.py.
 */
import { SoftlogicError } from '../core/errors.js';

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // "\x93NUMPY"

export type NpyArray =
  | { dtype: 'float32'; shape: number[]; data: Float32Array }
  | { dtype: 'float64'; shape: number[]; data: Float64Array }
  | { dtype: 'unicode'; shape: number[]; data: string[] };

function unsupported(message: string, details: Record<string, unknown> = {}): SoftlogicError {
  return new SoftlogicError('UNSUPPORTED_FORMAT', message, details);
}

interface Header {
  descr: string;
  fortranOrder: boolean;
  shape: number[];
}

/** The header is a Python dict literal; we read its three documented keys with narrow patterns. */
function parseHeader(text: string, name: string): Header {
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(text)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(text)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(text)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    if (/'descr'\s*:\s*\[/.test(text)) throw unsupported(`${name}: structured dtypes are not supported`);
    throw unsupported(`${name}: malformed .npy header`, { header: text.slice(0, 200) });
  }
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => {
      const v = Number(s.replace(/L$/, ''));
      if (!Number.isSafeInteger(v) || v < 0) throw unsupported(`${name}: bad shape (${shapeText})`);
      return v;
    });
  return { descr, fortranOrder: fortran === 'True', shape };
}

/** Parses one .npy file; `name` only labels error messages. */
export function parseNpy(bytes: Uint8Array, name = 'array'): NpyArray {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.byteLength < 10 || !buf.subarray(0, 6).equals(MAGIC)) {
    throw unsupported(`${name} is not a NumPy .npy array (bad magic)`);
  }
  const major = buf[6];
  let headerLen: number;
  let headerStart: number;
  if (major === 1) {
    headerLen = buf.readUInt16LE(8);
    headerStart = 10;
  } else if (major === 2 || major === 3) {
    if (buf.byteLength < 12) throw unsupported(`${name}: truncated .npy header`);
    headerLen = buf.readUInt32LE(8);
    headerStart = 12;
  } else {
    throw unsupported(`${name}: .npy format version ${major}.${buf[7]} is not supported`);
  }
  const dataStart = headerStart + headerLen;
  if (dataStart > buf.byteLength) throw unsupported(`${name}: truncated .npy header`);
  const header = parseHeader(buf.toString(major === 3 ? 'utf8' : 'latin1', headerStart, dataStart), name);
  const count = header.shape.reduce((a, b) => a * b, 1);
  const body = buf.subarray(dataStart);
  const dtypeMatch = /^([<>|=])([a-zA-Z])(\d+)$/.exec(header.descr);
  if (!dtypeMatch) throw unsupported(`${name}: dtype ${header.descr} is not supported`, { dtype: header.descr });
  const [, order, kind, sizeText] = dtypeMatch;
  const size = Number(sizeText);
  if (header.fortranOrder && header.shape.length > 1) {
    throw unsupported(`${name}: Fortran-order arrays are not supported; save with numpy.ascontiguousarray`, { dtype: header.descr });
  }
  const fits = (itemBytes: number): void => {
    if (body.byteLength < count * itemBytes) {
      throw unsupported(`${name}: truncated data (${body.byteLength} bytes, expected ${count * itemBytes})`);
    }
  };
  if (kind === 'f' && (order === '<' || order === '=') && (size === 4 || size === 8)) {
    fits(size);
    // Copy into a fresh buffer: the data may sit at an unaligned offset inside a zip entry.
    const copy = new Uint8Array(count * size);
    copy.set(body.subarray(0, count * size));
    return size === 4
      ? { dtype: 'float32', shape: header.shape, data: new Float32Array(copy.buffer) }
      : { dtype: 'float64', shape: header.shape, data: new Float64Array(copy.buffer) };
  }
  if (kind === 'U' && (order === '<' || order === '|' || order === '=')) {
    fits(size * 4);
    // One aligned copy, then read code points through a Uint32Array (little-endian hosts only,
    // which is every platform Node supports in practice).
    const cps = new Uint32Array(count * size);
    new Uint8Array(cps.buffer).set(body.subarray(0, count * size * 4));
    const data: string[] = new Array(count);
    for (let i = 0; i < count; i++) {
      let end = i * size;
      const stop = end + size;
      while (end < stop && cps[end] !== 0) end++; // NumPy pads with NULs and strips them on read
      let s = '';
      for (let c = i * size; c < end; c++) {
        if (cps[c] > 0x10ffff) throw unsupported(`${name}: invalid code point at element ${i}`);
        s += String.fromCodePoint(cps[c]);
      }
      data[i] = s;
    }
    return { dtype: 'unicode', shape: header.shape, data };
  }
  if (kind === 'O') throw unsupported(`${name}: object arrays need pickle and are refused; save strings as a unicode array (dtype=str)`);
  if (order === '>') throw unsupported(`${name}: big-endian dtype ${header.descr} is not supported`, { dtype: header.descr });
  throw unsupported(`${name}: dtype ${header.descr} is not supported (float32, float64 and unicode are)`, { dtype: header.descr });
}

/** Encodes a C-order array as .npy version 1.0, header padded so data starts on a 64-byte boundary. */
export function encodeNpy(array: NpyArray): Uint8Array {
  const count = array.shape.reduce((a, b) => a * b, 1);
  if (count !== array.data.length) {
    throw new SoftlogicError('DIMENSION_MISMATCH', `shape (${array.shape.join(', ')}) does not hold ${array.data.length} values`);
  }
  let descr: string;
  let body: Uint8Array;
  if (array.dtype === 'unicode') {
    let width = 1;
    for (const str of array.data) {
      let n = 0;
      for (const _ of str) n++;
      if (n > width) width = n;
    }
    descr = `<U${width}`;
    const out = new Uint32Array(count * width);
    array.data.forEach((str, i) => {
      let c = i * width;
      for (const ch of str) out[c++] = ch.codePointAt(0) ?? 0;
    });
    body = new Uint8Array(out.buffer);
  } else {
    descr = array.dtype === 'float32' ? '<f4' : '<f8';
    body = new Uint8Array(array.data.buffer, array.data.byteOffset, array.data.byteLength);
  }
  const shape = array.shape.length === 1 ? `(${array.shape[0]},)` : `(${array.shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + header.length + body.byteLength);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  out[8] = header.length & 0xff;
  out[9] = header.length >> 8;
  out.set(Buffer.from(header, 'latin1'), 10);
  out.set(body, 10 + header.length);
  return out;
}
