import { createReadStream, existsSync, openSync, readFileSync, readSync, closeSync, statSync } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { splitLines } from './line-splitter.js';
import { jsonArrayAsLineBlocks, splitJsonArray } from './json-array-reader.js';
import { lineBlocks, readAhead } from './line-blocks.js';
import type { Readable } from 'node:stream';
import { SoftlogicError } from './errors.js';
import { LIMITS } from './schemas.js';
import { duplicateKeyIn } from './json-limits.js';

/**
 * Reads records from a user's file: JSON lines or one JSON array, optionally gzip'd (detected by
 * its magic bytes, not its name). Yields each value with its 1-based line (or array index + 1),
 * or the reason it could not be parsed; blank lines are skipped.
 */
export type InputItem = { line: number; raw: string; value: unknown } | { line: number; raw: string; error: string; field?: string; syntax?: string };

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
    return { line: lineNo, raw: line, error: `malformed JSON: ${(err as Error).message}`, syntax: (err as Error).message };
  }
  // JSON.parse keeps the last of two equal keys: refused rather than half-read.
  const duplicate = duplicateKeyIn(line);
  if (duplicate !== null) return { line: lineNo, raw: line, field: duplicate, error: 'duplicate key' };
  return { line: lineNo, raw: line, value };
}

/**
 * What a file holds, from its first bytes: JSON lines or one JSON array (not gzip'd), or null
 * (gzip'd, or nothing but blanks in its first 64 KiB).
 */
export function plainInputForm(path: string): 'lines' | 'array' | null {
  assertReadableFile(path);
  if (isGzip(path)) return null;
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(64 * 1024);
    const n = readSync(fd, head, 0, head.length, 0);
    const first = head.subarray(0, n).toString('latin1').trimStart();
    return first.length === 0 ? null : first[0] === '[' ? 'array' : 'lines';
  } finally {
    closeSync(fd);
  }
}

/** Whether a file is plain JSON lines (not gzip'd, not one JSON array): it can be split by bytes. */
export function isPlainJsonLines(path: string): boolean {
  return plainInputForm(path) === 'lines';
}

/**
 * A file holding one JSON array, read as the blocks of the JSON-lines file of its elements
 * (jsonArrayAsLineBlocks): element n is line n. A structural error, or an element JSON cannot
 * hold on one line, refuses the file (INVALID_INPUT) when the scan reaches it.
 */
export async function* readArrayAsLineBlocks(path: string, blockBytes: number, name = path): AsyncGenerator<Buffer> {
  const stream = openText(path);
  try {
    yield* jsonArrayAsLineBlocks(stream, name, MAX_ELEMENT_BYTES, blockBytes);
  } catch (err) {
    if (err instanceof SoftlogicError) throw err;
    throw new SoftlogicError('UNSUPPORTED_FORMAT', `cannot read ${name}: ${(err as Error).message}`, { path: name });
  } finally {
    stream.destroy();
  }
}

/** The line the array's element `index` (0-based) starts on: for messages, so read again only then. */
export async function arrayElementLine(path: string, index: number): Promise<number> {
  const stream = openText(path);
  try {
    for await (const element of splitJsonArray(stream, path, MAX_ELEMENT_BYTES)) if (element.index === index) return element.line;
    return 0;
  } finally {
    stream.destroy();
  }
}

/**
 * The largest array element held to be parsed (and then refused by the record size limit with
 * its position, like a long line): past it the file is refused, so memory stays bounded.
 */
const MAX_ELEMENT_BYTES = 64 * 1024 * 1024;

/** A stream's pieces, with the first ones (read to look at the content) given back in front. */
async function* withFront(front: Buffer[], rest: AsyncIterator<unknown>): AsyncGenerator<Buffer> {
  yield* front;
  for (let next = await rest.next(); !next.done; next = await rest.next()) yield next.value as Buffer;
}

/** Reads pieces until one holds a non-blank byte: that byte (null if there is none). */
async function firstNonBlank(pieces: AsyncIterator<unknown>, front: Buffer[]): Promise<number | null> {
  for (let next = await pieces.next(); !next.done; next = await pieces.next()) {
    const piece = next.value as Buffer;
    front.push(piece);
    for (const b of piece) if (b !== 32 && b !== 9 && b !== 10 && b !== 13) return b;
  }
  return null;
}

/** Reads pieces until one holds a non-blank byte: whether the content starts with '['. */
async function startsWithBracket(pieces: AsyncIterator<unknown>, front: Buffer[]): Promise<boolean> {
  return (await firstNonBlank(pieces, front)) === 0x5b;
}

