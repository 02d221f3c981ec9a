import type { Analogy } from '../../core/records.js';
import type { AnalogyFilter } from '../../core/schemas.js';
import type { EmbeddedStore } from '../../backend/embedded/embedded-store.js';
import { DEFAULT_CONTEXT } from '../../core/names.js';
import { filterSql } from './filter-sql.js';
import { readAnalogy, type LocatedRow } from './read.js';

export const DEFAULT_QUERY_LIMIT = 100;

// One direction throughout, so the index order is the result order (no sort step).
const ORDER = 'ORDER BY qb DESC, quality DESC, key DESC';
const RANK = 'a.key AS key, a.qb AS qb, a.quality AS quality';

/**
 * Matching active analogies, best quality first, served from the (ctx, qb) and
 * (ctx, domain, qb) indexes. With a domain, the source-side and target-side searches each take
 * their own index and the best of both are merged, rather than one OR that no index can order.
 */
export function queryAnalogies(store: EmbeddedStore, filter: AnalogyFilter = {}): Analogy[] {
  const context = filter.context ?? DEFAULT_CONTEXT;
  const ctx = store.requireContext(context);
  const { where, params, baseWhere, baseParams, parsed } = filterSql(ctx.ctx, filter);
  const limit = parsed.limit ?? DEFAULT_QUERY_LIMIT;
  const offset = parsed.offset ?? 0;
  // Ranking reads (key, qb, quality) only, which the (ctx[, domain], qb, quality) indexes cover
  // for plain quality/domain queries; the rows themselves are fetched for the winners alone.
  const side = (column: string) =>
    `SELECT * FROM (SELECT ${RANK} FROM analogies a WHERE ${baseWhere} AND a.${column} = (SELECT dom FROM domains WHERE name = ?) ${ORDER} LIMIT ?)`;
  const ranked =
    parsed.domain === undefined
      ? { sql: `SELECT ${RANK} FROM analogies a WHERE ${where} ${ORDER} LIMIT ? OFFSET ?`, args: [...params, limit, offset] }
      : // Each side's first offset+limit hold the merged page (a page skips only index entries, not rows).
        { sql: `${side('src')} UNION ${side('tgt')} ${ORDER} LIMIT ? OFFSET ?`, args: [...baseParams, parsed.domain, offset + limit, ...baseParams, parsed.domain, offset + limit, limit, offset] };
  const rows = store
    .statement(`SELECT r.key AS key, a.id AS id, a.off AS off, a.len AS len FROM (${ranked.sql}) r JOIN analogies a ON a.key = r.key ${ORDER.replace(/(qb|quality|key)/g, 'r.$1')}`)
    .all(...ranked.args) as Array<LocatedRow & { id: string }>;
  return rows.map((row) => readAnalogy(store, context, row));
}

export function countAnalogies(store: EmbeddedStore, filter: AnalogyFilter = {}): number {
  const ctx = store.requireContext(filter.context ?? DEFAULT_CONTEXT);
  const { where, params, baseWhere, baseParams, parsed } = filterSql(ctx.ctx, filter);
  if (parsed.domain === undefined) return store.statement(`SELECT COUNT(*) FROM analogies a WHERE ${where}`).pluck().get(...params) as number;
  // As in queryAnalogies: each side from its own index, then the union of their keys (an OR
  // of the two sides reads every row of the context: seconds at a million).
  const side = (column: string) => `SELECT a.key FROM analogies a WHERE ${baseWhere} AND a.${column} = (SELECT dom FROM domains WHERE name = ?)`;
  return store.statement(`SELECT COUNT(*) FROM (${side('src')} UNION ${side('tgt')})`).pluck().get(...baseParams, parsed.domain, ...baseParams, parsed.domain) as number;
}
