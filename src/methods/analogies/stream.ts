import { closeSync, openSync, readSync } from 'node:fs';
import { SoftlogicError } from '../../core/errors.js';
import type { Analogy } from '../../core/records.js';
import type { AnalogyFilter } from '../../core/schemas.js';
import { DEFAULT_CONTEXT } from '../../core/names.js';
import type { EmbeddedStore } from '../../store/embedded/embedded-store.js';
import { recordJsonOf, seqOf } from '../../store/embedded/log-format.js';
import { seqOfKey } from '../../store/embedded/sqlite-schema.js';
import { filterSql } from './filter-sql.js';
import type { LocatedRow } from './read.js';

const WINDOW = 4 * 1024 * 1024;

/**
 * Every matching active analogy as JSON text, in log order, from one consistent snapshot: the
 * rows come from one read statement on a connection of its own (a WAL snapshot that does not
 * block writers, however slowly the consumer reads) in key order, which is log
 * order, so the log is read front to back through a sliding window. Memory is the window, not
 * the result; deleted records never appear.
 */
export function* streamAnalogyJson(store: EmbeddedStore, filter: AnalogyFilter = {}): Generator<string> {
  const context = filter.context ?? DEFAULT_CONTEXT;
  const ctx = store.context(context);
  const { where, params, parsed } = filterSql(ctx?.ctx ?? -1, filter);
  if (!ctx) return;
  // Open the log first: a compaction after this point makes the seq check below fail loudly.
  const fd = openSync(store.layout.log(context), 'r');
  const reader = store.openReader();
  try {
    const limit = parsed.limit ?? -1;
    const rows = reader.prepare(`SELECT a.key, a.off, a.len FROM analogies a WHERE ${where} ORDER BY a.key LIMIT ?`).iterate(...params, limit) as IterableIterator<LocatedRow>;
    let buf = Buffer.allocUnsafe(WINDOW);
    let winStart = 0;
    let winEnd = 0;
    for (const row of rows) {
      if (row.off < winStart || row.off + row.len > winEnd) {
        if (row.len > buf.length) buf = Buffer.allocUnsafe(row.len);
        winStart = row.off;
        winEnd = row.off + readSync(fd, buf, 0, buf.length, row.off);
      }
      const start = row.off - winStart;
      const line = buf.toString('utf8', start, start + row.len - 1);
      if (seqOf(line) !== seqOfKey(row.key)) {
        throw new SoftlogicError('CONFLICT', `the log of '${context}' was compacted during this stream; run it again`, { context });
      }
      yield recordJsonOf(line);
    }
  } finally {
    reader.close();
    closeSync(fd);
  }
}

export function* streamAnalogies(store: EmbeddedStore, filter: AnalogyFilter = {}): Generator<Analogy> {
  for (const json of streamAnalogyJson(store, filter)) yield JSON.parse(json) as Analogy;
}
