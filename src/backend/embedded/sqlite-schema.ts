import type Database from 'better-sqlite3';
import { availableParallelism } from 'node:os';
import { SoftlogicError } from '../../core/errors.js';

/**
 * knowledge.sqlite: the index over the logs. Rows hold the columns that queries filter and sort
 * on plus the (offset, length) of the record's current line in its context's log; record bodies
 * live only in the log, which keeps the store small (DESIGN: the log is the truth).
 * Row keys are `ctx << 36 | seq`, so a context's rows in key order are its log in order: a
 * stream is a sequential read of the log, and a range scan finds one context's rows.
 * Every index costs on every insert, and a random-key insert into a large B-tree costs most
 * (a cold page, dirtied and written to the WAL per batch). So index keys are small and mostly
 * ordered: ids by a 53-bit key that is time-ordered for the UUIDv7 ids the store mints (see
 * core/id-hash.ts), domains as interned integers, and quality as a bucket `qb` =
 * floor(quality * 1000): within a bucket new rows append at its end, so an import touches ~1000
 * hot pages per index instead of random ones. Queries order by (qb, quality): SQLite walks the
 * buckets in index order and sorts only inside the buckets it needs.
 */
export const QUALITY_BUCKETS = 1000;

export function qualityBucket(quality: number): number {
  return Math.floor(quality * QUALITY_BUCKETS);
}
/**
 * The index's schema: 2 added `analogies.tier` (tiered bulk loads); 3 the id index keyed by
 * (ctx, tier, idh), which code that knows 2 would only scan; 4 the id index partial on
 * `tier IS NULL` and one per tier (ANALOGY_ID_INDEX, tierIndexes), which code that knows 3 would
 * scan for tier rows. Code that knows an older version cannot use a newer index, so a newer one
 * is refused at open with STORE_FORMAT; versions 1 and earlier did not check.
 */
export const SCHEMA_VERSION = 4;
export const SEQ_BITS = 36;
export const SEQ_SPAN = 2 ** SEQ_BITS;

export function rowKey(ctx: number, seq: number): number {
  return ctx * SEQ_SPAN + seq;
}

/**
 * One context's rows in log order, as a rowid range: `FROM t NOT INDEXED WHERE ${CONTEXT_ROWS}`
 * with contextKeyRange(ctx) as its parameters. A `ctx = ?` condition would let SQLite pick an
 * index on ctx and then sort every row of the context in a temporary B-tree.
 */
export const CONTEXT_ROWS = 'key > ? AND key < ?';

export function contextKeyRange(ctx: number): [number, number] {
  return [rowKey(ctx, 0), rowKey(ctx + 1, 0)];
}

export function seqOfKey(key: number): number {
  return key % SEQ_SPAN;
}

const DDL = `
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS contexts(
  ctx INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  parent TEXT,
  description TEXT,
  created_at TEXT NOT NULL,
  applied_seq INTEGER NOT NULL DEFAULT 0,
  applied_off INTEGER NOT NULL DEFAULT 0,
  compacting INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS domains(dom INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS analogies(
  key INTEGER PRIMARY KEY,
  ctx INTEGER NOT NULL,
  idh INTEGER NOT NULL,
  id TEXT NOT NULL,
  off INTEGER NOT NULL,
  len INTEGER NOT NULL,
  version INTEGER NOT NULL,
  src INTEGER NOT NULL,
  tgt INTEGER NOT NULL,
  quality REAL NOT NULL,
  qb INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  deleted_at INTEGER,
  wf INTEGER,
  tags TEXT,
  frames TEXT,
  tier INTEGER
);
CREATE TABLE IF NOT EXISTS entities(
  key INTEGER PRIMARY KEY,
  ctx INTEGER NOT NULL,
  kind TEXT NOT NULL,
  id TEXT NOT NULL,
  off INTEGER NOT NULL,
  len INTEGER NOT NULL,
  version INTEGER NOT NULL,
  deleted_at INTEGER,
  name TEXT,
  search TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS entities_id ON entities(ctx, kind, id);
CREATE INDEX IF NOT EXISTS entities_name ON entities(ctx, kind, name);
CREATE TABLE IF NOT EXISTS purged(
  ctx INTEGER NOT NULL, kind TEXT NOT NULL, id TEXT NOT NULL, purged_at TEXT NOT NULL,
  PRIMARY KEY(ctx, kind, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS workflow_keys(wf INTEGER PRIMARY KEY, workflow_id TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS workflows(
  workflow_id TEXT PRIMARY KEY,
  workflow_type TEXT NOT NULL,
  status TEXT NOT NULL,
  context TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  items_total INTEGER NOT NULL,
  items_processed INTEGER NOT NULL DEFAULT 0,
  error_count INTEGER NOT NULL DEFAULT 0,
  metadata TEXT NOT NULL DEFAULT '{}',
  error_log TEXT NOT NULL DEFAULT '[]',
  error_log_omitted INTEGER NOT NULL DEFAULT 0,
  staged_crc TEXT,
  cancel_requested INTEGER NOT NULL DEFAULT 0,
  owner_pid INTEGER,
  seqno INTEGER
);
CREATE INDEX IF NOT EXISTS workflows_status ON workflows(status, created_at);
CREATE INDEX IF NOT EXISTS workflows_created ON workflows(created_at);
`;

