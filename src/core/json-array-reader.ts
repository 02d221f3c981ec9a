import { SoftlogicError } from './errors.js';

/** One element of a top-level JSON array: its text, 0-based index and the line it starts on. */
export interface ArrayElement {
  index: number;
  line: number;
  text: string;
}

const SPACE = 32;
const TAB = 9;
const CR = 13;
const LF = 10;
const QUOTE = 34;
const BACKSLASH = 92;
const COMMA = 44;
const OPEN_ARRAY = 91;
const CLOSE_ARRAY = 93;
const OPEN_OBJECT = 123;
const CLOSE_OBJECT = 125;

/**
 * Splits a byte stream holding one JSON array into its elements, element by element, so memory
 * holds one element (plus one input piece) however large the array. Each element is written to
 * `out` compacted: the whitespace between its tokens dropped (which JSON.parse ignores), so it
 * fits on one line and reads exactly as the same element on a line of a JSON-lines file would.
 * Only the structure is checked here (brackets, strings, commas); each element's own syntax is
 * JSON.parse's. A raw control character inside a string (invalid JSON, and a raw newline would
 * split the line) refuses the element here. An element larger than `maxElementBytes` or a
 * broken structure refuses the file (INVALID_INPUT, naming the element and line).
 */
class ArrayScanner {
  line = 1;
  /** 0: before '[', 1: inside the array, 2: after its ']' */
  private phase = 0;
  private depth = 0;
  private inString = false;
  private escaped = false;
  /** index of the element being read */
  index = 0;
  /** whether an element is being read, the line it began on, and its bytes so far in `out` */
  private inElement = false;
  elementLine = 0;
  private elementStart = 0;
  private controlInString = false;
  private expectValue = true;
  private sawComma = false;

  constructor(
    private readonly source: string,
    private readonly maxElementBytes: number,
    private readonly out: GrowingBytes,
  ) {}

  private fail(reason: string, line: number): never {
    throw new SoftlogicError('INVALID_INPUT', `${this.source} is not a valid JSON array: ${reason} (line ${line})`, { path: this.source, line });
  }

  /**
   * Scans one input piece, calling `element` with each element completed in it (its compacted
   * bytes are out[start, out.length)); `element` may take them away (out.length reset).
   */
  scan(data: Buffer, element: (start: number) => void): void {
    const out = this.out;
    // The current element's bytes from `run` on are copied to `out` in one go, up to the next
    // whitespace between tokens (usually the element's end).
    let run = this.inElement ? 0 : -1;
    const flush = (to: number) => {
      if (run >= 0 && to > run) out.put(data, run, to);
    };
    for (let i = 0; i < data.length; i++) {
      const b = data[i];
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (b === BACKSLASH) this.escaped = true;
        else if (b === QUOTE) this.inString = false;
        else if (b < SPACE) {
          this.controlInString = true;
          if (b === LF) this.line += 1;
        }
        continue;
      }
      if (b === SPACE || b === TAB || b === CR || b === LF) {
        if (b === LF) this.line += 1;
        if (run >= 0) {
          flush(i);
          run = i + 1;
        }
        continue;
      }
      if (this.phase !== 1) {
        if (this.phase === 0 && b === OPEN_ARRAY) this.phase = 1;
        else this.fail(this.phase === 0 ? 'it does not start with [' : 'data after the closing ]', this.line);
        continue;
      }
      if (this.depth === 0 && (b === COMMA || b === CLOSE_ARRAY)) {
        if (this.inElement) {
          flush(i);
          run = -1;
          this.finish(element);
          this.expectValue = false;
        } else if (b === COMMA || this.sawComma) {
          this.fail(`a value is missing before '${String.fromCharCode(b)}' (element ${this.index + 1})`, this.line);
        }
        if (b === CLOSE_ARRAY) this.phase = 2;
        else {
          this.expectValue = true;
          this.sawComma = true;
        }
        continue;
      }
      if (!this.inElement) {
        if (!this.expectValue) this.fail(`a ',' is missing before element ${this.index + 1}`, this.line);
        this.inElement = true;
        this.elementLine = this.line;
        this.elementStart = out.length;
        this.controlInString = false;
        run = i;
      }
      if (b === QUOTE) this.inString = true;
      else if (b === OPEN_ARRAY || b === OPEN_OBJECT) this.depth += 1;
      else if (b === CLOSE_ARRAY || b === CLOSE_OBJECT) this.depth -= 1;
      if (this.depth < 0) this.fail(`unbalanced '${String.fromCharCode(b)}' in element ${this.index + 1}`, this.line);
    }
    if (this.inElement) {
      flush(data.length);
      if (out.length - this.elementStart > this.maxElementBytes) this.fail(`element ${this.index + 1} is over ${this.maxElementBytes} bytes`, this.elementLine);
    }
  }

  private finish(element: (start: number) => void): void {
    this.inElement = false;
    if (this.controlInString) {
      const text = this.out.text(this.elementStart, this.out.length);
      let reason = 'a raw control character in a string';
      try {
        JSON.parse(text);
      } catch (err) {
        reason = (err as Error).message;
      }
      throw new SoftlogicError('INVALID_INPUT', `${this.source} is not a valid JSON array: element ${this.index + 1} (line ${this.elementLine}): ${reason}`, { path: this.source, line: this.elementLine });
    }
    element(this.elementStart);
    this.index += 1;
  }

  end(): void {
    if (this.phase !== 2) this.fail(this.phase === 0 ? 'no array found' : 'the array is not closed', this.line);
  }
}

