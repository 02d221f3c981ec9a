import { closeSync, openSync, readSync } from 'node:fs';

const WINDOW = 4 * 1024 * 1024;
const SEQ_PREFIX_LENGTH = '{"seq":'.length;

/**
 * Reads lines of one log at increasing offsets through a sliding 4 MiB window: a scan in log
 * order costs one read per window, not one per line, and memory stays at the window. The file
 * handle is opened up front, so a compaction that renames a new log in keeps this reader on the
 * old file (whose offsets match the reader's snapshot).
 */
export class LogWindow {
  private readonly fd: number;
  buf = Buffer.allocUnsafe(WINDOW);
  private winStart = 0;
  private winEnd = 0;

  constructor(path: string) {
    this.fd = openSync(path, 'r');
  }

  /** Brings (off, len) into the window; returns where the line starts in `buf`. */
  locate(off: number, len: number): number {
    if (off < this.winStart || off + len > this.winEnd) {
      if (len > this.buf.length) this.buf = Buffer.allocUnsafe(len);
      this.winStart = off;
      this.winEnd = off + readSync(this.fd, this.buf, 0, this.buf.length, off);
    }
    return off - this.winStart;
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
