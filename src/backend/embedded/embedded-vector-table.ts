import { existsSync, readFileSync } from 'node:fs';
import type Database from 'better-sqlite3';
import type { ConceptVector, VectorChanges, VectorPage, VectorReadOptions, VectorSettings, VectorTable } from '../vector-table.js';
import type { WriteBatch } from '../write-batch.js';
import { blobToVector, decodeVector, vectorToBlob, type StoredEmbedding } from '../../core/vector-codec.js';
import type { EmbeddedStore } from './embedded-store.js';
import { writeFileAtomic } from './fs-durable.js';
import { recordJsonOf } from './log-format.js';
import { SEQ_SPAN, seqOfKey } from './sqlite-schema.js';

/**
 * Concept vectors of the embedded backend: a SQLite cache (`concept_vectors`, one row per active
 * concept with a vector) derived from the concept records in the logs, and
 * `concept_vector_sync`, the highest entities key folded in per context. Entity rows get a new
 * key (ctx << 36 | seq) on every put / delete / restore, so what changed since the last sync is a
 * rowid range scan, and the newest concept key is the context's generation (visible to every
 * process sharing the index database).
 *
 * A batch that reports its vectors (`put` / `delete`) fills the cache inside its own transaction
 * and moves the sync mark along, so a batch import needs no catch-up re-read of its records;
 * every other concept write is folded in from the log on the next read. A rebuilt index database
 * starts without these tables and is re-derived from the log on first use.
 */
const DDL = `
CREATE TABLE IF NOT EXISTS concept_vectors(
  ctx INTEGER NOT NULL, id TEXT NOT NULL, name TEXT NOT NULL, synset_id TEXT, fallback INTEGER NOT NULL, vec BLOB NOT NULL,
  PRIMARY KEY(ctx, id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS concept_vector_sync(ctx INTEGER PRIMARY KEY, last_key INTEGER NOT NULL);
`;

interface ChangedRow {
  key: number;
  id: string;
  off: number;
  len: number;
  deleted_at: number | null;
}

interface VectorRow {
  id: string;
  name: string;
  synset_id: string | null;
  fallback: number;
  vec: Buffer;
}

interface ConceptFields {
  name: string;
  synset_id?: string | null;
  embedding?: StoredEmbedding | null;
}

/** What a batch's puts know: the concept key the cache is complete up to, while it is. */
interface BatchMark {
  ctx: number;
  /** undefined once a concept change of the batch (or before it) was not reported: the log catch-up folds it in */
  syncedTo: number | undefined;
}

const DEFAULT_PAGE = 4096;

export class EmbeddedVectorTable implements VectorTable {
  private readonly marks = new WeakMap<object, BatchMark>();
  private ready = false;
  private statements = new Map<string, Database.Statement>();

  constructor(private readonly store: EmbeddedStore) {}

  private get db(): Database.Database {
    if (!this.ready) {
      this.store.db.exec(DDL);
      this.ready = true;
    }
    return this.store.db;
  }

  /** Prepared once per table: a batch import runs these per concept. */
  private sql(text: string): Database.Statement {
    let st = this.statements.get(text);
    if (!st) this.statements.set(text, (st = this.db.prepare(text)));
    return st;
  }

  async settings(context: string): Promise<VectorSettings | undefined> {
    return this.ownSettings(context);
  }

  private ownSettings(context: string): VectorSettings | undefined {
    const path = this.store.layout.contextMetadata(context);
    if (!existsSync(path)) return undefined;
    const meta = JSON.parse(readFileSync(path, 'utf8')) as { embedding?: VectorSettings };
    return meta.embedding ?? undefined;
  }

