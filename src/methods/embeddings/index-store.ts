import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createVectorIndex, EXACT_THRESHOLD, ExactVectorIndex, loadVectorIndex, hnswMetaPath, type IndexHit, type VectorIndex } from '../../embeddings/index.js';
import { backgroundIndexBuilds, buildFinished, discardBuild, finishedBuild, startBackgroundBuild } from './index-background.js';
import type { EmbeddedStore } from '../../backend/embedded/embedded-store.js';
import { writeFileAtomic } from '../../backend/embedded/fs-durable.js';
import { effectiveSettings } from './settings.js';
import { changedConcepts, contextVectors, syncVectorCache } from './vector-cache.js';
import { blobToVector } from './codec.js';

/**
 * The similarity index of a context's concepts, persisted as contexts/<c>/vectors.index (exact
 * below EXACT_THRESHOLD concepts, HNSW above) with a state file naming the newest concept change
 * it holds. It is brought up to date incrementally (adds and removes since that change) after
 * every single concept write, at the end of a batch import and before every search, under the
 * store's write lock so two processes never interleave; an HNSW graph is only ever built in the
 * background or by `softlogic rebuild` (see syncIndex).
 */
export interface IndexState {
  /** the context's number in the index database: keys are only comparable within it */
  ctx: number;
  last_key: number;
  kind: 'exact' | 'hnsw';
  dimension: number;
  size: number;
}

export function indexPath(store: EmbeddedStore, context: string): string {
  return join(store.layout.contextDir(context), 'vectors.index');
}

function statePath(store: EmbeddedStore, context: string): string {
  return `${indexPath(store, context)}.state.json`;
}

function readState(store: EmbeddedStore, context: string): IndexState | undefined {
  const p = statePath(store, context);
  if (!existsSync(p) || !existsSync(indexPath(store, context))) return undefined;
  try {
    return JSON.parse(readFileSync(p, 'utf8')) as IndexState;
  } catch {
    return undefined;
  }
}

function removeIndexFiles(store: EmbeddedStore, context: string): void {
  const p = indexPath(store, context);
  for (const f of [statePath(store, context), p, hnswMetaPath(p)]) rmSync(f, { force: true });
}

/**
 * The context's vectors as a new index: exact when `approximate` is false (what a search may
 * build without waiting), else the kind its size calls for.
 */
function buildFull(store: EmbeddedStore, context: string, dimension: number, approximate: boolean): VectorIndex {
  const vectors = contextVectors(store, context).filter((v) => v.vector.length === dimension);
  const index = createVectorIndex(dimension, { expectedSize: vectors.length, capacity: Math.max(16, vectors.length), threshold: approximate ? EXACT_THRESHOLD : Infinity });
  const matrix = new Float32Array(vectors.length * dimension);
  vectors.forEach((v, i) => matrix.set(v.vector, i * dimension));
  index.addAll(
    vectors.map((v) => v.id),
    matrix,
  );
  return index;
}

const loaded = new Map<string, { index: VectorIndex; state: IndexState }>();

/** More changes than this since the saved index are folded in by a new build rather than one by one. */
const INCREMENTAL_LIMIT = 20_000;

export interface SyncIndexOptions {
  /** Build an HNSW graph now if the context calls for one (rebuild); searches never do. */
  buildApproximate?: boolean;
}

/** A background build that has finished for this index, loaded, with the key its vectors reach. */
function adoptBuild(key: string, dimension: number): { index: VectorIndex; builtAt: number } | undefined {
  const done = finishedBuild(key);
  if (!done) return undefined;
  try {
    const index = loadVectorIndex(done.path);
    return index.dimension === dimension ? { index, builtAt: done.builtAt } : undefined;
  } catch {
    return undefined;
  } finally {
    discardBuild(key);
  }
}

/**
 * The context's index, up to date with its concepts; undefined when it has no embedding
 * settings. No search waits on an HNSW build: a context that outgrows exact search keeps an exact
 * index (a linear scan: ~10 ms per 100,000 vectors of 100-d) until a background build (in a
 * long-lived process, index-background.ts) or `rebuild` provides the graph; changes since are
 * then folded in one by one (HNSW supports add and remove). The index is loaded, updated or built
 * without holding the store's write lock; only saving it takes the lock, and a save never
 * replaces an index that already holds newer changes. Updates are idempotent (an add replaces,
 * a remove of an absent id does nothing), so an index newer than its state file still converges.
 */
