import type { Statement } from 'better-sqlite3';
import { SoftlogicError } from '../../core/errors.js';
import type { Analogy } from '../../core/records.js';
import type { AnalogyFilter } from '../../core/schemas.js';
import { DEFAULT_CONTEXT } from '../../core/names.js';
import type { EmbeddedStore } from '../../backend/embedded/embedded-store.js';
import { rowKey, SEQ_SPAN } from '../../backend/embedded/sqlite-schema.js';
import { LogWindow } from '../../backend/embedded/log-window.js';
import { corruptRecordError } from '../../backend/embedded/context-log.js';
import { filterSql } from './filter-sql.js';
import { analogyOfLine } from './read.js';

const RECORD_KEY = Buffer.from(',"record":');
const CRC_SUFFIX_LENGTH = ',"crc":"xxxxxxxx"}'.length;
const OP_KEY = Buffer.from(',"op":"');
const DELETE_OP = Buffer.from(',"op":"delete"');

/**
 * Every matching active analogy as JSON text, in log order, from one consistent snapshot: the
 * rows come from one read statement on a connection of its own (a WAL snapshot that does not
 * block writers, however slowly the consumer reads) in key order, which is log order, so the
 * log is read front to back through a sliding window. Memory is the window, not the result;
 * deleted records never appear. Only the record's bytes are decoded.
 */
export function* streamAnalogyJson(store: EmbeddedStore, filter: AnalogyFilter = {}): Generator<string> {
  const context = filter.context ?? DEFAULT_CONTEXT;
  const ctx = store.requireContext(context);
  const { where, params, parsed } = filterSql(ctx.ctx, filter);
  // Open the log first: a compaction after this point makes the seq check below fail loudly.
  const log = new LogWindow(store.layout.log(context));
  const reader = store.openReader();
  // One read transaction: every page below comes from the same snapshot.
  reader.exec('BEGIN');
  try {
    // A range of row keys is one context's rows in log order: a rowid range scan, never a sort.
    const page = reader.prepare(`SELECT a.key, a.off, a.len FROM analogies a NOT INDEXED WHERE ${where} AND a.key > ? AND a.key < ? ORDER BY a.key LIMIT ?`).raw(true);
    for (const [key, off, len] of pagedRows(page, params, ctx.ctx, parsed.limit)) {
      const start = log.locate(off, len);
      const buf = log.buf;
      const end = start + len - 1; // without the newline
      if (!log.lineOk(start, len)) throw corruptRecordError(log.path, off, key % SEQ_SPAN, 'the line fails its checksum');
      // Active rows point at the line of their own seq; a tombstone (include_deleted) at a later one.
      const seq = log.seqAt(start);
      if (seq !== key % SEQ_SPAN && !(parsed.include_deleted && seq > key % SEQ_SPAN)) {
        throw new SoftlogicError('CONFLICT', `the log of '${context}' was compacted during this stream; run it again`, { context });
      }
      const recordAt = buf.indexOf(RECORD_KEY, start);
      if (parsed.include_deleted && buf.indexOf(DELETE_OP, start) === buf.indexOf(OP_KEY, start)) {
        // Only with include_deleted: a tombstone is merged with the version it deletes.
        yield JSON.stringify(analogyOfLine(store, context, buf.toString('utf8', start, end)).record);
        continue;
      }
      yield buf.toString('utf8', recordAt + RECORD_KEY.length, end - CRC_SUFFIX_LENGTH);
    }
  } finally {
    reader.close();
    log.close();
  }
}

/** Rows fetched a page at a time (one native call per page rather than per row), by key. */
const PAGE_ROWS = 8192;

function* pagedRows(page: Statement, params: unknown[], ctx: number, limit: number | undefined): Generator<[number, number, number]> {
  let remaining = limit ?? Infinity;
  let after = rowKey(ctx, 0);
  const end = rowKey(ctx + 1, 0);
  while (remaining > 0) {
    const rows = page.all(...params, after, end, Math.min(PAGE_ROWS, remaining)) as Array<[number, number, number]>;
    yield* rows;
    if (rows.length < PAGE_ROWS) return;
    remaining -= rows.length;
    after = rows[rows.length - 1][0];
  }
}

export function* streamAnalogies(store: EmbeddedStore, filter: AnalogyFilter = {}): Generator<Analogy> {
  for (const json of streamAnalogyJson(store, filter)) yield JSON.parse(json) as Analogy;
}
