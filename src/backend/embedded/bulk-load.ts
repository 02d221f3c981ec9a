import { bulkLoadMinRows } from '../../core/bulk-load-threshold.js';
import { isSoftlogicError } from '../../core/errors.js';
import type { EmbeddedStore } from './embedded-store.js';
import { ANALOGY_ID_INDEX, ANALOGY_QUERY_INDEXES, createQueryIndexes, dropQueryIndexes, expectedIndexes, idIndexTakesTiers, missingQueryIndexes, queryIndexesTakeTiers, tierIdIndex, withSorterSettings } from './sqlite-schema.js';
import { addTier, contextRowCount, listTiers, MAX_TIERS_PER_CONTEXT, mergeTiers, tiersOf } from './analogy-tiers.js';

/**
 * Bulk loads. Maintaining the three analogy query indexes row by row costs about three times
 * what building them once from sorted keys costs (`npm run bench -- ingest` measures both), so
 * a large import either drops them, commits its batches as usual, and builds them at its end
 * over the whole store (into a store not much larger than the import), or, into a much larger
 * store, writes its rows in a tier of their own whose indexes it builds from its rows alone at
 * its end (analogy-tiers.ts; see bulkLoadPlan).
 * Queries stay correct meanwhile (SQLite scans instead), only slower. A load into an empty
 * context of records that carry their own ids drops the id index as well (see ANALOGY_ID_INDEX):
 * nothing looks ids up while the prepared chunks write (the import remembers its own ids), and
 * it is built before any item is applied one by one. The owner is recorded in
 * `meta`: if it dies mid-load, the next open of the store sees a dead owner and builds the
 * indexes; while it lives, other openers leave them to it. Below bulkLoadMinRows() incoming rows
 * (core/bulk-load-threshold.ts) an import maintains the indexes row by row.
 */

interface BulkLoadOwner {
  pid: number;
  owner: string;
  started_at: string;
  /** a tiered load's tier (its rows' `tier`); absent: the load dropped the store's indexes */
  tier?: number;
}

/**
 * How a bulk load keeps the query indexes: `rebuild` drops the store's and builds them over the
 * whole store at its end (tiers merged back); `tier` writes the load's rows in a new tier whose
 * indexes are built from them alone at its end (analogy-tiers.ts), the store's left untouched.
 */
export type BulkLoadPlan = 'rebuild' | 'tier';

const META_KEY = 'bulk_load';

/**
 * Bytes the four analogy indexes take per row (measured: 97 MB over 1M rows built from sorted
 * keys; more once random inserts have split their pages).
 */
const INDEX_BYTES_PER_ROW = 100;

/**
 * Existing rows per incoming row up to which a load into a store whose indexes outgrow the page
 * cache drops and rebuilds them. Maintaining them then costs about a cache miss per index per
 * row (random keys) and a commit writing most of their pages per chunk, while a rebuild costs
 * in proportion to the store: UUIDv4 records into a 5M store took 97 s rebuilt against 222 s
 * maintained for 1M (ratio 5), 98 s against 193 s for 500,000 (ratio 10; the 193 s beside a
 * test run), load 9-14 (docs/performance.md).
 */
const LARGE_STORE_MAX_RATIO = 10;

/**
 * Worth it when the rebuild (existing + incoming rows) costs less than incremental inserts: into
 * a store not much larger than the import (`rebuild`), or into a larger one where the rows of the
 * target context `ctx` (every index leads with ctx: inserts land among that context's entries)
 * have indexes larger than the page cache (see LARGE_STORE_MAX_RATIO). There the load goes into a
 * tier of its own (`tier`: its indexes built from its rows alone, cost in proportion to the
 * import), unless the context has MAX_TIERS_PER_CONTEXT tiers already or the store's indexes
 * predate tiers (queryIndexesTakeTiers): then `rebuild`, which merges the tiers.
 * `interruptible`: the load may be ended early by a caller that answers queries (the service),
 * its indexes then built over the whole store while queries scan, so only the first case applies.
 */
export function bulkLoadPlan(store: EmbeddedStore, incomingRows: number, options: { ctx?: number; interruptible?: boolean } = {}): BulkLoadPlan | null {
  // One at a time: another's indexes or tier are not this one's to drop or merge.
  if (incomingRows < bulkLoadMinRows() || bulkLoadRunning(store)) return null;
  const existing = store.db.prepare('SELECT count(*) FROM analogies').pluck().get() as number;
  if (existing <= 2 * incomingRows) return 'rebuild';
  if (options.interruptible === true || options.ctx === undefined || existing > LARGE_STORE_MAX_RATIO * incomingRows) return null;
  const inContext = contextRowCount(store.db, options.ctx);
  if (inContext * INDEX_BYTES_PER_ROW <= pageCacheBytes(store)) return null;
  return tiersOf(store.db, options.ctx).length < MAX_TIERS_PER_CONTEXT && queryIndexesTakeTiers(store.db) ? 'tier' : 'rebuild';
}

/** The connection's page cache (cache_size: negative in KiB, positive in pages). */
function pageCacheBytes(store: EmbeddedStore): number {
  const size = store.db.pragma('cache_size', { simple: true }) as number;
  return size < 0 ? -size * 1024 : size * (store.db.pragma('page_size', { simple: true }) as number);
}