export function syncIndex(store: EmbeddedStore, context: string, options: SyncIndexOptions = {}): VectorIndex | undefined {
  const settings = effectiveSettings(store, context);
  if (!settings) return undefined;
  const ctx = store.requireContext(context);
  const newest = syncVectorCache(store, context);
  const cacheKey = `${store.layout.root}\0${context}`;
  const memo = loaded.get(cacheKey);
  const saved = readState(store, context);
  // A state from another numbering (a restored or rebuilt index) or ahead of the log is not trusted.
  const onDisk = saved && saved.ctx === ctx.ctx && saved.last_key <= newest ? saved : undefined;
  const adopted = adoptBuild(cacheKey, settings.dimension);
  const upgrade = (index: VectorIndex, at: number): VectorIndex => {
    if (index instanceof ExactVectorIndex && index.size >= EXACT_THRESHOLD && backgroundIndexBuilds()) {
      const { ids, matrix } = index.contents();
      startBackgroundBuild(cacheKey, ids, matrix, settings.dimension, at, () => {
        try {
          syncIndex(store, context);
        } catch {
          // The store closed meanwhile (or the context went away): the graph is simply not adopted.
          discardBuild(cacheKey);
        }
      });
    }
    return index;
  };
  if (!adopted && memo && onDisk && memo.state.last_key === onDisk.last_key && onDisk.last_key === newest && !(options.buildApproximate && memo.index.kind === 'exact' && memo.index.size >= EXACT_THRESHOLD)) {
    return upgrade(memo.index, newest);
  }
  let index: VectorIndex | undefined;
  let base = -1;
  if (adopted && (!onDisk || adopted.builtAt >= onDisk.last_key || onDisk.kind === 'exact')) {
    index = adopted.index;
    base = adopted.builtAt;
  } else if (onDisk && onDisk.dimension === settings.dimension) {
    try {
      index = memo && memo.state.last_key === onDisk.last_key ? memo.index : loadVectorIndex(indexPath(store, context));
      base = onDisk.last_key;
    } catch {
      index = undefined;
    }
  }
  const changes = index && base < newest ? changedConcepts(store, ctx.ctx, base).filter((r) => r.key <= newest) : [];
  const wantsGraph = (size: number): boolean => size >= EXACT_THRESHOLD;
  if (!index || changes.length > INCREMENTAL_LIMIT || (options.buildApproximate && wantsGraph(index.size) && index.kind === 'exact')) {
    index = buildFull(store, context, settings.dimension, options.buildApproximate === true);
  } else if (changes.length > 0) {
    const get = store.db.prepare('SELECT vec FROM concept_vectors WHERE ctx = ? AND id = ?').pluck();
    for (const row of changes) {
      const blob = get.get(ctx.ctx, row.id) as Buffer | undefined;
      if (row.deleted_at !== null || !blob) index.remove(row.id);
      else index.add(row.id, blobToVector(blob));
    }
    // Shrunk far below the threshold: an exact index again (a graph is only worth it when large).
    if (index.kind === 'hnsw' && index.size < EXACT_THRESHOLD / 2) index = buildFull(store, context, settings.dimension, false);
  } else if (!adopted && onDisk) {
    loaded.set(cacheKey, { index, state: onDisk });
    return upgrade(index, newest);
  }
  const built = index;
  const state: IndexState = { ctx: ctx.ctx, last_key: newest, kind: built.kind, dimension: settings.dimension, size: built.size };
  store.transaction(() => {
    const current = readState(store, context);
    // An index of the same kind already saved at this point (another process) is as good; a graph beats an exact index.
    if (current && current.ctx === ctx.ctx && current.last_key >= newest && current.dimension === settings.dimension && (current.kind === built.kind || built.kind === 'exact')) return;
    if (!current || current.kind !== built.kind) removeIndexFiles(store, context);
    built.save(indexPath(store, context));
    writeFileAtomic(statePath(store, context), JSON.stringify(state) + '\n');
  });
  loaded.set(cacheKey, { index: built, state });
  return upgrade(built, newest);
}

/** Resolves when this process's background build of the context's index (if any) has finished. */
export function indexBuildFinished(store: EmbeddedStore, context: string): Promise<void> {
  return buildFinished(`${store.layout.root}\0${context}`);
}

/** Top-k concepts of one context's index nearest to `vector` (cosine), excluding ids. */
export function searchIndex(store: EmbeddedStore, context: string, vector: Float32Array, k: number, exclude: ReadonlySet<string>): IndexHit[] {
  const index = syncIndex(store, context);
  if (!index || index.size === 0) return [];
  const want = Math.min(index.size, k + exclude.size);
  return index.search(vector, want).filter((h) => !exclude.has(h.id));
}

/** Drops and rebuilds every context's index (run by `softlogic rebuild`). */
export function rebuildIndexes(store: EmbeddedStore): Array<{ context: string; kind: string; size: number }> {
  const out: Array<{ context: string; kind: string; size: number }> = [];
  loaded.clear();
  for (const row of store.listContexts()) {
    removeIndexFiles(store, row.name);
    discardBuild(`${store.layout.root}\0${row.name}`);
    const index = syncIndex(store, row.name, { buildApproximate: true });
    if (index) out.push({ context: row.name, kind: index.kind, size: index.size });
  }
  return out;
}

export function indexInfo(store: EmbeddedStore, context: string): IndexState | undefined {
  return readState(store, context);
}
