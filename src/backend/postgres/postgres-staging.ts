import type pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { StagedDigest } from '../../core/staged-digest.js';
import { encodeStagedLine } from '../../core/staged-lines.js';
import type { StagingWriter } from '../workflow-table.js';
import { REPEATABLE, withConnection } from './postgres-connection.js';
import { HEADER, inlineParams, SIGNATURE } from './postgres-copy-out.js';

/** Staged items per page: a page is written once this many are in (a block staged at once may make it longer). */
export const STAGED_ROWS = 5000;

/**
 * Staged items kept as pages, rows of `staged_pages(workflow_id, first_item, count, data)`: `data`
 * is the page's items as JSON lines (`<json>\n`: JSON text holds no raw newline), the staged text
 * byte for byte. One row per page, not per item: the server parses, logs and indexes a few
 * hundred rows for 1M items (it did 1M rows, each keyed by the workflow's id), and a chunk is
 * read back as a few pages of text. The digest stays the embedded one, over the `<crc8> <json>\n`
 * lines (core/staged-lines.ts) of the same items. The table is logged like the others: staged
 * items survive a crash of the server and reach a standby, so any replica can finish the workflow.
 *
 * `data` is text, not bytea: read back as text it needs no decoding (pg 8 reads a bytea as hex
 * text, and its binary results go through a UTF-8 string, which corrupts non-text bytes).
 */

/** One page's insert: its first item is its key, so a page sent twice (a retry after a lost answer) is kept once. */
const INSERT_PAGE = `${REPEATABLE}INSERT INTO staged_pages(workflow_id, first_item, count, data) VALUES ($1, $2, $3, $4) ON CONFLICT (workflow_id, first_item) DO NOTHING`;

/** Writes a workflow's staged items a page at a time, in order, one page after the other. */
export class PageStagingWriter implements StagingWriter {
  count = 0;
  /** The page being filled, as JSON lines. */
  private parts: Buffer[] = [];
  private pageRows = 0;
  private written: Promise<void> = Promise.resolve();
  private failed: unknown = null;
  private readonly digest = new StagedDigest();

  constructor(
    private readonly pool: pg.Pool,
    private readonly workflowId: string,
  ) {}

  add(item: unknown): void {
    this.addJson(JSON.stringify(item));
  }

  addJson(json: string): void {
    this.digest.update(Buffer.from(encodeStagedLine(json)));
    this.parts.push(Buffer.from(`${json}\n`));
    this.added(1);
  }

  addEncoded(lines: Uint8Array, count: number): void {
    // `<crc8> <json>\n` lines: the digest is over exactly these bytes, the page keeps their JSON.
    const bytes = Buffer.from(lines.buffer, lines.byteOffset, lines.byteLength);
    this.digest.update(bytes);
    this.parts.push(jsonLinesOf(bytes));
    this.added(count);
  }

  private added(rows: number): void {
    this.count += rows;
    this.pageRows += rows;
    if (this.pageRows >= STAGED_ROWS) this.flush();
  }