/**
 * `rebuild`: drops the query indexes (and the id index with `idIndex`) and merges the tiers, so
 * the load's rows and the store's are indexed together at its end. `tier` (into context `ctx`):
 * lists a new tier, committed before any of the load's rows, and has the store's analogy index
 * write the load's rows of that context into it (AnalogyIndex.loadTier).
 */
export function beginBulkLoad(store: EmbeddedStore, owner: string, options: { idIndex: boolean; plan?: BulkLoadPlan; ctx?: number }): void {
  const plan = options.plan ?? 'rebuild';
  if (plan === 'tier' && options.ctx === undefined) throw new Error('a tiered bulk load needs its context');
  let tier: number | undefined;
  store.transaction(() => {
    const record: BulkLoadOwner = { pid: process.pid, owner, started_at: new Date().toISOString() };
    if (plan === 'tier') {
      tier = addTier(store.db, options.ctx as number);
      record.tier = tier;
    } else {
      dropQueryIndexes(store.db, options);
      mergeTiers(store.db);
    }
    store.db.prepare('INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)').run(META_KEY, JSON.stringify(record));
  });
  if (tier !== undefined) store.analogies.setLoadTier(options.ctx as number, tier);
  store.audit.record({ event: 'bulk_load_started', owner, id_index_dropped: plan === 'rebuild' && options.idIndex, ...(tier !== undefined ? { tier } : {}) });
}

/**
 * Builds the id index if the load dropped it, or its tier's (built at a tiered load's end
 * otherwise): before items are applied one by one from `from` (they look ids up).
 */
export function buildIdIndex(store: EmbeddedStore, from: number): void {
  const owner = currentOwner(store);
  const missing = missingQueryIndexes(store.db, [ANALOGY_ID_INDEX, ...(owner?.tier !== undefined ? [tierIdIndex(owner.tier)] : [])]);
  if (missing.length === 0) return;
  const started = performance.now();
  store.transaction(() => createQueryIndexes(store.db, missing));
  store.audit.record({ event: 'bulk_load_id_index_built', owner: owner?.owner, before_item: from, seconds: Math.round(performance.now() - started) / 1000 });
}

/**
 * Builds the missing indexes, those of every listed tier included, and clears the owner (also
 * the recovery after a dead owner). A tiered load's rows written after this go to no tier.
 */
export function endBulkLoad(store: EmbeddedStore): void {
  const started = performance.now();
  let owner: BulkLoadOwner | undefined;
  store.analogies.setLoadTier(null);
  store.transaction(() => {
    owner = currentOwner(store);
    createQueryIndexes(store.db, missingQueryIndexes(store.db, expectedIndexes(listTiers(store.db).map((t) => t.tier))));
    store.db.prepare('DELETE FROM meta WHERE key = ?').run(META_KEY);
  });
  if (owner) store.audit.record({ event: 'bulk_load_indexed', owner: owner.owner, pid: owner.pid, ...(owner.tier !== undefined ? { tier: owner.tier } : {}), seconds: Math.round(performance.now() - started) / 1000 });
}

function currentOwner(store: EmbeddedStore): BulkLoadOwner | undefined {
  const value = store.db.prepare('SELECT value FROM meta WHERE key = ?').pluck().get(META_KEY) as string | undefined;
  return value === undefined ? undefined : (JSON.parse(value) as BulkLoadOwner);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * On open: the query indexes exist, or a live bulk load owns their absence. If another writer
 * holds the lock meanwhile, the build is left to the next open (queries stay correct).
 */
export function ensureQueryIndexes(store: EmbeddedStore): void {
  const owner = currentOwner(store);
  if (owner && alive(owner.pid)) return;
  if (!owner && missingQueryIndexes(store.db, expectedIndexes(listTiers(store.db).map((t) => t.tier))).length === 0) return;
  try {
    endBulkLoad(store);
  } catch (err) {
    if (!isSoftlogicError(err) || err.code !== 'STORE_BUSY') throw err;
  }
}

/** Whether a live bulk load is running (verify does not report its missing indexes). */
export function bulkLoadRunning(store: EmbeddedStore): boolean {
  const owner = currentOwner(store);
  return owner !== undefined && alive(owner.pid);
}

/**
 * Merges every tier back (analogy-tiers.ts) and builds the store's query indexes over all rows,
 * also when they predate tiers: cost in proportion to the store, so done by compact (which
 * rewrites a whole log anyway), not by loads. Not while a bulk load runs (its tier is its own).
 */
export function mergeAnalogyTiers(store: EmbeddedStore): { merged: number; seconds: number } | null {
  const tiers = listTiers(store.db);
  if ((tiers.length === 0 && queryIndexesTakeTiers(store.db) && idIndexTakesTiers(store.db)) || bulkLoadRunning(store)) return null;
  const started = performance.now();
  withSorterSettings(store.db, () =>
    store.transaction(() => {
      // The id index too: setting `tier` back would move each tier row's entry in it (a random
      // insert among the store's), and one built before schema 3 takes its current form.
      dropQueryIndexes(store.db, { idIndex: true });
      mergeTiers(store.db);
      for (const index of [...ANALOGY_QUERY_INDEXES, ANALOGY_ID_INDEX]) store.db.exec(`CREATE INDEX ${index.name} ${index.sql}`);
    }),
  );
  const seconds = Math.round(performance.now() - started) / 1000;
  store.audit.record({ event: 'analogy_tiers_merged', tiers: tiers.map((t) => t.tier), seconds });
  return { merged: tiers.length, seconds };
}
