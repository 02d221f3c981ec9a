import { isSoftlogicError } from '../../core/errors.js';
import type { EmbeddedStore } from './embedded-store.js';
import { ANALOGY_ID_INDEX, createQueryIndexes, dropQueryIndexes, missingQueryIndexes } from './sqlite-schema.js';

/**
 * Bulk loads. Maintaining the three analogy query indexes row by row costs about three times
 * what building them once from sorted keys costs (`npm run bench -- ingest` measures both), so
 * a large import drops them, commits its batches as usual, and builds them at its end (over the
 * whole store: see bulkLoadWorthwhile for when that is cheaper).
 * Queries stay correct meanwhile (SQLite scans instead), only slower. A load into an empty
 * context of records that carry their own ids drops the id index as well (see ANALOGY_ID_INDEX):
 * nothing looks ids up while the prepared chunks write (the import remembers its own ids), and
 * it is built before any item is applied one by one. The owner is recorded in
 * `meta`: if it dies mid-load, the next open of the store sees a dead owner and builds the
 * indexes; while it lives, other openers leave them to it.
 */
export const BULK_LOAD_MIN_ROWS = 100_000;

interface BulkLoadOwner {
  pid: number;
  owner: string;
  started_at: string;
}

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
 * a store not much larger than the import, or into a larger one where the rows of the target
 * context `ctx` (every index leads with ctx: inserts land among that context's entries) have
 * indexes larger than the page cache (see LARGE_STORE_MAX_RATIO). `interruptible`: the load may
 * be ended early by a caller that answers queries (the service), its indexes then built over the
 * whole store while queries scan, so only the first case applies.
 */
export function bulkLoadWorthwhile(store: EmbeddedStore, incomingRows: number, options: { ctx?: number; interruptible?: boolean } = {}): boolean {
  if (incomingRows < BULK_LOAD_MIN_ROWS) return false;
  const existing = store.db.prepare('SELECT count(*) FROM analogies').pluck().get() as number;
  if (existing <= 2 * incomingRows) return true;
  if (options.interruptible === true || options.ctx === undefined || existing > LARGE_STORE_MAX_RATIO * incomingRows) return false;
  const inContext = store.db.prepare('SELECT count(*) FROM analogies WHERE ctx = ?').pluck().get(options.ctx) as number;
  return inContext * INDEX_BYTES_PER_ROW > pageCacheBytes(store);
}

/** The connection's page cache (cache_size: negative in KiB, positive in pages). */
function pageCacheBytes(store: EmbeddedStore): number {
  const size = store.db.pragma('cache_size', { simple: true }) as number;
  return size < 0 ? -size * 1024 : size * (store.db.pragma('page_size', { simple: true }) as number);
}

export function beginBulkLoad(store: EmbeddedStore, owner: string, options: { idIndex: boolean }): void {
  store.transaction(() => {
    const record: BulkLoadOwner = { pid: process.pid, owner, started_at: new Date().toISOString() };
    store.db.prepare('INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)').run(META_KEY, JSON.stringify(record));
    dropQueryIndexes(store.db, options);
  });
  store.audit.record({ event: 'bulk_load_started', owner, id_index_dropped: options.idIndex });
}

/** Builds the id index if the load dropped it: before items are applied one by one from `from` (they look ids up). */
export function buildIdIndex(store: EmbeddedStore, from: number): void {
  if (!missingQueryIndexes(store.db).includes(ANALOGY_ID_INDEX.name)) return;
  const started = performance.now();
  const owner = currentOwner(store);
  store.transaction(() => createQueryIndexes(store.db, [ANALOGY_ID_INDEX]));
  store.audit.record({ event: 'bulk_load_id_index_built', owner: owner?.owner, before_item: from, seconds: Math.round(performance.now() - started) / 1000 });
}

/** Builds the query indexes and clears the owner (also the recovery after a dead owner). */
export function endBulkLoad(store: EmbeddedStore): void {
  const started = performance.now();
  let owner: BulkLoadOwner | undefined;
  store.transaction(() => {
    owner = currentOwner(store);
    createQueryIndexes(store.db);
    store.db.prepare('DELETE FROM meta WHERE key = ?').run(META_KEY);
  });
  if (owner) store.audit.record({ event: 'bulk_load_indexed', owner: owner.owner, pid: owner.pid, seconds: Math.round(performance.now() - started) / 1000 });
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
  if (!owner && missingQueryIndexes(store.db).length === 0) return;
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
