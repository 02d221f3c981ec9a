import { closeSync, openSync, readSync, fstatSync } from 'node:fs';
import { readBlock, SegmentMap } from './log-segments.js';
import { SoftlogicError } from '../../core/errors.js';

/**
 * Sequential reader of a change log from a byte offset: yields each complete line with its
 * offset, and reports a trailing piece without a newline (a torn append) separately. Reads in
 * large chunks so a 500 MB log streams at disk speed in constant memory. Offsets are virtual:
 * the lines of a compacted log's blocks come first (log-segments.ts).
 */
export interface RawLine {
  offset: number;
  /** byte length including the newline */
  length: number;
  text: string;
}

export interface TornTail {
  offset: number;
  length: number;
}

const CHUNK = 4 * 1024 * 1024;

export function* readLines(path: string, from = 0, onTorn?: (tail: TornTail) => void): Generator<RawLine> {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  try {
    // A compacted log starts with compressed blocks: their lines first, at virtual offsets.
    const map = SegmentMap.scan(fd);
    for (let block = map.find(from); block; block = map.find(block.v1)) {
      const raw = readBlock(fd, block);
      for (let start = 0; start < raw.length; ) {
        const nl = raw.indexOf(10, start);
        if (nl < 0) throw new SoftlogicError('CORRUPT_LOG', `compressed block at byte ${block.p0} ends inside a line`, { offset: block.p0 });
        if (block.v0 + start >= from) yield { offset: block.v0 + start, length: nl - start + 1, text: raw.toString('utf8', start, nl) };
        start = nl + 1;
      }
    }
    const start = Math.max(from, map.vTail);
    yield* readPlainLines(fd, map.toPhysical(start), start, onTorn);
  } finally {
    closeSync(fd);
  }
}

/**
 * The plain lines of an open log from physical byte `position` to its end, at offsets counted
 * from `offset` (the virtual offset of `position`). Block lines are yielded as they are.
 */
export function* readPlainLines(fd: number, position: number, offset: number, onTorn?: (tail: TornTail) => void): Generator<RawLine> {
  const size = fstatSync(fd).size;
  let carry: Buffer = Buffer.alloc(0);
  let carryOffset = offset;
  const chunk = Buffer.allocUnsafe(CHUNK);
  while (position < size) {
    const n = readSync(fd, chunk, 0, Math.min(CHUNK, size - position), position);
    if (n <= 0) break;
    position += n;
    const data = carry.length > 0 ? Buffer.concat([carry, chunk.subarray(0, n)]) : chunk.subarray(0, n);
    let start = 0;
    let nl = data.indexOf(10, start);
    while (nl >= 0) {
      yield { offset: carryOffset + start, length: nl - start + 1, text: data.toString('utf8', start, nl) };
      start = nl + 1;
      nl = data.indexOf(10, start);
    }
    carryOffset += start;
    carry = Buffer.from(data.subarray(start));
  }
  if (carry.length > 0) onTorn?.({ offset: carryOffset, length: carry.length });
}
