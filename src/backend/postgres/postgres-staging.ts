import type pg from 'pg';
import { StagedDigest } from '../../core/staged-digest.js';
import { encodeStagedLine } from '../../core/staged-lines.js';
import type { StagingWriter } from '../workflow-table.js';
import { copyBytes, copyField } from './postgres-copy.js';
import { inTransaction, REPEATABLE } from './postgres-connection.js';

/** Staged items per COPY while staging, and per page when read back. */
export const STAGED_ROWS = 5000;

/**
 * Staged items written as rows of `staged_items`, a page at a time by COPY (the server parses a
 * COPY line far more cheaply than an INSERT's text[] parameter: the JSON's quotes need no
 * escaping there), in order, one page after the other. The digest is the embedded one, over the
 * same `<crc8> <json>\n` lines.
 */
export class RowStagingWriter implements StagingWriter {
  count = 0;
  /** The page being filled: COPY text already in bytes, then rows from addJson not yet joined. */
  private parts: Buffer[] = [];
  private lines: string[] = [];
  private pageRows = 0;
  private written: Promise<void> = Promise.resolve();
  private failed: unknown = null;
  private readonly digest = new StagedDigest();
  private readonly head: string;
  private readonly headBytes: Buffer;

  constructor(
    private readonly pool: pg.Pool,
    private readonly workflowId: string,
  ) {
    this.head = `${copyField(workflowId)}\t`;
    this.headBytes = Buffer.from(this.head);
  }

  add(item: unknown): void {
    this.addJson(JSON.stringify(item));
  }

  addJson(json: string): void {
    this.digest.update(Buffer.from(encodeStagedLine(json)));
    this.lines.push(`${this.head}${this.count}\t${copyField(json)}\n`);
    this.added(1);
  }

  addEncoded(lines: Uint8Array, count: number): void {
    // `<crc8> <json>\n` lines (core/staged-lines.ts): the digest is over exactly these bytes.
    const bytes = Buffer.from(lines.buffer, lines.byteOffset, lines.byteLength);
    this.digest.update(bytes);
    this.sealLines();
    this.parts.push(copyLinesOf(bytes, count, this.headBytes, this.count));
    this.added(count);
  }

  private added(rows: number): void {
    this.count += rows;
    this.pageRows += rows;
    if (this.pageRows >= STAGED_ROWS) this.flush();
  }

  private sealLines(): void {
    if (this.lines.length === 0) return;
    this.parts.push(Buffer.from(this.lines.join('')));
    this.lines = [];
  }

  private flush(): void {
    this.sealLines();
    if (this.parts.length === 0) return;
    const page = Buffer.concat(this.parts);
    const first = this.count - this.pageRows;
    this.parts = [];
    this.pageRows = 0;
    this.written = this.written.then(async () => {
      if (this.failed) return;
      try {
        // One page, one transaction: after a lost connection it is copied again, unless its
        // first row shows that the COMMIT whose answer was lost did take effect.
        await inTransaction(this.pool, (client) => copyBytes(client, 'COPY staged_items(workflow_id, item, json)', page), {
          committed: async () => (await this.pool.query('SELECT 1 FROM staged_items WHERE workflow_id = $1 AND item = $2', [this.workflowId, first])).rows.length > 0,
        });
      } catch (err) {
        this.failed = err;
      }
    });
  }

  async settled(): Promise<void> {
    await this.written;
    if (this.failed) throw this.failed;
  }

  async finish(): Promise<string> {
    this.flush();
    await this.settled();
    return this.digest.value();
  }

  async abort(): Promise<void> {
    this.parts = [];
    this.lines = [];
    await this.written;
    await this.pool.query(`${REPEATABLE}DELETE FROM staged_items WHERE workflow_id = $1`, [this.workflowId]);
  }
}

const TAB = 9;
const NEWLINE = 10;
const RETURN = 13;
const BACKSLASH = 92;

/**
 * The COPY text of staged lines (`<crc8> <json>\n`), straight from their bytes: `head`, the item
 * number, a tab, the JSON with each backslash doubled (JSON text holds no raw newline; a tab or
 * carriage return, possible only as whitespace between a verbatim item's members, sends the
 * block the way of copyField), a newline. No string is decoded and encoded again per item.
 */
export function copyLinesOf(bytes: Buffer, count: number, head: Buffer, firstItem: number): Buffer {
  if (bytes.includes(TAB) || bytes.includes(RETURN)) {
    const text = bytes.toString('utf8');
    const headText = head.toString();
    const rows: string[] = [];
    let at = 0;
    for (let i = 0; i < count; i++) {
      const end = text.indexOf('\n', at);
      rows.push(`${headText}${firstItem + i}\t${copyField(text.slice(at + 9, end))}\n`);
      at = end + 1;
    }
    return Buffer.from(rows.join(''));
  }
  const escapes = bytes.includes(BACKSLASH);
  // Each line loses its 9-byte CRC and gains the head, up to 10 digits and a tab; a backslash
  // at most doubles a byte.
  const out = Buffer.allocUnsafe((escapes ? 2 * bytes.length : bytes.length) + count * (head.length + 11));
  let o = 0;
  let at = 0;
  for (let i = 0; i < count; i++) {
    const end = bytes.indexOf(NEWLINE, at);
    o += head.copy(out, o);
    o += out.write(`${firstItem + i}\t`, o, 'latin1');
    let from = at + 9;
    if (escapes) {
      const json = bytes.subarray(from, end);
      for (let b = json.indexOf(BACKSLASH); b >= 0; b = json.indexOf(BACKSLASH, b + 1)) {
        o += bytes.copy(out, o, from, at + 9 + b + 1);
        out[o++] = BACKSLASH;
        from = at + 9 + b + 1;
      }
    }
    o += bytes.copy(out, o, from, end);
    out[o++] = NEWLINE;
    at = end + 1;
  }
  return out.subarray(0, o);
}
