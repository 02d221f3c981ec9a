import { closeSync, fdatasyncSync, fstatSync, ftruncateSync, openSync, readSync, statSync } from 'node:fs';
import { SoftlogicError } from '../../core/errors.js';
import { appendDurably } from './fs-durable.js';
import { basename, dirname } from 'node:path';
import { checksumOk, seqOf } from './log-format.js';
import { BlockCache, SegmentMap } from './log-segments.js';

/**
 * File handles onto one context's log. Appends go to an explicit position (the watermark the
 * writer holds under SQLite's write lock), never O_APPEND, so a torn tail is overwritten rather
 * than followed. Reads verify the line's seq, which catches a snapshot whose offsets belong to a
 * log that compaction has since replaced.
 */
export class ContextLog {
  private fd: number | null = null;
  private ino = -1;
  private map: SegmentMap | null = null;
  private readonly cache = new BlockCache();

  constructor(readonly path: string) {}

  private handle(): number {
    if (this.fd === null) {
      this.fd = openSync(this.path, 'a+');
      this.ino = fstatSync(this.fd).ino;
    }
    return this.fd;
  }

  /** Re-open when the file was replaced (compaction renames a new log into place). */
  refresh(): void {
    if (this.fd === null) return;
    let currentIno: number;
    try {
      currentIno = statSync(this.path).ino;
    } catch {
      currentIno = -1;
    }
    if (currentIno !== this.ino) this.close();
  }

  /** Where the compressed blocks of a compacted log end (offsets below are virtual). */
  segments(): SegmentMap {
    this.map ??= SegmentMap.scan(this.handle());
    return this.map;
  }

  /** The log's size in virtual bytes (as if its blocks were plain lines). */
  size(): number {
    return this.segments().toVirtual(fstatSync(this.handle()).size);
  }

  /** One write and one fdatasync for a whole batch; on failure the partial tail is cut off. */
  append(data: Buffer, at: number): void {
    appendDurably(this.handle(), data, this.segments().toPhysical(at));
  }

  truncate(length: number): void {
    const fd = this.handle();
    ftruncateSync(fd, this.segments().toPhysical(length));
    fdatasyncSync(fd);
  }

  readAt(off: number, len: number): string {
    const block = this.segments().find(off);
    if (block) {
      // A line never spans two blocks.
      const raw = this.cache.get(this.handle(), block);
      const start = off - block.v0;
      const end = Math.min(raw.length, start + len);
      return raw.toString('utf8', start, end - (raw[end - 1] === 10 ? 1 : 0));
    }
    const buf = Buffer.allocUnsafe(len);
    const n = readSync(this.handle(), buf, 0, len, this.segments().toPhysical(off));
    return buf.toString('utf8', 0, n - (buf[n - 1] === 10 ? 1 : 0));
  }

  /**
   * Reads the line at (off, len) and checks it is an intact line of this row: its checksum
   * holds and its seq is the row's (or later: a tombstone moves a row to a later line but keeps
   * its key). A stale offset after a compaction fails this check.
   */
  readLine(off: number, len: number, seq: number): string {
    const fits = (text: string) => seqOf(text) >= seq && checksumOk(text);
    let line = this.readAt(off, len);
    if (!fits(line)) {
      this.close();
      line = this.readAt(off, len);
      if (!fits(line)) {
        // An intact line of another seq: the offsets belong to a log compaction replaced.
        if (checksumOk(line)) throw new SoftlogicError('CONFLICT', 'the log changed under this read (compaction); retry', { path: this.path, off, seq });
        throw corruptRecordError(this.path, off, seq, line.length === 0 ? 'the line lies past the end of the log' : 'the line fails its checksum');
      }
    }
    return line;
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
    this.ino = -1;
    this.map = null;
    this.cache.clear();
  }
}

/** A record's line that cannot be served: named by context, seq and byte offset. */
export function corruptRecordError(logPath: string, offset: number, seq: number, why: string): SoftlogicError {
  const context = basename(dirname(logPath));
  return new SoftlogicError(
    'CORRUPT_LOG',
    `log of context '${context}' is damaged: the record of seq ${seq} at byte ${offset}: ${why}. Run 'softlogic verify'; 'softlogic rebuild --salvage' keeps every line whose checksum passes`,
    { context, seq, offset, reason: why },
  );
}
