import { SoftlogicError } from '../../core/errors.js';
import type { Analogy, AnalogyTombstone } from '../../core/records.js';
import type { ValidAnalogyInput } from '../../core/schemas.js';
import { assertStoredValue } from '../../core/json-limits.js';
import type { StoredVersion, WriteBatch } from '../../backend/write-batch.js';
import { buildAnalogy } from './analogy-record.js';

/**
 * The three analogy mutations, each one change inside a batch. Shared by single-record methods,
 * import and workflows so a version bump or a tombstone is made one way only. Callers pass
 * `prefetch: [['analogy', id]]` to the batch for the ids they change.
 */
export function putAnalogy(batch: WriteBatch, input: ValidAnalogyInput & { id: string }, now: string, workflowId: string | null): Analogy {
  const previous = batch.current<Analogy>('analogy', input.id);
  const record = buildAnalogy(input, batch.context.name, now, previous, workflowId);
  if (previous) record.created_at = input.created_at ?? previous.record().created_at;
  batch.change('analogy', 'put', record, previous, { fresh: previous === undefined });
  return record;
}

function notFound(batch: WriteBatch, id: string): SoftlogicError {
  return new SoftlogicError('NOT_FOUND', `analogy ${id} not found in context '${batch.context.name}'`, { id, context: batch.context.name });
}

/** `known`: the current version when the caller already read it (a deletion workflow). */
export function softDeleteAnalogy(batch: WriteBatch, id: string, now: string, known?: StoredVersion<Analogy>): AnalogyTombstone {
  const prev = known ?? batch.current<Analogy>('analogy', id);
  if (!prev) throw notFound(batch, id);
  if (prev.deleted) throw new SoftlogicError('ALREADY_DELETED', `analogy ${id} is already deleted`, { id });
  // A tombstone holds only what a delete changes: readers merge it with the version it deletes.
  const tombstone: AnalogyTombstone = { id, context: batch.context.name, version: prev.version + 1, updated_at: now, deleted_at: now };
  batch.change('analogy', 'delete', tombstone, prev);
  return tombstone;
}

/** NOT_FOUND when the analogy is unknown (restoreDeletedAnalogy says PURGED when compaction dropped it). */
export function restoreAnalogy(batch: WriteBatch, id: string, now: string): Analogy {
  const prev = batch.current<Analogy>('analogy', id);
  if (!prev) throw notFound(batch, id);
  if (!prev.deleted) throw new SoftlogicError('NOT_DELETED', `analogy ${id} is not deleted`, { id });
  const current = assertStoredValue(prev.record(), { kind: 'analogy', id, context: batch.context.name });
  const record: Analogy = { ...current, version: prev.version + 1, updated_at: now, deleted_at: null };
  batch.change('analogy', 'restore', record, prev);
  return record;
}