/** A growing byte buffer (the scanner's output). */
class GrowingBytes {
  buf: Buffer;
  length = 0;

  constructor(size: number) {
    this.buf = Buffer.allocUnsafeSlow(size);
  }

  put(data: Buffer, from: number, to: number): void {
    const n = to - from;
    if (this.length + n > this.buf.length) {
      let size = this.buf.length * 2;
      while (size < this.length + n) size *= 2;
      const bigger = Buffer.allocUnsafeSlow(size);
      this.buf.copy(bigger, 0, 0, this.length);
      this.buf = bigger;
    }
    data.copy(this.buf, this.length, from, to);
    this.length += n;
  }

  text(from: number, to: number): string {
    return this.buf.toString('utf8', from, to);
  }
}

/** The elements of a JSON array, each compacted (see ArrayScanner), with its index and line. */
export async function* splitJsonArray(input: AsyncIterable<unknown>, source: string, maxElementBytes: number): AsyncGenerator<ArrayElement> {
  const out = new GrowingBytes(64 * 1024);
  const scanner = new ArrayScanner(source, maxElementBytes, out);
  const done: ArrayElement[] = [];
  for await (const piece of input) {
    scanner.scan(piece as Buffer, (start) => {
      done.push({ index: scanner.index, line: scanner.elementLine, text: out.text(start, out.length) });
      out.length = 0;
    });
    yield* done;
    done.length = 0;
  }
  scanner.end();
}

/**
 * The elements of a JSON array as the blocks of a JSON-lines file: each element compacted on
 * its own line (line n = element n), whole lines per block, blocks of about `blockBytes` (one
 * element larger than that gets a block of its own). Each block owns its memory (it can be
 * handed to another thread).
 */
export async function* jsonArrayAsLineBlocks(input: AsyncIterable<unknown>, source: string, maxElementBytes: number, blockBytes: number): AsyncGenerator<Buffer> {
  const out = new GrowingBytes(blockBytes + 64 * 1024);
  const scanner = new ArrayScanner(source, maxElementBytes, out);
  const full: Buffer[] = [];
  const newline = Buffer.from('\n');
  for await (const piece of input) {
    // A piece may complete several blocks: each is taken as it fills, the next goes on in fresh memory.
    scanner.scan(piece as Buffer, () => {
      out.put(newline, 0, 1);
      if (out.length >= blockBytes) {
        full.push(out.buf.subarray(0, out.length));
        out.buf = Buffer.allocUnsafeSlow(blockBytes + 64 * 1024);
        out.length = 0;
      }
    });
    yield* full;
    full.length = 0;
  }
  scanner.end();
  if (out.length > 0) yield out.buf.subarray(0, out.length);
}
