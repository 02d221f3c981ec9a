import { createVectorIndex, EXACT_THRESHOLD, ExactVectorIndex, loadVectorIndex, type IndexHit, type VectorIndex } from '../../embeddings/index.js';
import type { VectorBackend } from '../../backend/vector-table.js';
import { backgroundIndexBuilds, buildFinished, discardBuild, finishedBuild, startBackgroundBuild } from './index-background.js';
import { effectiveSettings } from './settings.js';
import { contextMatrix } from './context-vectors.js';

/**
 * The similarity index of a context's concepts, kept among the context's files (`vectors.index`:
 * exact below EXACT_THRESHOLD concepts, HNSW above) with a state file naming the vector table's
 * generation it holds. It is brought up to date incrementally (the vector table's changes since
 * that generation) after every single concept write, at the end of a batch import and before
 * every search; saving it takes the backend's write lock so two processes never interleave. An
 * HNSW graph is only ever built in the background or by `softlogic rebuild` (see syncIndex).
 */
export interface IndexState {
  /** the vector table's generation the index holds (named as in the HTTP schema) */
  last_key: number;
  kind: 'exact' | 'hnsw';
  dimension: number;
  size: number;
}

const INDEX = 'vectors.index';
const STATE = 'vectors.index.state.json';

function parseState(bytes: Buffer | undefined): IndexState | undefined {
  if (!bytes) return undefined;
  try {
    const s = JSON.parse(bytes.toString('utf8')) as Partial<IndexState>;
    return typeof s.last_key === 'number' && (s.kind === 'exact' || s.kind === 'hnsw') && typeof s.dimension === 'number' ? (s as IndexState) : undefined;
  } catch {
    return undefined;
  }
}

async function readState(backend: VectorBackend, context: string): Promise<IndexState | undefined> {
  // A state without its index (removed by hand, or a crash between the two) is no state.
  const state = parseState(await backend.files.read(context, STATE));
  return state && (await backend.files.exists(context, INDEX)) ? state : undefined;
}

/**
 * Identifies one context's index across this process (its builds, its loaded copy), for the store
 * generation: after a restore over the store (by another process) the copy held here is not used.
 */
function indexKey(backend: VectorBackend, context: string): string {
  return `${backend.files.location(context, INDEX)}@${backend.vectors.storeGeneration()}`;
}

/**
 * The context's vectors as a new index: exact when `approximate` is false (what a search may
 * build without waiting), else the kind its size calls for.
 */
async function buildFull(backend: VectorBackend, context: string, dimension: number, approximate: boolean): Promise<VectorIndex> {
  const { ids, matrix } = await contextMatrix(backend, context, dimension);
  const index = createVectorIndex(dimension, { expectedSize: ids.length, capacity: Math.max(16, ids.length), threshold: approximate ? EXACT_THRESHOLD : Infinity });
  index.addAll(ids, matrix);
  return index;
}

const loaded = new Map<string, { index: VectorIndex; state: IndexState }>();

/** More changes than this since the saved index are folded in by a new build rather than one by one. */
const INCREMENTAL_LIMIT = 20_000;

export interface SyncIndexOptions {
  /** Build an HNSW graph now if the context calls for one (rebuild); searches never do. */
  buildApproximate?: boolean;
}

/** A background build that has finished for this index, loaded, with the generation its vectors reach. */
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
 * without holding the backend's write lock; only saving it takes the lock, and a save never
 * replaces an index that already holds newer changes. Updates are idempotent (an add replaces,
 * a remove of an absent id does nothing), so an index newer than its state file still converges.
 */
