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
 * Splits a byte stream holding one JSON array into its elements' texts, element by element, so
 * memory holds one element (plus one input piece) however large the array. Only the structure
 * is checked here (brackets, strings, commas); each element's own syntax is JSON.parse's. An
 * element larger than `maxElementBytes` or a broken structure refuses the file (INVALID_INPUT,
 * naming the element and line), as parsing the whole array at once did.
 */
export async function* splitJsonArray(input: AsyncIterable<unknown>, source: string, maxElementBytes: number): AsyncGenerator<ArrayElement> {
  const fail = (reason: string, line: number): never => {
    throw new SoftlogicError('INVALID_INPUT', `${source} is not a valid JSON array: ${reason} (line ${line})`, { path: source, line });
  };
  let line = 1;
  /** 0: before '[', 1: inside the array, 2: after its ']' */
  let phase = 0;
  let depth = 0;
  let inString = false;
  let escaped = false;
  let index = 0;
  /** the current element: pieces of earlier input chunks, and where it began in this one (-1: not begun) */
  let pieces: Buffer[] = [];
  let pieceBytes = 0;
  let elementLine = 0;
  let expectValue = true;
  let sawComma = false;
  for await (const piece of input) {
    const data = piece as Buffer;
    let begin = pieceBytes > 0 ? 0 : -1;
    const finish = (end: number): ArrayElement => {
      const part = data.subarray(begin, end);
      const text = pieceBytes > 0 ? Buffer.concat([...pieces, part], pieceBytes + part.length).toString('utf8') : part.toString('utf8');
      pieces = [];
      pieceBytes = 0;
      begin = -1;
      return { index: index++, line: elementLine, text };
    };
    for (let i = 0; i < data.length; i++) {
      const b = data[i];
      if (inString) {
        if (escaped) escaped = false;
        else if (b === BACKSLASH) escaped = true;
        else if (b === QUOTE) inString = false;
        else if (b === LF) line += 1;
        continue;
      }
      if (b === SPACE || b === TAB || b === CR || b === LF) {
        if (b === LF) line += 1;
        continue;
      }
      if (phase !== 1) {
        if (phase === 0 && b === OPEN_ARRAY) phase = 1;
        else fail(phase === 0 ? 'it does not start with [' : 'data after the closing ]', line);
        continue;
      }
      if (depth === 0 && (b === COMMA || b === CLOSE_ARRAY)) {
        if (begin >= 0) {
          yield finish(i);
          expectValue = false;
        } else if (b === COMMA || sawComma) {
          fail(`a value is missing before '${String.fromCharCode(b)}' (element ${index + 1})`, line);
        }
        if (b === CLOSE_ARRAY) phase = 2;
        else {
          expectValue = true;
          sawComma = true;
        }
        continue;
      }
      if (begin < 0) {
        if (!expectValue) fail(`a ',' is missing before element ${index + 1}`, line);
        begin = i;
        elementLine = line;
      }
      if (b === QUOTE) inString = true;
      else if (b === OPEN_ARRAY || b === OPEN_OBJECT) depth += 1;
      else if (b === CLOSE_ARRAY || b === CLOSE_OBJECT) depth -= 1;
      if (depth < 0) fail(`unbalanced '${String.fromCharCode(b)}' in element ${index + 1}`, line);
    }
    if (begin >= 0) {
      pieces.push(data.subarray(begin));
      pieceBytes += data.length - begin;
      if (pieceBytes > maxElementBytes) fail(`element ${index + 1} is over ${maxElementBytes} bytes`, elementLine);
    }
  }
  if (phase !== 2) fail(phase === 0 ? 'no array found' : 'the array is not closed', line);
}
