import { createReadStream, existsSync, openSync, readFileSync, readSync, closeSync, statSync } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { splitLines } from './line-splitter.js';
import type { Readable } from 'node:stream';
import { SoftlogicError } from './errors.js';
import { LIMITS } from './schemas.js';
import { duplicateKeyIn } from './json-limits.js';

/**
 * Reads records from a user's file: JSON lines or one JSON array, optionally gzip'd (detected by
 * its magic bytes, not its name). Yields each value with its 1-based line (or array index + 1),
 * or the reason it could not be parsed; blank lines are skipped. Lines are streamed, so memory
 * stays flat however large the file.
 */
export type InputItem = { line: number; raw: string; value: unknown } | { line: number; raw: string; error: string; field?: string };

/** Whether the file starts with gzip's magic bytes (names can lie). */
export function isGzip(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(2);
    return readSync(fd, head, 0, 2, 0) === 2 && head[0] === 0x1f && head[1] === 0x8b;
  } finally {
    closeSync(fd);
  }
}

/** A whole text file, or FILE_NOT_FOUND naming it. */
export function readTextFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new SoftlogicError('FILE_NOT_FOUND', `${path} does not exist`, { file: path });
    throw err;
  }
}

export function assertReadableFile(path: string): void {
  if (!existsSync(path)) throw new SoftlogicError('FILE_NOT_FOUND', `no such file: ${path}`, { path });
  if (!statSync(path).isFile()) throw new SoftlogicError('INVALID_INPUT', `not a regular file: ${path}`, { path });
}

function openText(path: string): Readable {
  const raw = createReadStream(path, { highWaterMark: 1 << 20 });
  return isGzip(path) ? raw.pipe(createGunzip()) : raw;
}

/** One line of a JSON-lines file (not blank) as an input item. */
export function parseInputLine(line: string, lineNo: number): InputItem {
  if (line.length > LIMITS.recordBytes) return { line: lineNo, raw: line, error: `line is ${line.length} characters, over the ${LIMITS.recordBytes} limit` };
  let value: unknown;
  try {
    value = JSON.parse(line) as unknown;
  } catch (err) {
    return { line: lineNo, raw: line, error: `malformed JSON: ${(err as Error).message}` };
  }
  // JSON.parse keeps the last of two equal keys: refused rather than half-read.
  const duplicate = duplicateKeyIn(line);
  if (duplicate !== null) return { line: lineNo, raw: line, field: duplicate, error: 'duplicate key' };
  return { line: lineNo, raw: line, value };
}

/** Whether a file is plain JSON lines (not gzip'd, not one JSON array): it can be split by bytes. */
export function isPlainJsonLines(path: string): boolean {
  assertReadableFile(path);
  if (isGzip(path)) return false;
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(64 * 1024);
    const n = readSync(fd, head, 0, head.length, 0);
    const first = head.subarray(0, n).toString('latin1').trimStart();
    return first.length > 0 && first[0] !== '[';
  } finally {
    closeSync(fd);
  }
}

export async function* readInputRecords(path: string): AsyncGenerator<InputItem> {
  assertReadableFile(path);
  const rl = splitLines(openText(path));
  let lineNo = 0;
  let arrayText: string[] | null = null;
  let decided = false;
  try {
    for await (const line of rl) {
      lineNo += 1;
      if (arrayText) {
        arrayText.push(line);
        continue;
      }
      const trimmed = line.trim();
      if (trimmed.length === 0) continue;
      if (!decided) {
        decided = true;
        if (trimmed.startsWith('[')) {
          arrayText = [line];
          continue;
        }
      }
      yield parseInputLine(line, lineNo);
    }
  } catch (err) {
    throw new SoftlogicError('UNSUPPORTED_FORMAT', `cannot read ${path}: ${(err as Error).message}`, { path });
  }
  if (arrayText) {
    let values: unknown;
    try {
      values = JSON.parse(arrayText.join('\n'));
      const duplicate = duplicateKeyIn(arrayText.join('\n'));
      if (duplicate !== null) throw new Error(`duplicate key ${duplicate}`);
    } catch (err) {
      throw new SoftlogicError('INVALID_INPUT', `${path} is not a valid JSON array: ${(err as Error).message}`, { path });
    }
    if (!Array.isArray(values)) throw new SoftlogicError('INVALID_INPUT', `${path}: expected a JSON array`, { path });
    let i = 0;
    for (const value of values) {
      i += 1;
      yield { line: i, raw: JSON.stringify(value), value };
    }
  }
}
