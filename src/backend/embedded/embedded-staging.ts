import { closeSync, fdatasync, fsyncSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import type { StagingWriter } from '../workflow-table.js';
import { StagedDigest } from '../../core/staged-digest.js';
import { crc32 } from 'node:zlib';
import { hexValue } from '../../core/checksum.js';
import { encodeStagedLine } from '../../core/staged-lines.js';
import { SoftlogicError } from '../../core/errors.js';

/**
 * workflows/pending/<id>.jsonl: a workflow's items, validated, one per line as
 * `<crc32> <json>`. The whole file's digest (staged-digest.ts) is recorded with the workflow, so
 * a change after staging is caught before anything is applied; the per-line CRC names the line.
 */
const SYNC_EVERY_BYTES = 64 * 1024 * 1024;

/**
 * How much of a staged file is written, shared with a thread that reads it while it grows (an
 * import's chunk encoder starts on the first items while the rest are still being staged).
 * [0]: bytes written; [1]: 0 while staging, COMPLETE once every item is written, ABORTED if
 * staging failed (the reader then stops with STAGING_ABORTED).
 */
const COMPLETE = 1n;
const ABORTED = 2n;

export class StagedProgress {
  constructor(readonly shared: BigInt64Array = new BigInt64Array(new SharedArrayBuffer(16))) {}

  advance(bytes: number): void {
    Atomics.store(this.shared, 0, BigInt(bytes));
    Atomics.notify(this.shared, 0);
  }

  private end(state: bigint): void {
    Atomics.store(this.shared, 1, state);
    Atomics.notify(this.shared, 0);
  }

  complete(): void {
    this.end(COMPLETE);
  }

  abort(): void {
    this.end(ABORTED);
  }

  /** Bytes that may be read: all of them once staging is complete. */
  readable(): number {
    return Atomics.load(this.shared, 1) === COMPLETE ? Infinity : Number(Atomics.load(this.shared, 0));
  }

  /** Blocks (a worker thread only) until more than `position` bytes are readable or staging ended. */
  waitBeyond(position: number): void {
    for (;;) {
      const state = Atomics.load(this.shared, 1);
      if (state === ABORTED) throw new SoftlogicError('STAGING_ABORTED', 'staging stopped before its end');
      const written = Atomics.load(this.shared, 0);
      if (state === COMPLETE || Number(written) > position) return;
      Atomics.wait(this.shared, 0, written, 1000);
    }
  }
}

/** A workflow's staged items written to workflows/pending/<id>.jsonl (see WorkflowTable.stage). */
export class FileStagingWriter implements StagingWriter {
  private readonly fd: number;
  private readonly digest = new StagedDigest();
  private parts: string[] = [];
  private bytes = 0;
  private unsynced = 0;
  private syncing: Promise<void> | null = null;
  count = 0;

  private written = 0;

  /** `progress`: told of every write, for a reader on another thread (see StagedProgress). */
  constructor(
    readonly path: string,
    private readonly progress: StagedProgress | null = null,
  ) {
    this.fd = openSync(path, 'w');
  }

  private write(data: Buffer): void {
    writeSync(this.fd, data);
    this.written += data.length;
    this.progress?.advance(this.written);
  }

  add(item: unknown): void {
    this.addJson(JSON.stringify(item));
  }

  /** Adds an item already serialised (the caller's JSON text is staged byte for byte). */
  addJson(json: string): void {
    const line = encodeStagedLine(json);
    this.parts.push(line);
    this.bytes += line.length;
    this.count += 1;
    if (this.bytes > 4 * 1024 * 1024) this.flush();
  }

  /** Adds `count` items already encoded as staged lines (encodeStagedLine), in order. */
  addEncoded(data: Buffer, count: number): void {
    this.flush();
    this.digest.update(data);
    this.write(data);
    this.count += count;
    this.unsynced += data.length;
    // A large file is flushed to disk as it grows (on the I/O thread pool, while staging goes
    // on), so that the fsync of finish() has only the last part left to wait for.
    if (this.unsynced >= SYNC_EVERY_BYTES && this.syncing === null) {
      this.unsynced = 0;
      this.syncing = new Promise<void>((resolve) =>
        fdatasync(this.fd, () => {
          this.syncing = null;
          resolve();
        }),
      );
    }
  }

  /** Waits for a flush begun by addEncoded (call before finish). */
  async settled(): Promise<void> {
    await this.syncing;
  }

  private flush(): void {
    if (this.parts.length === 0) return;
    const data = Buffer.from(this.parts.join(''));
    this.digest.update(data);
    this.write(data);
    this.parts = [];
    this.bytes = 0;
  }

  /** Flushes, fsyncs and returns the file's digest (staged-digest.ts). */
  async finish(): Promise<string> {
    await this.settled();
    this.flush();
    // Every item is written (a reader may go to the end); the fsync follows before any is applied.
    this.progress?.complete();
    fsyncSync(this.fd);
    closeSync(this.fd);
    return this.digest.value();
  }

  /** Staging failed: the file goes. */
  async abort(): Promise<void> {
    await this.settled();
    this.progress?.abort();
    try {
      closeSync(this.fd);
    } catch {
      // already closed
    }
    rmSync(this.path, { force: true });
  }
}

/** A staged item's JSON text as bytes: data[start, end). */
export interface StagedSpan {
  index: number;
  /** the staged file's offset of data[0] */
  base: number;
  data: Buffer;
  start: number;
  end: number;
}

const READ_BYTES = 1 << 22;

/** The value of 8 lower-case hex digits at data[at], or -1. */
function hex8(data: Buffer, at: number): number {
  let v = 0;
  for (let i = at; i < at + 8; i++) {
    const d = hexValue(data[i]);
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

/**
 * Reads staged items from index `from` (0-based) as byte spans, synchronously, in blocks of a
 * few MB, checking each line's CRC on its bytes. A span (and its buffer) is only valid until
 * the next call of next().
 */
export class StagedSpanReader {
  private fd = -1;
  private buf: Buffer;
  /** bytes of buf holding file data, and where the next line starts */
  private filled = 0;
  private at = 0;
  private position = 0;
  private eof = false;
  private index = -1;
  private readonly span: StagedSpan = { index: 0, base: 0, data: Buffer.alloc(0), start: 0, end: 0 };

  /**
   * `bufferBytes`: the read size (a line longer than it grows the buffer). `growing`: the file is
   * still being staged; reads stop at what is written and wait for more (a worker thread only).
   */
  constructor(
    private readonly path: string,
    private readonly from: number,
    bufferBytes = READ_BYTES,
    private readonly growing: StagedProgress | null = null,
  ) {
    this.buf = Buffer.allocUnsafe(Math.max(16, bufferBytes));
    if (!growing) this.fd = openSync(path, 'r');
  }

  private bad(): SoftlogicError {
    return new SoftlogicError('STAGED_CORRUPT', `staged item ${this.index + 1} of ${this.path} fails its checksum`, { path: this.path, item: this.index + 1 });
  }

  /** Moves the unread tail to the front (growing the buffer for a line longer than it) and reads more. */
  private refill(): void {
    const rest = this.filled - this.at;
    if (rest === this.buf.length) {
      const bigger = Buffer.allocUnsafe(this.buf.length * 2);
      this.buf.copy(bigger, 0, this.at, this.filled);
      this.buf = bigger;
    } else if (rest > 0) {
      this.buf.copy(this.buf, 0, this.at, this.filled);
    }
    this.filled = rest;
    this.at = 0;
    let room = this.buf.length - rest;
    if (this.growing) {
      this.growing.waitBeyond(this.position);
      // The file exists once anything was written to it.
      if (this.fd < 0) this.fd = openSync(this.path, 'r');
      room = Math.min(room, this.growing.readable() - this.position);
    }
    const n = readSync(this.fd, this.buf, rest, room, this.position);
    this.position += n;
    this.filled += n;
    if (n === 0) this.eof = true;
  }

  next(): StagedSpan | null {
    for (;;) {
      const nl = this.buf.indexOf(10, this.at);
      if (nl < 0 || nl >= this.filled) {
        if (this.eof) {
          if (this.at < this.filled) {
            this.index += 1;
            throw this.bad();
          }
          return null;
        }
        this.refill();
        continue;
      }
      const start = this.at;
      this.at = nl + 1;
      this.index += 1;
      if (this.index < this.from) continue;
      if (nl - start < 10 || this.buf[start + 8] !== 32) throw this.bad();
      if (crc32(this.buf.subarray(start + 9, nl)) !== hex8(this.buf, start)) throw this.bad();
      this.span.index = this.index;
      this.span.base = this.position - this.filled;
      this.span.data = this.buf;
      this.span.start = start + 9;
      this.span.end = nl;
      return this.span;
    }
  }

  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
  }
}

/**
 * Yields staged items from index `from` (0-based) as byte spans (StagedSpanReader's), letting
 * the event loop run between blocks of items.
 */
export async function* readStagedSpans(path: string, from: number): AsyncGenerator<StagedSpan> {
  const reader = new StagedSpanReader(path, from);
  try {
    for (let n = 1, span = reader.next(); span; n++, span = reader.next()) {
      yield span;
      if (n % 4096 === 0) await new Promise<void>((resolve) => setImmediate(resolve));
    }
  } finally {
    reader.close();
  }
}

/** Yields staged items' JSON text from index `from` (0-based), checking each line's CRC. */
export async function* readStaged(path: string, from: number): AsyncGenerator<{ index: number; json: string }> {
  for await (const span of readStagedSpans(path, from)) yield { index: span.index, json: span.data.toString('utf8', span.start, span.end) };
}
