import pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { SoftlogicError } from '../../core/errors.js';

/**
 * Streams a query's single text column through `COPY (query) TO STDOUT (FORMAT binary)`: the
 * server sends rows as fast as the socket takes them (no cursor round trip per page), each field
 * a length and its bytes (no COPY text escapes to undo), and the socket's backpressure holds
 * the server when the consumer is slow. One statement is one snapshot.
 */

/** COPY binary's signature, and the header's length up to its extension (whose length ends it). */
export const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
export const HEADER = SIGNATURE.length + 8;

/**
 * COPY takes no bind parameters: `$n` become literals. Only the values the filters produce are
 * accepted (finite numbers, strings quoted by the driver's escapeLiteral, booleans).
 */
export function inlineParams(sql: string, params: readonly unknown[]): string {
  return sql.replace(/\$(\d+)(?!\d)/g, (_, n: string) => {
    const value = params[Number(n) - 1];
    if (typeof value === 'number' && Number.isFinite(value)) return String(value);
    if (typeof value === 'string') return pg.escapeLiteral(value);
    if (typeof value === 'boolean') return String(value);
    throw new SoftlogicError('INTERNAL', `COPY parameter $${n} is not a number, string or boolean`);
  });
}

/** Rows per page handed on (one await each): pages cost little, rows arrive by socket chunk. */
const PAGE_ROWS = 4096;

/** The text of every row of `query` (one text column, never NULL), in pages. */
export function copyOutText(client: pg.ClientBase, query: string): AsyncGenerator<string[]> {
  return decodeCopyText(client.query(copyTo(`COPY (${query}) TO STDOUT (FORMAT binary)`)) as AsyncIterable<Buffer>);
}

/** The rows of COPY binary output of one text column, as strings, in pages (any driver's bytes). */
export async function* decodeCopyText(stream: AsyncIterable<Buffer>): AsyncGenerator<string[]> {
  let rest: Buffer = Buffer.alloc(0);
  let header = false;
  let page: string[] = [];
  for await (const chunk of stream) {
    const data = rest.length > 0 ? Buffer.concat([rest, chunk]) : chunk;
    let at = 0;
    if (!header) {
      if (data.length < HEADER) {
        rest = data;
        continue;
      }
      if (!data.subarray(0, SIGNATURE.length).equals(SIGNATURE)) throw new SoftlogicError('INTERNAL', 'COPY binary output without its signature');
      at = HEADER + data.readInt32BE(SIGNATURE.length + 4);
      header = true;
    }
    while (at + 2 <= data.length) {
      const fields = data.readInt16BE(at);
      if (fields === -1) {
        at = data.length;
        break;
      }
      if (at + 6 > data.length) break;
      const length = data.readInt32BE(at + 2);
      if (length < 0) throw new SoftlogicError('INTERNAL', 'COPY row with a NULL text');
      if (at + 6 + length > data.length) break;
      page.push(data.toString('utf8', at + 6, at + 6 + length));
      at += 6 + length;
    }
    rest = at < data.length ? data.subarray(at) : Buffer.alloc(0);
    if (page.length >= PAGE_ROWS) {
      yield page;
      page = [];
    }
  }
  if (page.length > 0) yield page;
}
