import type { Readable } from 'node:stream';

/**
 * Splits a byte stream into lines (without the newline; a trailing piece without one is yielded
 * too). Faster than node:readline on large files: it splits Buffers and decodes each line once.
 */
export async function* splitLines(input: Readable): AsyncGenerator<string> {
  let carry: Buffer | null = null;
  for await (const piece of input) {
    const chunk = piece as Buffer;
    const data: Buffer = carry ? Buffer.concat([carry, chunk]) : chunk;
    let start = 0;
    let nl = data.indexOf(10, start);
    while (nl >= 0) {
      const end = nl > start && data[nl - 1] === 13 ? nl - 1 : nl;
      yield data.toString('utf8', start, end);
      start = nl + 1;
      nl = data.indexOf(10, start);
    }
    carry = start < data.length ? data.subarray(start) : null;
  }
  if (carry && carry.length > 0) yield carry.toString('utf8');
}
