import type pg from 'pg';
import { blobToVector, decodeVector, vectorToBlob, type StoredEmbedding } from '../../core/vector-codec.js';
import type { ConceptVector, VectorChanges, VectorPage, VectorReadOptions, VectorSettings, VectorTable } from '../vector-table.js';
import type { WriteBatch } from '../write-batch.js';
import type { PostgresContexts } from './postgres-contexts.js';

const DEFAULT_PAGE = 4096;

interface VectorRow {
  id: string;
  name: string;
  synset_id: string | null;
  fallback: boolean;
  vec: Buffer;
}

/** A concept version's row in concept_vectors: its vector, or null when it has none (deleted, or none written). */
export interface ConceptVectorRow {
  id: string;
  name: string;
  synset_id: string | null;
  fallback: boolean;
  vec: Buffer | null;
  seq: number;
}

/** The vector row a concept's new current version gives (called by the write path for every concept change). */
export function conceptVectorRow(body: Record<string, unknown>, seq: number): ConceptVectorRow {
  const embedding = body.embedding as StoredEmbedding | null | undefined;
  const live = embedding && (body.deleted_at === null || body.deleted_at === undefined);
  return {
    id: String(body.id),
    name: typeof body.name === 'string' ? body.name : '',
    synset_id: typeof body.synset_id === 'string' ? body.synset_id : null,
    fallback: live ? embedding.fallback === true : false,
    vec: live ? vectorToBlob(decodeVector(embedding)) : null,
    seq,
  };
}

/** Upserts the vector rows of a batch's concepts (the last version of each), in its transaction. */
export async function writeConceptVectors(client: pg.ClientBase, ctx: number, rows: ConceptVectorRow[]): Promise<void> {
  if (rows.length === 0) return;
  await client.query(
    `INSERT INTO concept_vectors(ctx, id, name, synset_id, fallback, vec, seq)
     SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::bool[], $6::bytea[], $7::bigint[])
     ON CONFLICT (ctx, id) DO UPDATE SET name = excluded.name, synset_id = excluded.synset_id, fallback = excluded.fallback, vec = excluded.vec, seq = excluded.seq`,
    [ctx, rows.map((r) => r.id), rows.map((r) => r.name), rows.map((r) => r.synset_id), rows.map((r) => r.fallback), rows.map((r) => r.vec), rows.map((r) => r.seq)],
  );
}

function toPage(rows: VectorRow[], dimension: number): VectorPage {
  const matrix = new Float32Array(rows.length * dimension);
  const bytes = new Uint8Array(matrix.buffer);
  rows.forEach((r, i) => bytes.set(r.vec, i * dimension * 4));
  return { dimension, ids: rows.map((r) => r.id), names: rows.map((r) => r.name), synsetIds: rows.map((r) => r.synset_id), fallback: rows.map((r) => r.fallback), matrix };
}

/**
 * Concept vectors in PostgreSQL, shared by every replica. The write path derives them from the
 * concept records in the same transaction (so `put` and `delete` have nothing left to do), and
 * a context's generation is the seq of its latest vector change: a replica's index asks for the
 * rows with a higher seq.
 */
export class PostgresVectorTable implements VectorTable {
  constructor(
    private readonly pool: pg.Pool,
    private readonly contexts: PostgresContexts,
  ) {}

  async settings(context: string): Promise<VectorSettings | undefined> {
    const ctx = await this.contexts.row(context);
    if (!ctx) return undefined;
    const { rows } = await this.pool.query<VectorSettings>('SELECT provider, dimension FROM vector_settings WHERE ctx = $1', [ctx.ctx]);
    return rows[0];
  }