  private flush(): void {
    if (this.pageRows === 0) return;
    const page = Buffer.concat(this.parts);
    const rows = this.pageRows;
    const first = this.count - rows;
    this.parts = [];
    this.pageRows = 0;
    this.written = this.written.then(async () => {
      if (this.failed) return;
      try {
        // One statement, its own transaction. The page goes as bytes (pg sends a Buffer as a
        // binary parameter: no escaping, no string on either side; the server checks its UTF-8).
        await this.pool.query(INSERT_PAGE, [this.workflowId, first, rows, page]);
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
    this.pageRows = 0;
    await this.written;
    await dropStagedPages(this.pool, this.workflowId);
  }
}

const NEWLINE = 10;
/** The bytes before a staged line's JSON: its CRC-32 in 8 hex digits and a space. */
const CRC_HEAD = 9;

/** Staged lines' JSON lines: each `<crc8> <json>\n` without its first 9 bytes, in a new buffer (the caller reuses its own). */
export function jsonLinesOf(bytes: Buffer): Buffer {
  const out = Buffer.allocUnsafe(bytes.length);
  let o = 0;
  for (let at = 0; at < bytes.length; ) {
    let end = bytes.indexOf(NEWLINE, at);
    if (end < 0) end = bytes.length - 1;
    o += bytes.copy(out, o, at + CRC_HEAD, end + 1);
    at = end + 1;
  }
  return out.subarray(0, o);
}

export interface StagedPage {
  /** the number of its first item */
  first: number;
  count: number;
  /** its items' JSON, a line each */
  data: string;
}

/** Pages read per statement by readStagedPages (5,000 items each: ~2 MB a page of 400-byte analogies). */
const PAGES_PER_READ = 4;

/** The pages of workflow $1 holding any item in [$2, $3), in item order: both readers' statement. */
const PAGES_IN_RANGE = 'SELECT first_item AS first, count, data FROM staged_pages WHERE workflow_id = $1 AND first_item + count > $2 AND first_item < $3 ORDER BY first_item';

/**
 * The staged pages of a workflow that hold items from `from` on (before `to`, if given), in item
 * order; each statement is a read, retried on a new connection if the connection is lost.
 */
export async function* readStagedPages(db: pg.Pool | pg.ClientBase, workflowId: string, from: number, to = 2 ** 31 - 1): AsyncGenerator<StagedPage> {
  let next = from;
  while (next < to) {
    const { rows } = await db.query<StagedPage>(
      `${PAGES_IN_RANGE} LIMIT ${PAGES_PER_READ}`,
      [workflowId, next, to],
    );
    for (const page of rows) yield page;
    if (rows.length < PAGES_PER_READ) return;
    const last = rows[rows.length - 1] as StagedPage;
    next = last.first + last.count;
  }
}

/**
 * The pages holding items [from, to) of a workflow, in item order, as the bytes of `COPY (...) TO
 * STDOUT (FORMAT binary)` of their (first_item, count, data): read with no string made on this
 * thread (stagedPagesOfCopy decodes them, on a worker thread for a prepared import). One
 * statement, repeated on a new connection if the connection is lost (pages never change).
 */
export async function readStagedPageBytes(pool: pg.Pool, workflowId: string, from: number, to: number): Promise<Buffer> {
  const query = inlineParams(PAGES_IN_RANGE, [workflowId, from, to]);
  return withConnection(pool, 'reading staged items', async (client) => {
    const parts: Buffer[] = [];
    for await (const part of client.query(copyTo(`COPY (${query}) TO STDOUT (FORMAT binary)`)) as AsyncIterable<Buffer>) parts.push(part);
    return Buffer.concat(parts);
  });
}

/** A staged page as bytes: its items' JSON lines, UTF-8. */
export interface StagedPageBytes {
  first: number;
  count: number;
  data: Buffer;
}

/** The pages in readStagedPageBytes' bytes (each page's data a view of them). */
export function stagedPagesOfCopy(bytes: Buffer): StagedPageBytes[] {
  if (bytes.length < HEADER || !bytes.subarray(0, SIGNATURE.length).equals(SIGNATURE)) throw new Error('COPY binary output without its signature');
  const pages: StagedPageBytes[] = [];
  // Each row: its field count (3), then each field's length and bytes: int4, int4, text.
  for (let at = HEADER + bytes.readInt32BE(SIGNATURE.length + 4); bytes.readInt16BE(at) === 3; ) {
    const first = bytes.readInt32BE(at + 6);
    const count = bytes.readInt32BE(at + 14);
    const length = bytes.readInt32BE(at + 18);
    pages.push({ first, count, data: bytes.subarray(at + 22, at + 22 + length) });
    at += 22 + length;
  }
  return pages;
}

/** The JSON of a page's items from `from` to before `to` (item numbers), in order. */
export function pageItems(page: StagedPage, from = page.first, to = page.first + page.count): string[] {
  const text = page.data;
  const items: string[] = [];
  let at = 0;
  for (let item = page.first; item < to; item++) {
    const end = text.indexOf('\n', at);
    if (end < 0) break;
    if (item >= from) items.push(text.slice(at, end));
    at = end + 1;
  }
  return items;
}

/** Removes a workflow's staged pages (a second run removes nothing more). */
export async function dropStagedPages(db: pg.Pool | pg.ClientBase, workflowId: string): Promise<void> {
  await db.query(`${REPEATABLE}DELETE FROM staged_pages WHERE workflow_id = $1`, [workflowId]);
}

export async function hasStagedPages(db: pg.Pool | pg.ClientBase, workflowId: string): Promise<boolean> {
  const { rows } = await db.query(`SELECT 1 FROM staged_pages WHERE workflow_id = $1 LIMIT 1`, [workflowId]);
  return rows.length > 0;
}
