import { readSync, writeSync } from 'node:fs';
import { crc32, deflateRawSync, inflateRawSync } from 'node:zlib';
import { SoftlogicError } from '../../core/errors.js';

/**
 * Compressed blocks of a compacted log. Compaction writes a context's live lines as block lines
 *   {"op":"block","v":V,"n":N,"zlen":Z,"z":"<base64 of raw deflate>","crc":"xxxxxxxx"}
 * whose payload inflates to exactly V bytes: N whole log lines (record and commit lines, each
 * with its own CRC), so the log stays JSON lines, each block readable with base64 + raw inflate
 * (`zlib.decompress(data, -15)`). Batches appended after a compaction are plain lines after
 * the blocks.
 *
 * Offsets everywhere (rows, watermarks, `prev`) are virtual: positions in the log as if every
 * block were written out plainly. A block holds about BLOCK_BYTES of lines: small enough that a
 * random read inflates little (~20 us), large enough to compress ~7.5x at deflate level 3 (which
 * compresses at ~350 MB/s; base64 then costs a third of that back).
 */
export const BLOCK_BYTES = 16 * 1024;
const BLOCK_PREFIX = '{"op":"block",';
const HEADER = /^\{"op":"block","v":(\d+),"n":(\d+),"zlen":(\d+),"z":"/;
// After the base64 payload: its closing quote, then the CRC as on every log line.
const TRAILER = '","crc":"xxxxxxxx"}\n'.length;
const CRC_SUFFIX_LENGTH = ',"crc":"xxxxxxxx"}\n'.length;
const MAX_HEADER = 96;

export interface Block {
  /** virtual [v0, v1): the plain lines it holds */
  v0: number;
  v1: number;
  /** physical [p0, p1): the block line itself */
  p0: number;
  p1: number;
}

/** Where a log's blocks are, and where its plain tail starts (virtual and physical). */
export class SegmentMap {
  constructor(
    readonly blocks: Block[],
    readonly vTail: number,
    readonly pTail: number,
  ) {}

  /** Reads the block headers from the start of the file (one small read per block). */
  static scan(fd: number): SegmentMap {
    const blocks: Block[] = [];
    const head = Buffer.allocUnsafe(MAX_HEADER);
    let p = 0;
    let v = 0;
    for (;;) {
      const n = readSync(fd, head, 0, MAX_HEADER, p);
      const text = head.toString('latin1', 0, n);
      if (!text.startsWith(BLOCK_PREFIX)) break;
      const m = HEADER.exec(text);
      if (!m) throw new SoftlogicError('CORRUPT_LOG', `malformed block header at byte ${p} of a compacted log`, { offset: p });
      const length = m[0].length + Number(m[3]) + TRAILER;
      blocks.push({ v0: v, v1: v + Number(m[1]), p0: p, p1: p + length });
      p += length;
      v += Number(m[1]);
    }
    return new SegmentMap(blocks, v, p);
  }

  /** The physical offset of a virtual offset in the plain tail. */
  toPhysical(v: number): number {
    if (v < this.vTail) throw new SoftlogicError('INTERNAL', `offset ${v} lies in a compressed block, not in the plain tail`);
    return v - this.vTail + this.pTail;
  }

  toVirtual(p: number): number {
    return p - this.pTail + this.vTail;
  }

  /** The block holding virtual offset v, if v lies in the blocks. */
  find(v: number): Block | undefined {
    if (v >= this.vTail) return undefined;
    let lo = 0;
    let hi = this.blocks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.blocks[mid].v0 <= v) lo = mid;
      else hi = mid - 1;
    }
    return this.blocks[lo];
  }
}

/** A block line for `raw` (whole lines, newline-terminated, `lines` of them). */
export function encodeBlock(raw: Buffer, lines: number): Buffer {
  const z = deflateRawSync(raw, { level: 3 }).toString('base64');
  // The CRC covers every byte before `,"crc":`, as on every log line.
  const body = `{"op":"block","v":${raw.length},"n":${lines},"zlen":${z.length},"z":"${z}"`;
  return Buffer.from(`${body},"crc":"${crc32(body).toString(16).padStart(8, '0')}"}\n`, 'latin1');
}

/** Reads, checks and inflates one block: its plain lines, exactly v1 - v0 bytes. */
export function readBlock(fd: number, block: Block): Buffer {
  const line = Buffer.allocUnsafe(block.p1 - block.p0);
  const n = readSync(fd, line, 0, line.length, block.p0);
  return inflateBlock(line.subarray(0, n), block);
}

/** Checks and inflates a block from its line's bytes (as read from the file). */
export function inflateBlock(line: Buffer, block: Block): Buffer {
  const n = line.length;
  // body (ends with the payload's closing quote) + `,"crc":"` + 8 hex digits + `"}\n`
  const bodyLength = n - CRC_SUFFIX_LENGTH;
  const crcAt = bodyLength + ',"crc":"'.length;
  const fail = (why: string) => new SoftlogicError('CORRUPT_LOG', `compressed block at byte ${block.p0} ${why}`, { offset: block.p0 });
  if (n !== block.p1 - block.p0 || line[n - 1] !== 10) throw fail('is cut short');
  if (crc32(line.subarray(0, bodyLength)) !== parseInt(line.toString('latin1', crcAt, crcAt + 8), 16)) throw fail('fails its checksum');
  const zStart = line.indexOf('"z":"') + 5;
  let raw: Buffer;
  try {
    raw = inflateRawSync(Buffer.from(line.toString('latin1', zStart, bodyLength - 1), 'base64'));
  } catch {
    throw fail('does not inflate');
  }
  if (raw.length !== block.v1 - block.v0) throw fail(`inflates to ${raw.length} bytes, not ${block.v1 - block.v0}`);
  return raw;
}

/** Writes a compacted log: lines go into blocks of about BLOCK_BYTES, each written as one block line. */
export class BlockWriter {
  private lines: string[] = [];
  private bytes = 0;
  /** bytes written to the file */
  physical = 0;
  /** bytes of plain lines taken (the virtual size) */
  virtual = 0;

  constructor(private readonly fd: number) {}

  /** Adds a whole line (with its newline); returns its virtual offset. */
  add(line: string): number {
    const at = this.virtual;
    const length = Buffer.byteLength(line);
    this.lines.push(line);
    this.bytes += length;
    this.virtual += length;
    if (this.bytes >= BLOCK_BYTES) this.flush();
    return at;
  }

  flush(): void {
    if (this.lines.length === 0) return;
    const block = encodeBlock(Buffer.from(this.lines.join('')), this.lines.length);
    let written = 0;
    while (written < block.length) written += writeSync(this.fd, block, written, block.length - written, this.physical + written);
    this.physical += block.length;
    this.lines = [];
    this.bytes = 0;
  }
}

/** A few recently inflated blocks (random reads of neighbouring records share them). */
export class BlockCache {
  private readonly blocks = new Map<number, Buffer>();

  constructor(private readonly capacity = 8) {}

  get(fd: number, block: Block): Buffer {
    let raw = this.blocks.get(block.v0);
    if (raw) return raw;
    raw = readBlock(fd, block);
    if (this.blocks.size >= this.capacity) this.blocks.delete(this.blocks.keys().next().value as number);
    this.blocks.set(block.v0, raw);
    return raw;
  }

  clear(): void {
    this.blocks.clear();
  }
}
