import type { Readable } from 'node:stream';

/**
 * Splits a byte stream into lines (without the newline; a trailing piece without one is yielded
 * too). Faster than node:readline on large files: it splits Buffers and decodes each line once.
 * A line spanning many pieces (a gzip'd file yields 16-64 KB at a time) is gathered as a list
 * of pieces and joined once when its newline arrives: each byte is scanned and copied once, so
 * a 64 MB line costs what 64 MB of short lines cost.
 */
export async function* splitLines(input: AsyncIterable<unknown> | Readable): AsyncGenerator<string> {
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  for await (const piece of input) {
    const data = piece as Buffer;
    let start = 0;
    let nl = data.indexOf(10, start);
    while (nl >= 0) {
      if (pendingBytes > 0) {
        pending.push(data.subarray(start, nl));
        const line = Buffer.concat(pending, pendingBytes + nl - start);
        pending = [];
        pendingBytes = 0;
        yield decodeLine(line, 0, line.length);
      } else {
        yield decodeLine(data, start, nl);
      }
      start = nl + 1;
      nl = data.indexOf(10, start);
    }
    if (start < data.length) {
      pending.push(data.subarray(start));
      pendingBytes += data.length - start;
    }
  }
  if (pendingBytes > 0) {
    const line = Buffer.concat(pending, pendingBytes);
    yield line.toString('utf8');
  }
}

/** data[start, end) as text, without a trailing carriage return. */
function decodeLine(data: Buffer, start: number, end: number): string {
  return data.toString('utf8', start, end > start && data[end - 1] === 13 ? end - 1 : end);
}
