import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createVectorIndex, EXACT_THRESHOLD, loadVectorIndex, hnswMetaPath, type IndexHit, type VectorIndex } from '../../embeddings/index.js';
import type { EmbeddedStore } from '../../store/embedded/embedded-store.js';
import { writeFileAtomic } from '../../store/embedded/fs-durable.js';
import { effectiveSettings } from './settings.js';
import { changedConcepts, contextVectors, syncVectorCache } from './vector-cache.js';
import { blobToVector } from './codec.js';

/**
 * The similarity index of a context's concepts, persisted as contexts/<c>/vectors.index (exact
 * below EXACT_THRESHOLD concepts, HNSW above) with a state file naming the newest concept change
 * it holds. It is brought up to date incrementally (adds and removes since that change) after
 * every single concept write and before every search (a batch import leaves it to the next
 * search: building an HNSW graph costs far more than storing the concepts), under the store's write lock so two processes
 * never interleave; `softlogic rebuild` rebuilds it from scratch.
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

function buildFull(store: EmbeddedStore, context: string, dimension: number): VectorIndex {
  const vectors = contextVectors(store, context).filter((v) => v.vector.length === dimension);
  const index = createVectorIndex(dimension, { expectedSize: vectors.length, capacity: Math.max(16, vectors.length) });
  const matrix = new Float32Array(vectors.length * dimension);
  vectors.forEach((v, i) => matrix.set(v.vector, i * dimension));
  index.addAll(
    vectors.map((v) => v.id),
    matrix,
  );
  return index;
}

const loaded = new Map<string, { index: VectorIndex; state: IndexState }>();

/**
 * The context's index, up to date with its concepts; undefined when it has no embedding
 * settings. The index is loaded, updated or built without holding the store's write lock (a
 * large HNSW build takes seconds); only saving it takes the lock, and a save never replaces an
 * index that already holds newer changes. Updates are idempotent (an add replaces, a remove of
 * an absent id does nothing), so an index newer than its state file still converges.
 */
export function syncIndex(store: EmbeddedStore, context: string): VectorIndex | undefined {
  const settings = effectiveSettings(store, context);
  if (!settings) return undefined;
  const ctx = store.requireContext(context);
  const newest = syncVectorCache(store, context);
  const cacheKey = `${store.layout.root}\0${context}`;
  const memo = loaded.get(cacheKey);
  const saved = readState(store, context);
  // A state from another numbering (a restored or rebuilt index) or ahead of the log is not trusted.
  const onDisk = saved && saved.ctx === ctx.ctx && saved.last_key <= newest ? saved : undefined;
  if (memo && onDisk && memo.state.last_key === onDisk.last_key && onDisk.last_key === newest) return memo.index;
  let index: VectorIndex | undefined;
  if (onDisk && onDisk.dimension === settings.dimension) {
    try {
      index = memo && memo.state.last_key === onDisk.last_key ? memo.index : loadVectorIndex(indexPath(store, context));
    } catch {
      index = undefined;
    }
  }
  if (!index || !onDisk) {
    index = buildFull(store, context, settings.dimension);
  } else if (onDisk.last_key < newest) {
    const changes = changedConcepts(store, ctx.ctx, onDisk.last_key).filter((r) => r.key <= newest);
    const get = store.db.prepare('SELECT vec FROM concept_vectors WHERE ctx = ? AND id = ?').pluck();
    for (const row of changes) {
      const blob = get.get(ctx.ctx, row.id) as Buffer | undefined;
      if (row.deleted_at !== null || !blob) index.remove(row.id);
      else index.add(row.id, blobToVector(blob));
    }
    // Crossing the threshold changes the kind of index: build the right one.
    const wanted = index.size >= EXACT_THRESHOLD ? 'hnsw' : 'exact';
    if (wanted !== index.kind && (wanted === 'hnsw' || index.size < EXACT_THRESHOLD / 2)) index = buildFull(store, context, settings.dimension);
  } else {
    loaded.set(cacheKey, { index, state: onDisk });
    return index;
  }
  const built = index;
  const state: IndexState = { ctx: ctx.ctx, last_key: newest, kind: built.kind, dimension: settings.dimension, size: built.size };
  store.transaction(() => {
    const current = readState(store, context);
    if (current && current.ctx === ctx.ctx && current.last_key >= newest && current.kind === built.kind && current.dimension === settings.dimension) return;
    if (!current || current.kind !== built.kind) removeIndexFiles(store, context);
    built.save(indexPath(store, context));
    writeFileAtomic(statePath(store, context), JSON.stringify(state) + '\n');
  });
  loaded.set(cacheKey, { index: built, state });
  return built;
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
    const index = syncIndex(store, row.name);
    if (index) out.push({ context: row.name, kind: index.kind, size: index.size });
  }
  return out;
}

export function indexInfo(store: EmbeddedStore, context: string): IndexState | undefined {
  return readState(store, context);
}
