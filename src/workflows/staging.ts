import { closeSync, createReadStream, fsyncSync, openSync, writeSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { splitLines } from '../core/line-splitter.js';
import { crc32Hex } from '../core/checksum.js';
import { SoftlogicError } from '../core/errors.js';

/**
 * workflows/pending/<id>.jsonl: a workflow's items, validated, one per line as
 * `<crc32> <json>`. The whole file's SHA-256 is recorded with the workflow, so tampering after
 * staging is caught before anything is applied; the per-line CRC names the line.
 */
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
    const line = `${crc32Hex(json)} ${json}\n`;
    this.parts.push(line);
    this.bytes += line.length;
    this.count += 1;
    if (this.bytes > 4 * 1024 * 1024) this.flush();
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

/** Yields staged items from index `from` (0-based), checking each line's CRC. */
export async function* readStaged<T>(path: string, from: number): AsyncGenerator<{ index: number; item: T; json: string }> {
  let index = -1;
  for await (const line of splitLines(createReadStream(path, { highWaterMark: 1 << 20 }))) {
    index += 1;
    if (index < from) continue;
    const json = line.slice(9);
    if (line[8] !== ' ' || crc32Hex(json) !== line.slice(0, 8)) {
      throw new SoftlogicError('STAGED_CORRUPT', `staged item ${index + 1} of ${path} fails its checksum`, { path, item: index + 1 });
    }
    yield { index, item: JSON.parse(json) as T, json };
  }
}
