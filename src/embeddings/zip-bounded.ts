/**
 * Reading a zip (an .npz) with every decompression bounded: a small archive must not stand for
 * gigabytes (a zip bomb). The central directory's declared sizes are checked against the limits
 * before anything is inflated, and each entry is inflated with Node's zlib capped at its declared
 * size, so an entry that inflates past what it declares is refused as soon as it does, and one
 * that inflates to less is refused as damaged. fflate's unzipSync grows its output without bound
 * and cannot be told to stop, hence this reader.
 */
import { inflateRawSync } from 'node:zlib';
import { SoftlogicError } from '../core/errors.js';

export interface ZipLimits {
  /** bytes all entries may inflate to, together */
  totalBytes: number;
  entries: number;
}

const EOCD = 0x06054b50;
const EOCD64_LOCATOR = 0x07064b50;
const EOCD64 = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

function damaged(label: string, why: string): SoftlogicError {
  return new SoftlogicError('UNSUPPORTED_FORMAT', `${label} is a damaged or truncated zip archive: ${why}`);
}

function tooBig(label: string, why: string, details: Record<string, unknown>): SoftlogicError {
  return new SoftlogicError('INVALID_INPUT', `${label}: ${why}`, details);
}

export function unzipBounded(bytes: Uint8Array, limits: ZipLimits, label: string): Map<string, Uint8Array> {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u16 = (at: number) => (at + 2 <= buf.length ? buf.readUInt16LE(at) : fail('header past the end'));
  const u32 = (at: number) => (at + 4 <= buf.length ? buf.readUInt32LE(at) : fail('header past the end'));
  const u64 = (at: number) => {
    const v = at + 8 <= buf.length ? buf.readBigUInt64LE(at) : BigInt(fail('header past the end'));
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail('a size beyond 2^53');
    return Number(v);
  };
  function fail(why: string): never {
    throw damaged(label, why);
  }
  let e = buf.length - 22;
  const lowest = Math.max(0, buf.length - 22 - 65_535);
  while (e >= lowest && buf.readUInt32LE(e) !== EOCD) e--;
  if (e < lowest) fail('no end of central directory');
  let count = u16(e + 10);
  let offset = u32(e + 16);
  if (e >= 20 && buf.readUInt32LE(e - 20) === EOCD64_LOCATOR) {
    const at = u64(e - 12);
    if (u32(at) !== EOCD64) fail('bad zip64 end record');
    count = u64(at + 32);
    offset = u64(at + 48);
  }
  if (count > limits.entries) throw tooBig(label, `${count} entries, over the ${limits.entries}-entry limit`, { entries: count });
  // Pass 1: the directory, sizes as declared, checked before anything is inflated.
  const entries: Array<{ name: string; method: number; csize: number; usize: number; local: number }> = [];
  let total = 0;
  for (let i = 0; i < count; i++) {
    if (u32(offset) !== CENTRAL) fail(`bad central directory entry ${i}`);
    const method = u16(offset + 10);
    let csize = u32(offset + 20);
    let usize = u32(offset + 24);
    const nameLen = u16(offset + 28);
    const extraLen = u16(offset + 30);
    const commentLen = u16(offset + 32);
    let local = u32(offset + 42);
    const name = buf.toString('utf8', offset + 46, Math.min(buf.length, offset + 46 + nameLen));
    // zip64: the fields set to 0xFFFFFFFF are in the 0x0001 extra field, in this order.
    for (let x = offset + 46 + nameLen; x + 4 <= offset + 46 + nameLen + extraLen; ) {
      const id = u16(x);
      const len = u16(x + 2);
      if (id === 0x0001) {
        let p = x + 4;
        if (usize === 0xffffffff) {
          usize = u64(p);
          p += 8;
        }
        if (csize === 0xffffffff) {
          csize = u64(p);
          p += 8;
        }
        if (local === 0xffffffff) local = u64(p);
      }
      x += 4 + len;
    }
    total += usize;
    if (total > limits.totalBytes) {
      throw tooBig(label, `its entries declare ${total} or more bytes once inflated, over the ${limits.totalBytes}-byte limit`, { entry: name, declared_bytes: usize, limit: limits.totalBytes });
    }
    if (method !== 0 && method !== 8) throw new SoftlogicError('UNSUPPORTED_FORMAT', `${label}:${name}: compression method ${method} is not supported (stored or deflate)`);
    // deflate cannot shrink data more than ~1032:1; a larger claim is a lie.
    if (method === 8 && usize > csize * 1032 + 1024) fail(`${name} declares ${usize} bytes from ${csize} compressed`);
    if (method === 0 && usize !== csize) fail(`${name} is stored with two different sizes`);
    entries.push({ name, method, csize, usize, local });
    offset += 46 + nameLen + extraLen + commentLen;
  }
  // Pass 2: each entry, inflated no further than it declared.
  const out = new Map<string, Uint8Array>();
  for (const en of entries) {
    if (u32(en.local) !== LOCAL) fail(`bad local header of ${en.name}`);
    const start = en.local + 30 + u16(en.local + 26) + u16(en.local + 28);
    if (start + en.csize > buf.length) fail(`${en.name} runs past the end`);
    const raw = buf.subarray(start, start + en.csize);
    if (en.method === 0) {
      out.set(en.name, raw);
      continue;
    }
    let data: Buffer;
    try {
      data = inflateRawSync(raw, { maxOutputLength: Math.max(1, en.usize) });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
        throw tooBig(label, `${en.name} inflates past the ${en.usize} bytes it declares`, { entry: en.name, declared_bytes: en.usize });
      }
      fail(`${en.name}: ${(err as Error).message}`);
    }
    if (data.length !== en.usize) fail(`${en.name} inflates to ${data.length} bytes, it declares ${en.usize}`);
    out.set(en.name, data);
  }
  return out;
}