  async recordSettings(context: string, settings: VectorSettings): Promise<VectorSettings> {
    this.store.ensureContext(context);
    return this.store.transaction(() => {
      const current = this.ownSettings(context);
      if (current) return current;
      // Kept in metadata.json next to the parent and description (DESIGN.md), under the write lock.
      const path = this.store.layout.contextMetadata(context);
      const meta = existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>) : { name: context };
      const own: VectorSettings = { provider: settings.provider, dimension: settings.dimension };
      writeFileAtomic(path, JSON.stringify({ ...meta, embedding: own }, null, 2) + '\n');
      this.store.audit.record({ event: 'embedding_settings_recorded', context, ...own });
      return own;
    });
  }

  storeGeneration(): number {
    return this.store.storeGeneration;
  }

  async generation(context: string): Promise<number> {
    return this.newestKey(this.store.requireContext(context).ctx);
  }

  async count(context: string): Promise<number> {
    const ctx = this.sync(context);
    return this.sql('SELECT COUNT(*) FROM concept_vectors WHERE ctx = ?').pluck().get(ctx) as number;
  }

  async *read(context: string, options: VectorReadOptions = {}): AsyncIterable<VectorPage> {
    const pageSize = Math.max(1, options.pageSize ?? DEFAULT_PAGE);
    const ctx = this.sync(context);
    const page = this.sql('SELECT id, name, synset_id, fallback, vec FROM concept_vectors WHERE ctx = ? AND id > ? ORDER BY id LIMIT ?');
    let dimension = options.dimension;
    let after = '';
    for (;;) {
      const rows = page.all(ctx, after, pageSize) as VectorRow[];
      if (rows.length === 0) return;
      dimension ??= rows[0].vec.length / 4;
      const width = dimension * 4;
      const kept = rows.filter((r) => r.vec.length === width);
      if (kept.length > 0) yield toPage(kept, dimension);
      if (rows.length < pageSize) return;
      after = rows[rows.length - 1].id;
    }
  }

  async get(context: string, id: string): Promise<ConceptVector | undefined> {
    const ctx = this.sync(context);
    const row = this.sql('SELECT id, name, synset_id, fallback, vec FROM concept_vectors WHERE ctx = ? AND id = ?').get(ctx, id) as VectorRow | undefined;
    return row && { id: row.id, name: row.name, synset_id: row.synset_id, fallback: row.fallback === 1, vector: blobToVector(row.vec) };
  }

  async changesSince(context: string, generation: number, limit: number): Promise<VectorChanges | undefined> {
    const ctx = this.sync(context);
    // A generation of another numbering (a restored or rebuilt index database) is not comparable.
    if (generation < ctx * SEQ_SPAN || generation >= (ctx + 1) * SEQ_SPAN) return undefined;
    const newest = this.newestKey(ctx);
    const rows = this.sql(`SELECT key, id, deleted_at FROM entities WHERE key > ? AND key <= ? AND kind = 'concept' ORDER BY key LIMIT ?`)
      .all(generation, newest, limit + 1) as Array<Pick<ChangedRow, 'key' | 'id' | 'deleted_at'>>;
    if (rows.length > limit) return undefined;
    const vec = this.sql('SELECT vec FROM concept_vectors WHERE ctx = ? AND id = ?').pluck();
    const changes = rows.map((r) => {
      const blob = r.deleted_at === null ? (vec.get(ctx, r.id) as Buffer | undefined) : undefined;
      return { id: r.id, vector: blob ? blobToVector(blob) : null };
    });
    return { generation: newest, changes };
  }

  // The batch is only told apart and asked its context: the embedded store's own batch serves as well.
  put(batch: Pick<WriteBatch, 'context'>, vector: ConceptVector): void {
    const mark = this.markOf(batch, vector.id);
    if (mark === undefined) return;
    this.sql('INSERT OR REPLACE INTO concept_vectors(ctx, id, name, synset_id, fallback, vec) VALUES (?, ?, ?, ?, ?, ?)')
      .run(mark.ctx, vector.id, vector.name, vector.synset_id, vector.fallback ? 1 : 0, vectorToBlob(vector.vector));
    this.setSynced(mark.ctx, mark.syncedTo as number);
  }

  delete(batch: Pick<WriteBatch, 'context'>, id: string): void {
    const mark = this.markOf(batch, id);
    if (mark === undefined) return;
    this.sql('DELETE FROM concept_vectors WHERE ctx = ? AND id = ?').run(mark.ctx, id);
    this.setSynced(mark.ctx, mark.syncedTo as number);
  }

  /**
   * The batch's mark advanced to the row the batch just wrote for `id` (called inside the batch's
   * transaction, after its change), or undefined when the cache is behind anyway: then the
   * change is left to the catch-up from the log, which keeps the cache in key order.
   */
  private markOf(batch: Pick<WriteBatch, 'context'>, id: string): BatchMark | undefined {
    let mark = this.marks.get(batch);
    if (!mark) {
      const ctx = this.store.requireContext(batch.context.name).ctx;
      mark = { ctx, syncedTo: this.lastSynced(ctx) };
      this.marks.set(batch, mark);
    }
    if (mark.syncedTo === undefined) return undefined;
    const key = this.sql(`SELECT key FROM entities WHERE ctx = ? AND kind = 'concept' AND id = ?`).pluck().get(mark.ctx, id) as number | undefined;
    // A concept change between the mark and this one that nobody reported: stop following.
    const gap = key === undefined || key <= mark.syncedTo || this.sql(`SELECT 1 FROM entities WHERE key > ? AND key < ? AND kind = 'concept' LIMIT 1`).get(mark.syncedTo, key) !== undefined;
    if (gap) {
      mark.syncedTo = undefined;
      return undefined;
    }
    mark.syncedTo = key;
    return mark;
  }

  private setSynced(ctx: number, key: number): void {
    this.sql('INSERT OR REPLACE INTO concept_vector_sync(ctx, last_key) VALUES (?, ?)').run(ctx, key);
  }

  private lastSynced(ctx: number): number {
    const v = this.sql('SELECT last_key FROM concept_vector_sync WHERE ctx = ?').pluck().get(ctx) as number | undefined;
    return v ?? ctx * SEQ_SPAN;
  }

  private newestKey(ctx: number): number {
    const v = this.sql(`SELECT MAX(key) FROM entities WHERE key >= ? AND key < ? AND kind = 'concept'`)
      .pluck()
      .get(ctx * SEQ_SPAN, (ctx + 1) * SEQ_SPAN) as number | null;
    return v ?? ctx * SEQ_SPAN;
  }

  /** Folds every concept change since the last sync into the cache (one write transaction); the context's number. */
  private sync(context: string): number {
    const ctx = this.store.requireContext(context);
    if (this.newestKey(ctx.ctx) <= this.lastSynced(ctx.ctx)) return ctx.ctx;
    this.store.transaction(() => {
      const from = this.lastSynced(ctx.ctx);
      const rows = this.sql(`SELECT key, id, off, len, deleted_at FROM entities WHERE key > ? AND key < ? AND kind = 'concept' ORDER BY key`)
        .all(Math.max(from, ctx.ctx * SEQ_SPAN), (ctx.ctx + 1) * SEQ_SPAN) as ChangedRow[];
      if (rows.length === 0) return;
      const upsert = this.sql('INSERT OR REPLACE INTO concept_vectors(ctx, id, name, synset_id, fallback, vec) VALUES (?, ?, ?, ?, ?, ?)');
      const remove = this.sql('DELETE FROM concept_vectors WHERE ctx = ? AND id = ?');
      let newest = from;
      for (const row of rows) {
        newest = Math.max(newest, row.key);
        const record = row.deleted_at === null ? (JSON.parse(recordJsonOf(this.store.readLogLine(ctx.name, row.off, row.len, seqOfKey(row.key)))) as ConceptFields) : undefined;
        if (!record?.embedding) {
          remove.run(ctx.ctx, row.id);
          continue;
        }
        upsert.run(ctx.ctx, row.id, record.name, record.synset_id ?? null, record.embedding.fallback ? 1 : 0, vectorToBlob(decodeVector(record.embedding)));
      }
      this.setSynced(ctx.ctx, newest);
    });
    return ctx.ctx;
  }

  /** Forgets the derived state (it is re-derived from the log on next use). */
  reset(): void {
    this.store.transaction(() => {
      this.db.exec('DELETE FROM concept_vectors; DELETE FROM concept_vector_sync;');
    });
  }
}

function toPage(rows: VectorRow[], dimension: number): VectorPage {
  const matrix = new Float32Array(rows.length * dimension);
  const bytes = new Uint8Array(matrix.buffer);
  rows.forEach((r, i) => bytes.set(r.vec, i * dimension * 4));
  return {
    dimension,
    ids: rows.map((r) => r.id),
    names: rows.map((r) => r.name),
    synsetIds: rows.map((r) => r.synset_id),
    fallback: rows.map((r) => r.fallback === 1),
    matrix,
  };
}