/** Runs `read` on a gzip'd file's decompressed stream, closed after; a file gzip cannot read is UNSUPPORTED_FORMAT. */
async function readGunzipped<T>(path: string, read: (stream: AsyncIterable<Buffer>) => Promise<T>): Promise<T> {
  const stream = createReadStream(path, { highWaterMark: 64 * 1024 }).pipe(createGunzip());
  try {
    return await read(stream);
  } catch (err) {
    throw new SoftlogicError('UNSUPPORTED_FORMAT', `cannot read ${path}: ${(err as Error).message}`, { path });
  } finally {
    stream.destroy();
  }
}

/**
 * A gzip'd file's first `bytes` decompressed bytes (fewer if it holds fewer), to tell its form
 * from. A file gzip cannot read that far is UNSUPPORTED_FORMAT.
 */
export function gunzippedHead(path: string, bytes: number): Promise<Buffer> {
  return readGunzipped(path, async (stream) => {
    const pieces: Buffer[] = [];
    let length = 0;
    for await (const piece of stream) {
      pieces.push(piece);
      length += piece.length;
      if (length >= bytes) break;
    }
    return Buffer.concat(pieces).subarray(0, bytes);
  });
}

/**
 * What a gzip'd file holds, from its first decompressed bytes: JSON lines or one JSON array, or
 * null (nothing but blanks). A file gzip cannot read is UNSUPPORTED_FORMAT.
 */
export function gzipInputForm(path: string): Promise<'lines' | 'array' | null> {
  return readGunzipped(path, async (stream) => {
    const first = await firstNonBlank(stream[Symbol.asyncIterator](), []);
    return first === null ? null : first === 0x5b ? 'array' : 'lines';
  });
}

/**
 * A gzip'd JSON-lines file, decompressed into blocks of whole lines (lineBlocks) as it is read:
 * no decompressed copy is written. A file gzip cannot read to its end is UNSUPPORTED_FORMAT
 * (named `name`) when the reading reaches the damage.
 */
export async function* gunzippedLineBlocks(path: string, blockBytes: number, name = path): AsyncGenerator<Buffer> {
  const stream = createReadStream(path, { highWaterMark: 1 << 20 }).pipe(createGunzip({ chunkSize: 256 * 1024 }));
  try {
    // Two blocks decompressed ahead: the workers then rarely wait for zlib.
    yield* readAhead(lineBlocks(stream, blockBytes), 2);
  } catch (err) {
    if (err instanceof SoftlogicError) throw err;
    throw new SoftlogicError('UNSUPPORTED_FORMAT', `cannot read ${name}: ${(err as Error).message}`, { path: name });
  } finally {
    stream.destroy();
  }
}

/**
 * About how many bytes a gzip'd file holds decompressed: its trailer's ISIZE (the length modulo
 * 2^32, exact below 4 GiB for a single member), at least the compressed size. Only a hint (how
 * many staging workers to start).
 */
export function gunzippedSizeHint(path: string): number {
  const size = statSync(path).size;
  const fd = openSync(path, 'r');
  try {
    const trailer = Buffer.alloc(4);
    return readSync(fd, trailer, 0, 4, Math.max(0, size - 4)) === 4 ? Math.max(size, trailer.readUInt32LE(0)) : size;
  } finally {
    closeSync(fd);
  }
}

/**
 * Both forms are streamed: a JSON array element by element (splitJsonArray), so memory holds
 * one record at a time either way.
 */
export async function* readInputRecords(path: string): AsyncGenerator<InputItem> {
  assertReadableFile(path);
  const stream = openText(path);
  const pieces = stream[Symbol.asyncIterator]();
  const front: Buffer[] = [];
  try {
    if (await startsWithBracket(pieces, front)) {
      for await (const element of splitJsonArray(withFront(front, pieces), path, MAX_ELEMENT_BYTES)) {
        let value: unknown;
        try {
          value = JSON.parse(element.text) as unknown;
        } catch (err) {
          throw new SoftlogicError('INVALID_INPUT', `${path} is not a valid JSON array: element ${element.index + 1} (line ${element.line}): ${(err as Error).message}`, { path, line: element.line });
        }
        // As for a line: JSON.parse keeps the last of two equal keys, so they are refused.
        const duplicate = duplicateKeyIn(element.text);
        // Its raw text is the element compacted: what the same element on a line would be.
        if (duplicate !== null) yield { line: element.index + 1, raw: element.text, field: duplicate, error: 'duplicate key' };
        else yield { line: element.index + 1, raw: element.text, value };
      }
      return;
    }
    let lineNo = 0;
    for await (const line of splitLines(withFront(front, pieces))) {
      lineNo += 1;
      if (line.trim().length === 0) continue;
      yield parseInputLine(line, lineNo);
    }
  } catch (err) {
    if (err instanceof SoftlogicError) throw err;
    throw new SoftlogicError('UNSUPPORTED_FORMAT', `cannot read ${path}: ${(err as Error).message}`, { path });
  } finally {
    stream.destroy();
  }
}
