import type Database from 'better-sqlite3';
import { SoftlogicError } from '../../core/errors.js';
import type { RecordKind } from '../../core/records.js';
import type { AnalogyFilter } from '../../core/schemas.js';
import type { MatchedRecord } from '../record-reader.js';
import type { ContextRow, EmbeddedStore } from './embedded-store.js';
import { rowKey, SEQ_SPAN } from './sqlite-schema.js';
import { LogWindow } from './log-window.js';
import { corruptRecordError } from './context-log.js';
import { recordJsonOf } from './log-format.js';
import { filterSql } from './analogy-filter-sql.js';
import { recordOfLine } from './record-lines.js';
import { refOf } from './embedded-write-batch.js';

const RECORD_KEY = Buffer.from(',"record":');
const CRC_SUFFIX_LENGTH = ',"crc":"xxxxxxxx"}'.length;
const OP_KEY = Buffer.from(',"op":"');
const DELETE_OP = Buffer.from(',"op":"delete"');

/**
 * Rows fetched (and pages yielded) a page at a time: one native call per page rather than per row.
 * Small enough that a page consumed across an await dies young: at 8192 rows (2.5 MB of JSON) a
 * consumer that parses each record behind `for await` spent 3 s in scavenges per 300k records
 * (pages surviving into the old generation) against 0.3 s at 1024.
 */
const PAGE_ROWS = 1024;

type Row = [key: number, ...rest: Array<number | string>];

/**
 * One context's rows in log order, a page at a time: `sql` selects the key first and ends with
 * `key > ? AND key < ? ORDER BY key LIMIT ?` (a rowid range scan, never a sort), run on a read
 * connection of its own inside one read transaction, so every page comes from the same WAL
 * snapshot and no writer waits however slowly the pages are consumed.
 */
function* snapshotPages<R extends Row>(store: EmbeddedStore, ctx: number, sql: string, params: unknown[], limit: number | undefined): Generator<R[]> {
  const reader: Database.Database = store.openReader();
  try {
    reader.exec('BEGIN');
    const page = reader.prepare(sql).raw(true);
    let remaining = limit ?? Infinity;
    let after = rowKey(ctx, 0);
    const end = rowKey(ctx + 1, 0);
    while (remaining > 0) {
      const rows = page.all(...params, after, end, Math.min(PAGE_ROWS, remaining)) as R[];
      if (rows.length > 0) yield rows;
      if (rows.length < PAGE_ROWS) return;
      remaining -= rows.length;
      after = rows[rows.length - 1][0];
    }
  } finally {
    reader.close();
  }
}

function compactedDuringStream(context: string): SoftlogicError {
  return new SoftlogicError('CONFLICT', `the log of '${context}' was compacted during this stream; run it again`, { context });
}

/**
 * Every matching analogy as JSON text, in log order, a page at a time, from one consistent
 * snapshot; the log is read front to back through a sliding window (rows in key order are in log
 * order). Memory is the window and a page, not the result; deleted records appear only with
 * include_deleted. Only the record's bytes are decoded.
 */
export function* analogyJsonPages(store: EmbeddedStore, ctx: ContextRow, filter: AnalogyFilter): Generator<string[]> {
  const context = ctx.name;
  const { where, params } = filterSql(ctx.ctx, filter);
  // Open the log first: a compaction after this point makes the seq check below fail loudly.
  const log = new LogWindow(store.layout.log(context));
  try {
    const sql = `SELECT a.key, a.off, a.len FROM analogies a NOT INDEXED WHERE ${where} AND a.key > ? AND a.key < ? ORDER BY a.key LIMIT ?`;
    for (const rows of snapshotPages<[number, number, number]>(store, ctx.ctx, sql, params, filter.limit)) {
      const out = new Array<string>(rows.length);
      for (let i = 0; i < rows.length; i++) {
        const [key, off, len] = rows[i];
        const start = log.locate(off, len);
        const buf = log.buf;
        const end = start + len - 1; // without the newline
        if (!log.lineOk(start, len)) throw corruptRecordError(log.path, off, key % SEQ_SPAN, 'the line fails its checksum');
        // Active rows point at the line of their own seq; a tombstone (include_deleted) at a later one.
        const seq = log.seqAt(start);
        if (seq !== key % SEQ_SPAN && !(filter.include_deleted && seq > key % SEQ_SPAN)) throw compactedDuringStream(context);
        if (filter.include_deleted && buf.indexOf(DELETE_OP, start) === buf.indexOf(OP_KEY, start)) {
          // Only with include_deleted: a tombstone is merged with the version it deletes.
          out[i] = JSON.stringify(recordOfLine(store, context, buf.toString('utf8', start, end)).record);
          continue;
        }
        const recordAt = buf.indexOf(RECORD_KEY, start);
        out[i] = buf.toString('utf8', recordAt + RECORD_KEY.length, end - CRC_SUFFIX_LENGTH);
      }
      yield out;
    }
  } finally {
    log.close();
  }
}

/** Every active record of one entity kind in one context as JSON text, as analogyJsonPages. */
export function* entityJsonPages(store: EmbeddedStore, ctx: ContextRow, kind: RecordKind): Generator<string[]> {
  const log = new LogWindow(store.layout.log(ctx.name));
  try {
    const sql = `SELECT key, off, len FROM entities NOT INDEXED WHERE kind = ? AND deleted_at IS NULL AND key > ? AND key < ? ORDER BY key LIMIT ?`;
    for (const rows of snapshotPages<[number, number, number]>(store, ctx.ctx, sql, [kind], undefined)) {
      yield rows.map(([key, off, len]) => {
        const start = log.locate(off, len);
        if (!log.lineOk(start, len)) throw corruptRecordError(log.path, off, key % SEQ_SPAN, 'the line fails its checksum');
        if (log.seqAt(start) !== key % SEQ_SPAN) throw compactedDuringStream(ctx.name);
        return recordJsonOf(log.buf.toString('utf8', start, start + len - 1));
      });
    }
  } finally {
    log.close();
  }
}

/** The id and current version of every matching analogy, in log order, from one snapshot. */
export function* matchPages(store: EmbeddedStore, ctx: ContextRow, filter: AnalogyFilter): Generator<MatchedRecord[]> {
  const { where, params } = filterSql(ctx.ctx, filter);
  const sql = `SELECT a.key, a.id, a.off, a.version FROM analogies a NOT INDEXED WHERE ${where} AND a.key > ? AND a.key < ? ORDER BY a.key LIMIT ?`;
  for (const rows of snapshotPages<[number, string, number, number]>(store, ctx.ctx, sql, params, filter.limit)) {
    yield rows.map(([, id, off, version]) => ({ id, ref: refOf(off, version) }));
  }
}
