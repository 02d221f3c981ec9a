import { checksumOk } from './log-format.js';
import { readPlainLines } from './log-reader.js';
import { readBlock, type SegmentMap } from './log-segments.js';
import { corruptLogError } from './replay.js';

/**
 * Checks every line of an open log up to virtual offset `upTo` (a commit boundary): each
 * compressed block and each line in it or after it must pass its checksum. Throws CORRUPT_LOG
 * naming the context, the line's offset and the seq after which it stands.
 */
export function assertLogIntact(fd: number, map: SegmentMap, upTo: number, context: string): void {
  let lastSeq = 0;
  const check = (text: string, offset: number): void => {
    if (!checksumOk(text)) {
      const seq = text.startsWith('{"seq":') ? Number(/^\{"seq":(\d+)/.exec(text)?.[1] ?? NaN) : NaN;
      throw corruptLogError(context, { offset, seq: Number.isFinite(seq) ? seq : null, after_seq: lastSeq, reason: 'checksum mismatch' });
    }
    if (text.startsWith('{"seq":')) lastSeq = Number(/^\{"seq":(\d+)/.exec(text)?.[1] ?? lastSeq);
  };
  for (const block of map.blocks) {
    if (block.v0 >= upTo) return;
    let raw: Buffer;
    try {
      raw = readBlock(fd, block);
    } catch {
      throw corruptLogError(context, { offset: block.v0, seq: null, after_seq: lastSeq, reason: `the compressed block at byte ${block.p0} fails its checksum` });
    }
    for (let start = 0; start < raw.length; ) {
      const nl = raw.indexOf(10, start);
      const end = nl < 0 ? raw.length : nl;
      check(raw.toString('utf8', start, end), block.v0 + start);
      start = end + 1;
    }
  }
  for (const line of readPlainLines(fd, map.pTail, map.vTail)) {
    if (line.offset >= upTo) return;
    check(line.text, line.offset);
  }
}
