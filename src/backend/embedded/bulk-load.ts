import { isSoftlogicError } from '../../core/errors.js';
import type { EmbeddedStore } from './embedded-store.js';
import { ANALOGY_ID_INDEX, createQueryIndexes, dropQueryIndexes, missingQueryIndexes } from './sqlite-schema.js';

/**
 * Bulk loads. Maintaining the three analogy query indexes row by row costs about three times
 * what building them once from sorted keys costs (`npm run bench -- ingest` measures both), so
 * a large import drops them, commits its batches as usual, and builds them at its end.
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

/** Worth it when the rebuild (existing + incoming rows) costs less than incremental inserts. */
export function bulkLoadWorthwhile(store: EmbeddedStore, incomingRows: number): boolean {
  if (incomingRows < BULK_LOAD_MIN_ROWS) return false;
  const existing = store.db.prepare('SELECT count(*) FROM analogies').pluck().get() as number;
  return existing <= 2 * incomingRows;
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