  async recordSettings(context: string, settings: VectorSettings): Promise<VectorSettings> {
    const ctx = await this.contexts.ensureRow(context);
    const { rows } = await this.pool.query<VectorSettings>(
      `WITH added AS (INSERT INTO vector_settings(ctx, provider, dimension) VALUES ($1, $2, $3) ON CONFLICT (ctx) DO NOTHING RETURNING provider, dimension),
            audited AS (INSERT INTO audit(entry) SELECT json_build_object('time', $5::text, 'event', 'embedding_settings_recorded', 'context', $4::text, 'provider', provider, 'dimension', dimension) FROM added)
       SELECT provider, dimension FROM added UNION ALL SELECT provider, dimension FROM vector_settings WHERE ctx = $1 AND NOT EXISTS (SELECT 1 FROM added)`,
      [ctx.ctx, settings.provider, settings.dimension, context, new Date().toISOString()],
    );
    return rows[0] as VectorSettings;
  }

  storeGeneration(): number {
    return this.contexts.storeGeneration;
  }

  async generation(context: string): Promise<number> {
    const ctx = await this.contexts.requireRow(context);
    const { rows } = await this.pool.query<{ g: number | null }>('SELECT max(seq) AS g FROM concept_vectors WHERE ctx = $1', [ctx.ctx]);
    return rows[0]?.g ?? 0;
  }

  async count(context: string): Promise<number> {
    const ctx = await this.contexts.requireRow(context);
    const { rows } = await this.pool.query<{ n: number }>('SELECT count(*) AS n FROM concept_vectors WHERE ctx = $1 AND vec IS NOT NULL', [ctx.ctx]);
    return rows[0]?.n ?? 0;
  }

  async *read(context: string, options: VectorReadOptions = {}): AsyncIterable<VectorPage> {
    const ctx = await this.contexts.requireRow(context);
    const pageSize = Math.max(1, options.pageSize ?? DEFAULT_PAGE);
    let dimension = options.dimension;
    let after = '';
    for (;;) {
      const { rows } = await this.pool.query<VectorRow>(
        `SELECT id, name, synset_id, fallback, vec FROM concept_vectors WHERE ctx = $1 AND vec IS NOT NULL AND id COLLATE "C" > $2 ORDER BY id COLLATE "C" LIMIT $3`,
        [ctx.ctx, after, pageSize],
      );
      if (rows.length === 0) return;
      dimension ??= (rows[0] as VectorRow).vec.length / 4;
      const width = dimension * 4;
      const kept = rows.filter((r) => r.vec.length === width);
      if (kept.length > 0) yield toPage(kept, dimension);
      if (rows.length < pageSize) return;
      after = (rows[rows.length - 1] as VectorRow).id;
    }
  }

  async get(context: string, id: string): Promise<ConceptVector | undefined> {
    const ctx = await this.contexts.requireRow(context);
    const { rows } = await this.pool.query<VectorRow>('SELECT id, name, synset_id, fallback, vec FROM concept_vectors WHERE ctx = $1 AND id = $2 AND vec IS NOT NULL', [ctx.ctx, id]);
    const row = rows[0];
    return row && { id: row.id, name: row.name, synset_id: row.synset_id, fallback: row.fallback, vector: blobToVector(row.vec) };
  }

  async changesSince(context: string, generation: number, limit: number): Promise<VectorChanges | undefined> {
    const ctx = await this.contexts.requireRow(context);
    const { rows } = await this.pool.query<{ id: string; vec: Buffer | null; seq: number }>('SELECT id, vec, seq FROM concept_vectors WHERE ctx = $1 AND seq > $2 ORDER BY seq LIMIT $3', [
      ctx.ctx,
      generation,
      limit + 1,
    ]);
    if (rows.length > limit) return undefined;
    const newest = rows.length > 0 ? (rows[rows.length - 1] as { seq: number }).seq : generation;
    return { generation: newest, changes: rows.map((r) => ({ id: r.id, vector: r.vec ? blobToVector(r.vec) : null })) };
  }

  /** Derived from the concept record by the write path, in the same transaction. */
  put(_batch: WriteBatch, _vector: ConceptVector): void {}

  /** Derived from the concept record by the write path, in the same transaction. */
  delete(_batch: WriteBatch, _id: string): void {}
}
