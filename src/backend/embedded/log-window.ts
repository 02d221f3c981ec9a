import { closeSync, openSync, readSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { hexValue } from '../../core/checksum.js';
import { inflateBlock, SegmentMap, type Block } from './log-segments.js';

const WINDOW = 4 * 1024 * 1024;
const SEQ_PREFIX_LENGTH = '{"seq":'.length;
const CRC_KEY_LENGTH = ',"crc":"'.length;
// from the first hex digit of the CRC to the newline: 8 digits, `"}`
const CRC_TAIL = 10;
const CRC_SUFFIX = ',"crc":"xxxxxxxx"}\n'.length;

/**
 * Reads lines of one log at increasing offsets through a sliding 4 MiB window: a scan in log
 * order costs one read per window, not one per line, and memory stays at the window. The file
 * handle is opened up front, so a compaction that renames a new log in keeps this reader on the
 * old file (whose offsets match the reader's snapshot).
 */
export class LogWindow {
  private readonly fd: number;
  private readonly map: SegmentMap;
  /** the bytes `locate` points into: the plain window, or an inflated block of a compacted log */
  buf: Buffer;
  private plain = Buffer.allocUnsafe(WINDOW);
  private winStart = 0;
  private winEnd = 0;

  constructor(readonly path: string) {
    this.fd = openSync(path, 'r');
    this.map = SegmentMap.scan(this.fd);
    this.buf = this.plain;
  }

  /** Brings (off, len) into the window; returns where the line starts in `buf` (offsets are virtual). */
  locate(off: number, len: number): number {
    if (off < this.winStart || off + len > this.winEnd) {
      const block = this.map.find(off);
      if (block) {
        this.buf = this.inflate(block);
        this.winStart = block.v0;
        this.winEnd = block.v1;
      } else {
        if (len > this.plain.length) this.plain = Buffer.allocUnsafe(len);
        this.buf = this.plain;
        this.winStart = off;
        this.winEnd = off + readSync(this.fd, this.buf, 0, this.buf.length, this.map.toPhysical(off));
      }
    }
    return off - this.winStart;
  }

  // Block lines are read ahead a window at a time: a stream reads them in order.
  private ahead = Buffer.allocUnsafe(0);
  private aheadStart = 0;

  private inflate(block: Block): Buffer {
    if (block.p0 < this.aheadStart || block.p1 > this.aheadStart + this.ahead.length) {
      const want = Math.max(WINDOW, block.p1 - block.p0);
      const buf = Buffer.allocUnsafe(want);
      const n = readSync(this.fd, buf, 0, want, block.p0);
      this.ahead = buf.subarray(0, n);
      this.aheadStart = block.p0;
    }
    return inflateBlock(this.ahead.subarray(block.p0 - this.aheadStart, block.p1 - this.aheadStart), block);
  }

  /**
   * Whether the line at `start` (len bytes with its newline) is intact: its CRC-32 (hardware,
   * over the bytes before `,"crc":`) matches the 8 hex digits it carries.
   */
  lineOk(start: number, len: number): boolean {
    const buf = this.buf;
    const end = start + len - 1;
    const crcAt = end - CRC_TAIL;
    if (len <= CRC_SUFFIX || start + len > this.winEnd - this.winStart || buf[end] !== 10 || buf[end - 1] !== 0x7d || buf[end - 2] !== 0x22 || buf[crcAt - 1] !== 0x22) return false;
    let stored = 0;
    for (let i = crcAt; i < crcAt + 8; i++) {
      const v = hexValue(buf[i]);
      if (v < 0) return false;
      stored = stored * 16 + v;
    }
    return crc32(buf.subarray(start, crcAt - CRC_KEY_LENGTH)) === stored;
  }

  /** The seq a line starts with, read from its bytes (no string is made). */
  seqAt(start: number): number {
    let seq = 0;
    for (let i = start + SEQ_PREFIX_LENGTH; i < this.buf.length; i++) {
      const c = this.buf[i];
      if (c < 48 || c > 57) break;
      seq = seq * 10 + (c - 48);
    }
    return seq;
  }

  close(): void {
    closeSync(this.fd);
  }
}
