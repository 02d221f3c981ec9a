import { SoftlogicError } from '../../core/errors.js';
import type { Analogy, AnalogyTombstone } from '../../core/records.js';
import type { ValidAnalogyInput } from '../../core/schemas.js';
import type { EmbeddedStore, WriteBatch } from '../../backend/embedded/embedded-store.js';
import type { AnalogyRow } from '../../backend/embedded/analogy-index.js';
import { buildAnalogy } from './analogy-record.js';
import { readAnalogy } from '../../backend/embedded/record-lines.js';

/**
 * The three analogy mutations, each one log line inside a batch. Shared by single-record
 * methods, import and workflows so a version bump or a tombstone is made one way only.
 */
export function putAnalogy(store: EmbeddedStore, batch: WriteBatch, input: ValidAnalogyInput & { id: string }, now: string, workflowId: string | null): Analogy {
  const ctx = batch.context;
  const previous = store.analogies.get(ctx.ctx, input.id);
  const record = buildAnalogy(input, ctx.name, now, previous, workflowId);
  if (previous) record.created_at = input.created_at ?? readAnalogy(store, ctx.name, previous, false).created_at; // a new version may replace an over-deep one
  batch.append('analogy', 'put', record, previous ? previous.off : null);
  return record;
}

/** `known`: the row when the caller already looked it up (a deletion workflow, by key). */
export function softDeleteAnalogy(store: EmbeddedStore, batch: WriteBatch, id: string, now: string, known?: AnalogyRow): AnalogyTombstone {
  const ctx = batch.context;
  const row = known ?? store.analogies.get(ctx.ctx, id);
  if (!row) throw new SoftlogicError('NOT_FOUND', `analogy ${id} not found in context '${ctx.name}'`, { id, context: ctx.name });
  if (row.deleted_at !== null) throw new SoftlogicError('ALREADY_DELETED', `analogy ${id} is already deleted`, { id });
  const tombstone: AnalogyTombstone = { id, context: ctx.name, version: row.version + 1, updated_at: now, deleted_at: now };
  batch.append('analogy', 'delete', tombstone, row.off, { rowKey: row.key });
  return tombstone;
}

export function restoreAnalogy(store: EmbeddedStore, batch: WriteBatch, id: string, now: string): Analogy {
  const ctx = batch.context;
  const row = store.analogies.get(ctx.ctx, id);
  if (!row) {
    const purged = store.db.prepare(`SELECT purged_at FROM purged WHERE ctx = ? AND kind = 'analogy' AND id = ?`).pluck().get(ctx.ctx, id) as string | undefined;
    if (purged) throw new SoftlogicError('PURGED', `analogy ${id} was deleted and then purged by compaction at ${purged}; it cannot be restored`, { id, purged_at: purged });
    throw new SoftlogicError('NOT_FOUND', `analogy ${id} not found in context '${ctx.name}'`, { id, context: ctx.name });
  }
  if (row.deleted_at === null) throw new SoftlogicError('NOT_DELETED', `analogy ${id} is not deleted`, { id });
  const current = readAnalogy(store, ctx.name, row);
  const record: Analogy = { ...current, version: current.version + 1, updated_at: now, deleted_at: null };
  batch.append('analogy', 'restore', record, row.off);
  return record;
}
