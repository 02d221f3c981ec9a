import type Database from 'better-sqlite3';
import type { EmbeddedStore } from '../../backend/embedded/embedded-store.js';
import { SEQ_SPAN } from '../../backend/embedded/sqlite-schema.js';
import { VectorSpace } from '../../embeddings/index.js';
import type { ConceptRecord } from '../concepts/concept-record.js';
import { readEntity } from '../entities/read.js';
import { blobToVector, decodeVector, vectorToBlob } from './codec.js';

/**
 * A SQLite cache of every active concept's vector, derived from the concept records (which carry
 * their vectors): `concept_vectors` holds one row per active concept, `concept_vector_sync` the
 * highest entities key already folded in per context. Entity rows get a new key (ctx << 36 | seq)
 * on every put / delete / restore, so what changed since the last sync is a rowid range scan. A
 * rebuilt index database starts without these tables and is re-derived from the log on first use.
 */
const DDL = `
CREATE TABLE IF NOT EXISTS concept_vectors(
  ctx INTEGER NOT NULL, id TEXT NOT NULL, name TEXT NOT NULL, synset_id TEXT, fallback INTEGER NOT NULL, vec BLOB NOT NULL,
  PRIMARY KEY(ctx, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS concept_vector_sync(ctx INTEGER PRIMARY KEY, last_key INTEGER NOT NULL);
`;

const prepared = new WeakMap<Database.Database, true>();

function ensureTables(db: Database.Database): void {
  if (prepared.has(db)) return;
  db.exec(DDL);
  prepared.set(db, true);
}

export interface ChangedRow {
  key: number;
  id: string;
  off: number;
  len: number;
  deleted_at: number | null;
}

export function lastSyncedKey(store: EmbeddedStore, ctx: number): number {
  ensureTables(store.db);
  const v = store.db.prepare('SELECT last_key FROM concept_vector_sync WHERE ctx = ?').pluck().get(ctx) as number | undefined;
  return v ?? ctx * SEQ_SPAN;
}

/** Concept rows of a context whose key is past `after` (put, deleted or restored since). */
export function changedConcepts(store: EmbeddedStore, ctx: number, after: number): ChangedRow[] {
  return store.db
    .prepare(`SELECT key, id, off, len, deleted_at FROM entities WHERE key > ? AND key < ? AND kind = 'concept' ORDER BY key`)
    .all(Math.max(after, ctx * SEQ_SPAN), (ctx + 1) * SEQ_SPAN) as ChangedRow[];
}

/** The newest concept key of a context (ctx << 36 when it has none). */
export function newestConceptKey(store: EmbeddedStore, ctx: number): number {
  const v = store.db
    .prepare(`SELECT MAX(key) FROM entities WHERE key >= ? AND key < ? AND kind = 'concept'`)
    .pluck()
    .get(ctx * SEQ_SPAN, (ctx + 1) * SEQ_SPAN) as number | null;
  return v ?? ctx * SEQ_SPAN;
}

/** Folds every concept change since the last sync into the cache (one write transaction). */
export function syncVectorCache(store: EmbeddedStore, context: string): number {
  ensureTables(store.db);
  const ctx = store.requireContext(context);
  const last = lastSyncedKey(store, ctx.ctx);
  if (newestConceptKey(store, ctx.ctx) <= last) return last;
  return store.transaction(() => {
    const from = lastSyncedKey(store, ctx.ctx);
    const rows = changedConcepts(store, ctx.ctx, from);
    if (rows.length === 0) return from;
    const upsert = store.db.prepare('INSERT OR REPLACE INTO concept_vectors(ctx, id, name, synset_id, fallback, vec) VALUES (?, ?, ?, ?, ?, ?)');
    const remove = store.db.prepare('DELETE FROM concept_vectors WHERE ctx = ? AND id = ?');
    let newest = from;
    for (const row of rows) {
      newest = Math.max(newest, row.key);
      if (row.deleted_at !== null) {
        remove.run(ctx.ctx, row.id);
        continue;
      }
      const record = readEntity<ConceptRecord>(store, ctx.name, row);
      if (!record.embedding) {
        remove.run(ctx.ctx, row.id);
        continue;
      }
      upsert.run(ctx.ctx, row.id, record.name, record.synset_id ?? null, record.embedding.fallback ? 1 : 0, vectorToBlob(decodeVector(record.embedding)));
    }
    store.db.prepare('INSERT OR REPLACE INTO concept_vector_sync(ctx, last_key) VALUES (?, ?)').run(ctx.ctx, newest);
    return newest;
  });
}

export interface CachedVector {
  id: string;
  name: string;
  synset_id: string | null;
  fallback: boolean;
  vector: Float32Array;
}

/** Active concept vectors of one context (not its parents), synced first, in id order. */
export function contextVectors(store: EmbeddedStore, context: string): CachedVector[] {
  syncVectorCache(store, context);
  const ctx = store.requireContext(context);
  const rows = store.db.prepare('SELECT id, name, synset_id, fallback, vec FROM concept_vectors WHERE ctx = ? ORDER BY id').all(ctx.ctx) as Array<{
    id: string;
    name: string;
    synset_id: string | null;
    fallback: number;
    vec: Buffer;
  }>;
  return rows.map((r) => ({ id: r.id, name: r.name, synset_id: r.synset_id, fallback: r.fallback === 1, vector: blobToVector(r.vec) }));
}

/** Concept vectors over a context and its parents (nearer first), of one dimension. */
export function chainVectors(store: EmbeddedStore, context: string, dimension: number): CachedVector[] {
  const seen = new Set<string>();
  const out: CachedVector[] = [];
  for (const row of store.contextChain(context)) {
    for (const v of contextVectors(store, row.name)) {
      if (seen.has(v.id) || v.vector.length !== dimension) continue;
      seen.add(v.id);
      out.push(v);
    }
  }
  return out;
}

/** The registry of a context (and its parents) as a VectorSpace keyed by concept id. */
export function registrySpace(store: EmbeddedStore, context: string, dimension: number): { space: VectorSpace; vectors: CachedVector[] } {
  const vectors = chainVectors(store, context, dimension);
  const space = new VectorSpace(dimension, Math.max(1, vectors.length));
  for (const v of vectors) space.add(v.id, v.vector);
  return { space, vectors };
}

/** Forgets the derived state (after a rebuild the tables are gone anyway). */
export function resetVectorCache(store: EmbeddedStore): void {
  ensureTables(store.db);
  store.transaction(() => {
    store.db.exec('DELETE FROM concept_vectors; DELETE FROM concept_vector_sync;');
  });
}
