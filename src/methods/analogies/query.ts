import type { Analogy } from '../../core/records.js';
import type { AnalogyFilter } from '../../core/schemas.js';
import type { EmbeddedStore } from '../../store/embedded/embedded-store.js';
import { DEFAULT_CONTEXT } from '../../core/names.js';
import { filterSql } from './filter-sql.js';
import { readAnalogy, type LocatedRow } from './read.js';

export const DEFAULT_QUERY_LIMIT = 100;

/**
 * Matching active analogies, best quality first, served from the (ctx, quality) and
 * (ctx, domain, quality) indexes; with a domain the two domain indexes are unioned.
 */
export function queryAnalogies(store: EmbeddedStore, filter: AnalogyFilter = {}): Analogy[] {
  const context = filter.context ?? DEFAULT_CONTEXT;
  const ctx = store.context(context);
  const { where, params, parsed } = filterSql(ctx?.ctx ?? -1, filter);
  if (!ctx) return [];
  const limit = parsed.limit ?? DEFAULT_QUERY_LIMIT;
  const rows = store.db.prepare(`SELECT a.key, a.off, a.len FROM analogies a WHERE ${where} ORDER BY a.quality DESC, a.key LIMIT ?`).all(...params, limit) as LocatedRow[];
  return rows.map((row) => readAnalogy(store, context, row));
}

export function countAnalogies(store: EmbeddedStore, filter: AnalogyFilter = {}): number {
  const ctx = store.context(filter.context ?? DEFAULT_CONTEXT);
  const { where, params } = filterSql(ctx?.ctx ?? -1, filter);
  if (!ctx) return 0;
  return store.db.prepare(`SELECT COUNT(*) FROM analogies a WHERE ${where}`).pluck().get(...params) as number;
}