export function configureConnection(db: Database.Database): void {
  db.pragma('journal_mode = WAL');
  // The log is fsync'd per batch and replayed on open, so SQLite need not fsync every commit.
  db.pragma('synchronous = NORMAL');
  db.pragma('cache_size = -262144');
  // Checkpoint every 64 MB of WAL instead of every 4 MB: a large batch dirties the same index
  // pages again and again, and a checkpoint writes each page once however often it changed.
  db.pragma('wal_autocheckpoint = 16384');
  db.pragma('temp_store = MEMORY');
  db.pragma('foreign_keys = OFF');
}

/**
 * The analogy query indexes. A bulk load (backend/embedded/bulk-load.ts) either drops them and
 * builds them once at its end (SQLite builds an index from sorted keys several times faster than
 * it maintains one row by row), or, into a store much larger than itself, writes its rows in a
 * tier of their own (below) and leaves these untouched. They cover the rows of no tier
 * (`tier IS NULL`): every row but those of the loads not merged yet.
 */
export const ANALOGY_QUERY_INDEXES: ReadonlyArray<{ name: string; sql: string }> = [
  { name: 'analogies_quality', sql: 'ON analogies(ctx, qb, quality) WHERE deleted_at IS NULL AND tier IS NULL' },
  { name: 'analogies_source', sql: 'ON analogies(ctx, src, qb, quality) WHERE deleted_at IS NULL AND tier IS NULL' },
  { name: 'analogies_target', sql: 'ON analogies(ctx, tgt, qb, quality) WHERE deleted_at IS NULL AND tier IS NULL' },
];

/**
 * A tier: the rows one bulk load into a large store wrote (column `tier`, a number listed in
 * analogy-tiers.ts), with query indexes of their own, partial on that number. Built at the load's
 * end, they sort only the load's rows (the table scan is the store's, but a scan costs far less
 * than sorting and writing the whole store's keys again), and while the load runs the store's
 * own indexes are not touched at all. Queries read every tier of the context and merge
 * (analogy-queries.ts); a rebuilding bulk load, compact and rebuild merge the tiers back.
 */
export function tierIndexes(tier: number): Array<{ name: string; sql: string }> {
  return [...ANALOGY_QUERY_INDEXES, ANALOGY_ID_INDEX].map((index) => ofTier(index, tier));
}

/** The id index of a tier (built before its load's items go one by one: they look ids up). */
export function tierIdIndex(tier: number): { name: string; sql: string } {
  return ofTier(ANALOGY_ID_INDEX, tier);
}

function ofTier(index: { name: string; sql: string }, tier: number): { name: string; sql: string } {
  if (!Number.isSafeInteger(tier) || tier < 1) throw new Error(`bad tier ${tier}`);
  return { name: `${index.name}_t${tier}`, sql: index.sql.replace('tier IS NULL', `tier = ${tier}`) };
}

