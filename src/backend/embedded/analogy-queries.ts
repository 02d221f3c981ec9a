import type { Analogy } from '../../core/records.js';
import type { AnalogyFilter } from '../../core/schemas.js';
import type { ContextRow, EmbeddedStore } from './embedded-store.js';
import { filterSql } from './analogy-filter-sql.js';
import { tiersOf } from './analogy-tiers.js';
import { readAnalogy, readAnalogyJson, type LocatedRow } from './record-lines.js';

export const DEFAULT_QUERY_LIMIT = 100;

// One direction throughout, so the index order is the result order (no sort step).
const ORDER = 'ORDER BY qb DESC, quality DESC, key DESC';
const RANK = 'a.key AS key, a.qb AS qb, a.quality AS quality';

/**
 * The parts of the table a query reads, each with its own query indexes: the rows of no tier
 * and those of each tier of the context (analogy-tiers.ts). Literal conditions: SQLite uses a
 * partial index only for a query whose WHERE names its condition as written.
 */
function tierConditions(store: EmbeddedStore, ctx: number): string[] {
  return ['a.tier IS NULL', ...tiersOf(store.db, ctx).map((tier) => `a.tier = ${tier}`)];
}

/**
 * Reads the tier list and runs the query on one snapshot: a tiered load's first rows commit
 * after its tier is listed, so no reader sees rows of a tier it did not read.
 */
function inSnapshot<T>(store: EmbeddedStore, read: () => T): T {
  return store.db.inTransaction ? read() : store.db.transaction(read).deferred();
}

/**
 * Matching analogies, best quality first, served from the (ctx, qb) and (ctx, domain, qb)
 * indexes. With a domain, the source-side and target-side searches each take their own index
 * and the best of both are merged, rather than one OR that no index can order. With tiers, each
 * tier's search is ranked on its own indexes the same way and the best of all are merged.
 */
function matchingRows(store: EmbeddedStore, ctx: ContextRow, filter: AnalogyFilter): Array<LocatedRow & { id: string }> {
  const { where, params, baseWhere, baseParams } = filterSql(ctx.ctx, filter);
  const limit = filter.limit ?? DEFAULT_QUERY_LIMIT;
  const offset = filter.offset ?? 0;
  return inSnapshot(store, () => {
    const tiers = tierConditions(store, ctx.ctx);
    // Ranking reads (key, qb, quality) only, which the (ctx[, domain], qb, quality) indexes cover
    // for plain quality/domain queries; the rows themselves are fetched for the winners alone.
    // Each part's first offset+limit hold the merged page (a page skips only index entries, not rows).
    const part = (condition: string) => `SELECT * FROM (SELECT ${RANK} FROM analogies a WHERE ${condition} ${ORDER} LIMIT ?)`;
    const side = (column: string, tier: string) => part(`${baseWhere} AND ${tier} AND a.${column} = (SELECT dom FROM domains WHERE name = ?)`);
    let ranked: { sql: string; args: unknown[] };
    if (filter.domain === undefined) {
      ranked =
        tiers.length === 1
          ? { sql: `SELECT ${RANK} FROM analogies a WHERE ${where} AND ${tiers[0]} ${ORDER} LIMIT ? OFFSET ?`, args: [...params, limit, offset] }
          : { sql: `${tiers.map((tier) => part(`${where} AND ${tier}`)).join(' UNION ALL ')} ${ORDER} LIMIT ? OFFSET ?`, args: [...tiers.flatMap(() => [...params, offset + limit]), limit, offset] };
    } else {
      // UNION: a row whose source and target are both the domain is found by both sides.
      ranked = {
        sql: `${tiers.map((tier) => `${side('src', tier)} UNION ${side('tgt', tier)}`).join(' UNION ')} ${ORDER} LIMIT ? OFFSET ?`,
        args: [...tiers.flatMap(() => [...baseParams, filter.domain, offset + limit, ...baseParams, filter.domain, offset + limit]), limit, offset],
      };
    }
    return store
      .statement(`SELECT r.key AS key, a.id AS id, a.off AS off, a.len AS len FROM (${ranked.sql}) r JOIN analogies a ON a.key = r.key ${ORDER.replace(/(qb|quality|key)/g, 'r.$1')}`)
      .all(...ranked.args) as Array<LocatedRow & { id: string }>;
  });
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
  return inSnapshot(store, () => {
    const tiers = tierConditions(store, ctx.ctx);
    // Tiers hold disjoint rows: their counts add up.
    if (filter.domain === undefined) {
      return store.statement(`SELECT ${tiers.map((tier) => `(SELECT COUNT(*) FROM analogies a WHERE ${where} AND ${tier})`).join(' + ')}`).pluck().get(...tiers.flatMap(() => params)) as number;
    }
    // As in queryAnalogyRows: each side from its own index, then the union of their keys (an OR
    // of the two sides reads every row of the context: seconds at a million).
    const side = (column: string, tier: string) => `SELECT a.key FROM analogies a WHERE ${baseWhere} AND ${tier} AND a.${column} = (SELECT dom FROM domains WHERE name = ?)`;
    return store
      .statement(`SELECT ${tiers.map((tier) => `(SELECT COUNT(*) FROM (${side('src', tier)} UNION ${side('tgt', tier)}))`).join(' + ')}`)
      .pluck()
      .get(...tiers.flatMap(() => [...baseParams, filter.domain, ...baseParams, filter.domain])) as number;
  });
}
