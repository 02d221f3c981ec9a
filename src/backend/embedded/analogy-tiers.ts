import type Database from 'better-sqlite3';

/**
 * The tiers of the analogies table (sqlite-schema.ts, tierIndexes): each the rows one bulk load
 * into a large store wrote, in one context, listed in `meta` under TIERS_KEY. The list is the
 * truth queries read: every row whose `tier` is not NULL has its tier listed (a tier is listed,
 * in its own commit, before any of its rows is written, and unlisted only in the transaction
 * that sets its rows' tier back to NULL), so a query that reads every listed tier of a context
 * reads every row, whether the tier's indexes are built yet or not.
 */
export interface Tier {
  tier: number;
  ctx: number;
}

const TIERS_KEY = 'analogy_tiers';

/**
 * Tiers per context before a load builds the store's indexes again (merging them) instead of
 * adding one: each tier adds a ranked subquery per search side to every query.
 */
export const MAX_TIERS_PER_CONTEXT = 3;

/**
 * The analogies row of an id (`@ctx`, `@idh` its hash, `@id`): a probe of the id index (ctx,
 * tier, idh) for the rows of no tier, then one per tier of the context listed (a context has at
 * most MAX_TIERS_PER_CONTEXT), in one statement, so the list and the rows are read in one
 * snapshot. A context has at most one row per id, whatever its tier.
 */
export function byIdSql(columns: string): string {
  const where = 'ctx = @ctx AND idh = @idh AND id = @id';
  const listed = `SELECT t.value ->> 'tier' FROM meta, json_each(meta.value) AS t WHERE meta.key = '${TIERS_KEY}' AND t.value ->> 'ctx' = @ctx`;
  return `SELECT ${columns} FROM analogies WHERE tier IS NULL AND ${where} UNION ALL SELECT ${columns} FROM analogies WHERE tier IN (${listed}) AND ${where}`;
}

/** The list's statement per connection: every query reads the list (preparing costs more than running). */
const listStatements = new WeakMap<Database.Database, Database.Statement>();

export function listTiers(db: Database.Database): Tier[] {
  let stmt = listStatements.get(db);
  if (!stmt) listStatements.set(db, (stmt = db.prepare('SELECT value FROM meta WHERE key = ?').pluck()));
  const value = stmt.get(TIERS_KEY) as string | undefined;
  return value === undefined ? [] : (JSON.parse(value) as Tier[]);
}

export function tiersOf(db: Database.Database, ctx: number): number[] {
  return listTiers(db)
    .filter((t) => t.ctx === ctx)
    .map((t) => t.tier);
}

/** Lists a new tier for the context (call in its own transaction, committed before the tier's rows). */
export function addTier(db: Database.Database, ctx: number): number {
  const tiers = listTiers(db);
  const tier = tiers.reduce((max, t) => Math.max(max, t.tier), 0) + 1;
  db.prepare('INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)').run(TIERS_KEY, JSON.stringify([...tiers, { tier, ctx }]));
  return tier;
}

/**
 * Every row back in no tier, and the list emptied: in the caller's transaction, with the query
 * indexes dropped (no index has `tier` in its key, so this rewrites the tier rows' table pages
 * only, in one scan).
 */
export function mergeTiers(db: Database.Database): void {
  if (listTiers(db).length === 0) return;
  db.exec('UPDATE analogies SET tier = NULL WHERE tier IS NOT NULL');
  db.prepare('DELETE FROM meta WHERE key = ?').run(TIERS_KEY);
}

/** Forgets the list without touching rows: for a table whose rows were all written again (rebuild). */
export function forgetTiers(db: Database.Database): void {
  db.prepare('DELETE FROM meta WHERE key = ?').run(TIERS_KEY);
}
