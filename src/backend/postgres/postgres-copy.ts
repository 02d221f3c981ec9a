import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

/**
 * COPY ... FROM STDIN in text format, the fastest way into PostgreSQL: a batch's rows go as one
 * buffer, parsed by the server without the per-row cost of an INSERT's expressions.
 */

const NEEDS_ESCAPE = /[\\\n\r\t]/;

/** A text field: backslash, newline, carriage return and tab escaped; null is \N. */
export function copyField(value: string | number | boolean | null | undefined): string {
  if (value === null || value === undefined) return '\\N';
  if (typeof value !== 'string') return typeof value === 'boolean' ? (value ? 't' : 'f') : String(value);
  return NEEDS_ESCAPE.test(value) ? value.replace(/[\\\n\r\t]/g, (c) => (c === '\\' ? '\\\\' : c === '\n' ? '\\n' : c === '\r' ? '\\r' : '\\t')) : value;
}

/** A text[] field: a PostgreSQL array literal with every element quoted, then COPY-escaped. */
export function copyTextArray(values: readonly string[]): string {
  if (values.length === 0) return '{}';
  return copyField(`{${values.map((v) => `"${v.replace(/["\\]/g, (c) => `\\${c}`)}"`).join(',')}}`);
}

/** Sends `rows` (each a line of tab-separated copyField values, no newline) through `COPY sql FROM STDIN`. */
export async function copyRows(client: pg.ClientBase, sql: string, rows: readonly string[]): Promise<void> {
  if (rows.length === 0) return;
  await copyBytes(client, sql, Buffer.from(rows.join('\n') + '\n'));
}

/** Sends COPY text already encoded (lines ending in a newline) through `COPY sql FROM STDIN`. */
export async function copyBytes(client: pg.ClientBase, sql: string, data: Buffer): Promise<void> {
  if (data.length === 0) return;
  const stream = client.query(copyFrom(`${sql} FROM STDIN`));
  await new Promise<void>((resolve, reject) => {
    stream.on('error', reject);
    stream.on('finish', resolve);
    stream.end(data);
  });
}
