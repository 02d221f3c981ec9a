import { closeSync, createReadStream, fsyncSync, openSync, writeSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { ByteBuilder } from '../core/byte-builder.js';
import { crc32Hex } from '../core/checksum.js';
import { SoftlogicError } from '../core/errors.js';

/**
 * workflows/pending/<id>.jsonl: a workflow's items, validated, one per line as
 * `<crc32> <json>`. The whole file's SHA-256 is recorded with the workflow, so tampering after
 * staging is caught before anything is applied; the per-line CRC names the line.
 */
/** A staged line: `<crc32> <json>\n`. */
export function encodeStagedLine(json: string): string {
  return `${crc32Hex(json)} ${json}\n`;
}

/** Staged lines (encodeStagedLine's), encoded once into one Buffer, each CRC taken over its bytes. */
export class StagedLines extends ByteBuilder {
  count = 0;

  add(json: string): void {
    this.reserve(10 + json.length * 3);
    const start = this.length + 9;
    const end = start + this.buf.write(json, start, 'utf8');
    this.buf.write(crc32(this.buf.subarray(start, end)).toString(16).padStart(8, '0') + ' ', this.length, 'latin1');
    this.buf[end] = 10;
    this.length = end + 1;
    this.count += 1;
  }
}

export class StagingWriter {
  private readonly fd: number;
  private readonly hash = createHash('sha256');
  private parts: string[] = [];
  private bytes = 0;
  count = 0;

  constructor(readonly path: string) {
    this.fd = openSync(path, 'w');
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
    this.hash.update(data);
    writeSync(this.fd, data);
    this.count += count;
  }

  private flush(): void {
    if (this.parts.length === 0) return;
    const data = Buffer.from(this.parts.join(''));
    this.hash.update(data);
    writeSync(this.fd, data);
    this.parts = [];
    this.bytes = 0;
  }

  /** Flushes, fsyncs and returns the file's SHA-256. */
  finish(): string {
    this.flush();
    fsyncSync(this.fd);
    closeSync(this.fd);
    return this.hash.digest('hex');
  }

  abort(): void {
    try {
      closeSync(this.fd);
    } catch {
      // already closed
    }
  }
}

export async function hashFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** A staged item's JSON text as bytes: data[start, end). */
export interface StagedSpan {
  index: number;
  data: Buffer;
  start: number;
  end: number;
}

/**
 * Yields staged items from index `from` (0-based) as byte spans, checking each line's CRC on its
 * bytes. A span's buffer is only valid until the next item is asked for.
 */
export async function* readStagedSpans(path: string, from: number): AsyncGenerator<StagedSpan> {
  let index = -1;
  let carry: Buffer | null = null;
  const bad = () => new SoftlogicError('STAGED_CORRUPT', `staged item ${index + 1} of ${path} fails its checksum`, { path, item: index + 1 });
  const span: StagedSpan = { index: 0, data: Buffer.alloc(0), start: 0, end: 0 };
  // The items of the whole lines in data[start, end), which ends with a newline.
  function* lines(data: Buffer, start: number, end: number): Generator<StagedSpan> {
    for (let nl = data.indexOf(10, start); nl >= 0 && nl < end; nl = data.indexOf(10, start)) {
      index += 1;
      if (index >= from) {
        if (nl - start < 10 || data[start + 8] !== 32) throw bad();
        const crc = parseInt(data.toString('latin1', start, start + 8), 16);
        if (crc32(data.subarray(start + 9, nl)) !== crc) throw bad();
        span.index = index;
        span.data = data;
        span.start = start + 9;
        span.end = nl;
        yield span;
      }
      start = nl + 1;
    }
  }
  for await (const piece of createReadStream(path, { highWaterMark: 1 << 22 })) {
    const data = piece as Buffer;
    const first = data.indexOf(10);
    const last = data.lastIndexOf(10);
    if (first < 0) {
      carry = carry ? Buffer.concat([carry, data]) : data;
      continue;
    }
    // Only the line spanning two pieces is copied, never a whole piece.
    if (carry) yield* lines(Buffer.concat([carry, data.subarray(0, first + 1)]), 0, Infinity);
    yield* lines(data, carry ? first + 1 : 0, last + 1);
    carry = last + 1 < data.length ? data.subarray(last + 1) : null;
  }
  if (carry && carry.length > 0) {
    index += 1;
    throw bad();
  }
}

/** Yields staged items' JSON text from index `from` (0-based), checking each line's CRC. */
export async function* readStaged(path: string, from: number): AsyncGenerator<{ index: number; json: string }> {
  for await (const span of readStagedSpans(path, from)) yield { index: span.index, json: span.data.toString('utf8', span.start, span.end) };
}
