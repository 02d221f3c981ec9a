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
 * `SELECT ${what} FROM analogies WHERE <tier> AND ${where}` for the rows of no tier and for each
 * of `tiers`, joined by UNION ALL (in that order): the tier conditions are literal, so each part
 * can use the partial indexes of its tier (the id index: ctx, idh).
 */
export function perTierSql(what: string, tiers: readonly number[], where: string): string {
  const parts = [`SELECT ${what} FROM analogies WHERE tier IS NULL AND ${where}`];
  for (const tier of tiers) {
    if (!Number.isSafeInteger(tier) || tier < 1) throw new Error(`bad tier ${tier}`);
    parts.push(`SELECT ${what} FROM analogies WHERE tier = ${tier} AND ${where}`);
  }
  return parts.join(' UNION ALL ');
}

/** The context's rows, counted on the partial id indexes of no tier and of each of `tiers`. */
export function contextRowCount(db: Database.Database, ctx: number, tiers: readonly number[] = tiersOf(db, ctx)): number {
  return db.prepare(`SELECT sum(n) FROM (${perTierSql('count(*) AS n', tiers, 'ctx = @ctx')})`).pluck().get({ ctx }) as number;
}

/** Statements kept per tier list before the cache is emptied (tier numbers only grow until a merge). */
const TIER_LISTS_CACHED = 16;

/**
 * The analogies row of an id (its hash `idh`) in context `ctx`: a probe of the id index for the
 * rows of no tier, then one per listed tier of the context (at most MAX_TIERS_PER_CONTEXT), by a
 * statement prepared per tier list. The list and the rows are read in one snapshot (the caller's
 * transaction, or one of its own). A context has at most one row per id, whatever its tier.
 */
export class TieredById<Row> {
  private readonly statements = new Map<string, Database.Statement>();
  private readonly inSnapshot: (ctx: number, idh: number, id: string) => Row | undefined;

  constructor(
    private readonly db: Database.Database,
    private readonly columns: string,
  ) {
    this.inSnapshot = db.transaction((ctx: number, idh: number, id: string) => this.read(ctx, idh, id));
  }

  get(ctx: number, idh: number, id: string): Row | undefined {
    return this.db.inTransaction ? this.read(ctx, idh, id) : this.inSnapshot(ctx, idh, id);
  }

  private read(ctx: number, idh: number, id: string): Row | undefined {
    const tiers = tiersOf(this.db, ctx);
    const key = tiers.join(',');
    let stmt = this.statements.get(key);
    if (!stmt) {
      if (this.statements.size >= TIER_LISTS_CACHED) this.statements.clear();
      stmt = this.db.prepare(perTierSql(this.columns, tiers, 'ctx = @ctx AND idh = @idh AND id = @id'));
      this.statements.set(key, stmt);
    }
    return stmt.get({ ctx, idh, id }) as Row | undefined;
  }
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