/** Index names of tiers look like this (dropQueryIndexes drops every one). */
const TIER_INDEX_NAME = /^analogies_(quality|source|target|id)_t[0-9]+$/;

/**
 * Whether the store's query indexes leave tier rows out (`tier IS NULL`): stores indexed before
 * tiers existed cover every row until their indexes are built again (the next rebuilding load,
 * compact or rebuild), and until then take no tiers.
 */
export function queryIndexesTakeTiers(db: Database.Database): boolean {
  const sqls = db.prepare(`SELECT name, sql FROM sqlite_master WHERE type = 'index' AND name IN (${ANALOGY_QUERY_INDEXES.map(() => '?').join(',')})`).all(...ANALOGY_QUERY_INDEXES.map((i) => i.name)) as Array<{ name: string; sql: string }>;
  return sqls.length === ANALOGY_QUERY_INDEXES.length && sqls.every((row) => row.sql.includes('tier IS NULL'));
}

/**
 * The id index (created by createSchema). A bulk load into an empty context of records that carry
 * their own ids drops it too: their keys are hashes, so each insert lands on a random page (~1.9 us
 * a row more than a minted UUIDv7's, which appends), while a build from sorted keys is one pass.
 * Partial on `tier IS NULL`, and each tier has its own (tierIndexes), built at its load's end as
 * its query indexes are: a tiered load's ids (random hashes) inserted among even its own tier's
 * entries dirtied most of them again in every chunk's commit (1M into 5M: commits 0.85 s a chunk
 * against 0.31 s with no id index, docs/performance.md). So a lookup by id probes the rows of no
 * tier and each tier of the context, with literal conditions (analogy-tiers.ts, TieredById).
 */
export const ANALOGY_ID_INDEX = { name: 'analogies_id', sql: 'ON analogies(ctx, idh) WHERE tier IS NULL' } as const;
const BUILT_BY_BULK_LOADS = [...ANALOGY_QUERY_INDEXES, ANALOGY_ID_INDEX];

/**
 * Whether the id index leaves tier rows out (schema 4): one built before covers every row, which
 * lookups by tier still use, but a tiered load then inserts its ids into it as well.
 */
export function idIndexTakesTiers(db: Database.Database): boolean {
  const sql = db.prepare(`SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?`).pluck().get(ANALOGY_ID_INDEX.name) as string | undefined;
  return sql === undefined || sql.includes('tier IS NULL');
}

/**
 * Builds the id index again in its current form if it predates schema 4 (in the caller's
 * transaction; a cost of the store's size, so done where the store's indexes are built anyway:
 * compact's merge, rebuild).
 */
export function upgradeIdIndex(db: Database.Database): void {
  if (idIndexTakesTiers(db)) return;
  db.exec(`DROP INDEX ${ANALOGY_ID_INDEX.name}`);
  db.exec(`CREATE INDEX ${ANALOGY_ID_INDEX.name} ${ANALOGY_ID_INDEX.sql}`);
}

/** Every index a bulk load may leave to be built: the store's, and those of the listed tiers. */
export function expectedIndexes(tiers: readonly number[]): Array<{ name: string; sql: string }> {
  return [...BUILT_BY_BULK_LOADS, ...tiers.flatMap(tierIndexes)];
}

/**
 * Builds the given indexes that are missing (by default the store's: query indexes and the id
 * index, if a bulk load dropped it). SQLite sorts the keys of a new index in runs of about its cache
 * size, written to temporary files, and merges them; with a small cache the runs are sorted by
 * `threads` helper threads. Three indexes over 1M rows (scratch measurements, same machine):
 * 4.0 s with a 256 MB cache and temp_store = MEMORY (the connection's settings), 1.6 s with an
 * 8 MB cache, temporary files and 2 threads. The connection's settings are restored after.
 */
export function createQueryIndexes(db: Database.Database, indexes: ReadonlyArray<{ name: string; sql: string }> = BUILT_BY_BULK_LOADS): void {
  withSorterSettings(db, () => {
    for (const index of indexes) db.exec(`CREATE INDEX IF NOT EXISTS ${index.name} ${index.sql}`);
  });
}