export async function syncIndex(backend: VectorBackend, context: string, options: SyncIndexOptions = {}): Promise<VectorIndex | undefined> {
  const settings = await effectiveSettings(backend, context);
  if (!settings) return undefined;
  const newest = await backend.vectors.generation(context);
  const key = indexKey(backend, context);
  const memo = loaded.get(key);
  const saved = await readState(backend, context);
  // A state ahead of the table (a restored or rebuilt store) is not trusted.
  const onDisk = saved && saved.last_key <= newest ? saved : undefined;
  const adopted = adoptBuild(key, settings.dimension);
  const upgrade = (index: VectorIndex, at: number): VectorIndex => {
    if (index instanceof ExactVectorIndex && index.size >= EXACT_THRESHOLD && backgroundIndexBuilds()) {
      const { ids, matrix } = index.contents();
      startBackgroundBuild(key, ids, matrix, settings.dimension, at, () => {
        // Adopted now, between requests; a store closed meanwhile simply does not adopt it.
        syncIndex(backend, context).catch(() => discardBuild(key));
      });
    }
    return index;
  };
  if (!adopted && memo && onDisk && memo.state.last_key === onDisk.last_key && onDisk.last_key === newest && !(options.buildApproximate && memo.index.kind === 'exact' && memo.index.size >= EXACT_THRESHOLD)) {
    return upgrade(memo.index, newest);
  }
  let index: VectorIndex | undefined;
  let base: number | undefined;
  if (adopted && (!onDisk || adopted.builtAt >= onDisk.last_key || onDisk.kind === 'exact')) {
    index = adopted.index;
    base = adopted.builtAt;
  } else if (memo && memo.state.dimension === settings.dimension && memo.state.last_key <= newest && (!onDisk || (onDisk.kind === memo.state.kind && onDisk.last_key >= memo.state.last_key))) {
    // This process's copy, brought forward by the changes since (made here or by another
    // process, a replica): the saved index is not read again.
    index = memo.index;
    base = memo.state.last_key;
  } else if (onDisk && onDisk.dimension === settings.dimension) {
    try {
      index = await backend.files.readLocal(context, INDEX, loadVectorIndex);
      base = onDisk.last_key;
    } catch {
      index = undefined;
    }
  }
  const delta = index && base !== undefined && base < newest ? await backend.vectors.changesSince(context, base, INCREMENTAL_LIMIT) : { generation: newest, changes: [] };
  const wantsGraph = (size: number): boolean => size >= EXACT_THRESHOLD;
  if (!index || !delta || (options.buildApproximate && wantsGraph(index.size) && index.kind === 'exact')) {
    index = await buildFull(backend, context, settings.dimension, options.buildApproximate === true);
  } else if (delta.changes.length > 0) {
    for (const change of delta.changes) {
      if (change.vector === null) index.remove(change.id);
      else index.add(change.id, change.vector);
    }
    // Shrunk far below the threshold: an exact index again (a graph is only worth it when large).
    if (index.kind === 'hnsw' && index.size < EXACT_THRESHOLD / 2) index = await buildFull(backend, context, settings.dimension, false);
  } else if (!adopted && onDisk) {
    loaded.set(key, { index, state: onDisk });
    return upgrade(index, newest);
  }
  const built = index;
  const state: IndexState = { last_key: newest, kind: built.kind, dimension: settings.dimension, size: built.size };
  await backend.files.update(context, [STATE], (files) => {
    const current = parseState(files.read(STATE));
    // An index of the same kind already saved at this point (another process) is as good; a graph beats an exact index.
    if (current && current.last_key >= newest && current.dimension === settings.dimension && (current.kind === built.kind || built.kind === 'exact')) return;
    if (!current || current.kind !== built.kind) files.remove(INDEX);
    files.writeLocal(INDEX, (path) => built.save(path));
    files.write(STATE, JSON.stringify(state) + '\n');
  });
  loaded.set(key, { index: built, state });
  return upgrade(built, newest);
}

/** Resolves when this process's background build of the context's index (if any) has finished. */
export function indexBuildFinished(backend: VectorBackend, context: string): Promise<void> {
  return buildFinished(indexKey(backend, context));
}

/** Top-k concepts of one context's index nearest to `vector` (cosine), excluding ids. */
export async function searchIndex(backend: VectorBackend, context: string, vector: Float32Array, k: number, exclude: ReadonlySet<string>): Promise<IndexHit[]> {
  const index = await syncIndex(backend, context);
  if (!index || index.size === 0) return [];
  const want = Math.min(index.size, k + exclude.size);
  return index.search(vector, want).filter((h) => !exclude.has(h.id));
}

/** Drops and rebuilds every context's index (run by `softlogic rebuild`). */
export async function rebuildIndexes(backend: VectorBackend): Promise<Array<{ context: string; kind: string; size: number }>> {
  const out: Array<{ context: string; kind: string; size: number }> = [];
  for (const row of await backend.contexts.list()) {
    const key = indexKey(backend, row.name);
    loaded.delete(key);
    await backend.files.update(row.name, [], (files) => {
      files.remove(STATE);
      files.remove(INDEX);
    });
    discardBuild(key);
    const index = await syncIndex(backend, row.name, { buildApproximate: true });
    if (index) out.push({ context: row.name, kind: index.kind, size: index.size });
  }
  return out;
}

export async function indexInfo(backend: VectorBackend, context: string): Promise<IndexState | undefined> {
  return readState(backend, context);
}
