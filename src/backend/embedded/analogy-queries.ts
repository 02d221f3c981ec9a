import type { Analogy } from '../../core/records.js';
import type { AnalogyFilter } from '../../core/schemas.js';
import type { ContextRow, EmbeddedStore } from './embedded-store.js';
import { filterSql } from './analogy-filter-sql.js';
import { readAnalogy, readAnalogyJson, type LocatedRow } from './record-lines.js';

export const DEFAULT_QUERY_LIMIT = 100;

// One direction throughout, so the index order is the result order (no sort step).
const ORDER = 'ORDER BY qb DESC, quality DESC, key DESC';
const RANK = 'a.key AS key, a.qb AS qb, a.quality AS quality';

/**
 * Matching analogies, best quality first, served from the (ctx, qb) and (ctx, domain, qb)
 * indexes. With a domain, the source-side and target-side searches each take their own index
 * and the best of both are merged, rather than one OR that no index can order.
 */
function matchingRows(store: EmbeddedStore, ctx: ContextRow, filter: AnalogyFilter): Array<LocatedRow & { id: string }> {
  const { where, params, baseWhere, baseParams } = filterSql(ctx.ctx, filter);
  const limit = filter.limit ?? DEFAULT_QUERY_LIMIT;
  const offset = filter.offset ?? 0;
  // Ranking reads (key, qb, quality) only, which the (ctx[, domain], qb, quality) indexes cover
  // for plain quality/domain queries; the rows themselves are fetched for the winners alone.
  const side = (column: string) =>
    `SELECT * FROM (SELECT ${RANK} FROM analogies a WHERE ${baseWhere} AND a.${column} = (SELECT dom FROM domains WHERE name = ?) ${ORDER} LIMIT ?)`;
  const ranked =
    filter.domain === undefined
      ? { sql: `SELECT ${RANK} FROM analogies a WHERE ${where} ${ORDER} LIMIT ? OFFSET ?`, args: [...params, limit, offset] }
      : // Each side's first offset+limit hold the merged page (a page skips only index entries, not rows).
        { sql: `${side('src')} UNION ${side('tgt')} ${ORDER} LIMIT ? OFFSET ?`, args: [...baseParams, filter.domain, offset + limit, ...baseParams, filter.domain, offset + limit, limit, offset] };
  return store
    .statement(`SELECT r.key AS key, a.id AS id, a.off AS off, a.len AS len FROM (${ranked.sql}) r JOIN analogies a ON a.key = r.key ${ORDER.replace(/(qb|quality|key)/g, 'r.$1')}`)
    .all(...ranked.args) as Array<LocatedRow & { id: string }>;
}

export function queryAnalogyRows(store: EmbeddedStore, ctx: ContextRow, filter: AnalogyFilter): Analogy[] {
  return matchingRows(store, ctx, filter).map((row) => readAnalogy(store, ctx.name, row));
}

/** The records queryAnalogyRows returns, each as JSON text (as stored where that is the same record). */
export function queryAnalogyJsonRows(store: EmbeddedStore, ctx: ContextRow, filter: AnalogyFilter): string[] {
  return matchingRows(store, ctx, filter).map((row) => readAnalogyJson(store, ctx.name, row));
}

export function countAnalogyRows(store: EmbeddedStore, ctx: ContextRow, filter: AnalogyFilter): number {
  const { where, params, baseWhere, baseParams } = filterSql(ctx.ctx, filter);
  if (filter.domain === undefined) return store.statement(`SELECT COUNT(*) FROM analogies a WHERE ${where}`).pluck().get(...params) as number;
  // As in queryAnalogyRows: each side from its own index, then the union of their keys (an OR
  // of the two sides reads every row of the context: seconds at a million).
  const side = (column: string) => `SELECT a.key FROM analogies a WHERE ${baseWhere} AND a.${column} = (SELECT dom FROM domains WHERE name = ?)`;
  return store.statement(`SELECT COUNT(*) FROM (${side('src')} UNION ${side('tgt')})`).pluck().get(...baseParams, filter.domain, ...baseParams, filter.domain) as number;
}