/**
 * Runs `build` with createQueryIndexes' sorter settings. SQLite refuses to change temp_store
 * inside a transaction that has used temporary storage, so a caller whose transaction does more
 * than build indexes sets them around the transaction.
 */
export function withSorterSettings<T>(db: Database.Database, build: () => T): T {
  const cache = db.pragma('cache_size', { simple: true }) as number;
  const tempStore = db.pragma('temp_store', { simple: true }) as number;
  db.pragma('cache_size = -8192');
  db.pragma('temp_store = FILE');
  db.pragma(`threads = ${Math.min(4, availableParallelism())}`);
  try {
    return build();
  } finally {
    db.pragma(`cache_size = ${cache}`);
    db.pragma(`temp_store = ${tempStore}`);
    db.pragma('threads = 0');
  }
}

/** Drops the query indexes, every tier's too (and the id index with `idIndex`). */
export function dropQueryIndexes(db: Database.Database, options: { idIndex?: boolean } = {}): void {
  const tierNames = (db.prepare(`SELECT name FROM sqlite_master WHERE type = 'index'`).pluck().all() as string[]).filter((name) => TIER_INDEX_NAME.test(name));
  for (const name of [...(options.idIndex ? BUILT_BY_BULK_LOADS : ANALOGY_QUERY_INDEXES).map((i) => i.name), ...tierNames]) db.exec(`DROP INDEX IF EXISTS ${name}`);
}

/** The indexes of `expected` (default: the store's) that do not exist. */
export function missingQueryIndexes(db: Database.Database, expected: ReadonlyArray<{ name: string; sql: string }> = BUILT_BY_BULK_LOADS): Array<{ name: string; sql: string }> {
  const present = new Set(db.prepare(`SELECT name FROM sqlite_master WHERE type = 'index'`).pluck().all() as string[]);
  return expected.filter((index) => !present.has(index.name));
}

/** Adds the tier column to an analogies table made before tiers existed (no rewrite: NULL for old rows). */
function addTierColumn(db: Database.Database): void {
  const columns = db.prepare(`SELECT name FROM pragma_table_info('analogies')`).pluck().all() as string[];
  if (!columns.includes('tier')) db.exec('ALTER TABLE analogies ADD COLUMN tier INTEGER');
}

/**
 * Tables and the indexes writes need; the query indexes are created by the caller. `idIndex:
 * false` leaves the id index to ensureQueryIndexes (an open), which builds it unless a live bulk
 * load dropped it.
 */
export function createSchema(db: Database.Database, options: { idIndex?: boolean } = {}): void {
  db.exec(DDL);
  const stored = Number(db.prepare(`SELECT value FROM meta WHERE key = 'schema_version'`).pluck().get() ?? 0);
  if (stored > SCHEMA_VERSION) throw new SoftlogicError('STORE_FORMAT', `the store's index has schema ${stored}; this softlogic knows up to ${SCHEMA_VERSION}`, { version: stored });
  addTierColumn(db);
  if (options.idIndex !== false) db.exec(`CREATE INDEX IF NOT EXISTS ${ANALOGY_ID_INDEX.name} ${ANALOGY_ID_INDEX.sql}`);
  db.prepare('INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run('schema_version', String(SCHEMA_VERSION));
}

/**
 * The store generation: bumped by every operation that moves rows to other log offsets or
 * replaces the index (compact, rebuild, restore). Every process reads it at the start of a read
 * or write and, when it changed, drops what it cached about the logs (open files, block maps).
 */
export function readGeneration(db: Database.Database): number {
  const value = db.prepare(`SELECT value FROM meta WHERE key = 'generation'`).pluck().get() as string | undefined;
  return value === undefined ? 0 : Number(value);
}

export function bumpGeneration(db: Database.Database): number {
  const next = readGeneration(db) + 1;
  db.prepare(`INSERT INTO meta(key, value) VALUES ('generation', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`).run(String(next));
  return next;
}
