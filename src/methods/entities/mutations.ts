import { isSoftlogicError, SoftlogicError } from '../../core/errors.js';
import type { EntityRecord, RecordKind } from '../../core/records.js';
import { assertStoredValue, recordLimitIssue } from '../../core/json-limits.js';
import type { Backend } from '../../backend/backend.js';
import type { StoredVersion, WriteBatch } from '../../backend/write-batch.js';

/**
 * The three entity mutations (put, soft delete, restore), each one change inside a batch,
 * exactly as for analogies: a put of an existing id is its next version (created_at kept), a
 * delete is a tombstone (deleted_at + version bump), a restore clears it (version bump). Callers
 * pass `prefetch: [[kind, id]]` to the batch for the records they change.
 */
export interface EntityInput {
  id: string;
  created_at?: string;
  [field: string]: unknown;
}

const label = (kind: RecordKind) => kind.replace('_', ' ');

export function putEntity<T = EntityRecord>(batch: WriteBatch, kind: RecordKind, input: EntityInput, now: string): T {
  const prev = batch.current<EntityRecord>(kind, input.id);
  let created: string = typeof input.created_at === 'string' ? input.created_at : now;
  if (prev && input.created_at === undefined) created = (prev.record().created_at as string | undefined) ?? now;
  const record = { ...input, created_at: created, updated_at: now, version: prev ? prev.version + 1 : 1, deleted_at: null };
  // Every kind's edge checks its input; this is the bound no record of any kind gets past.
  const issue = recordLimitIssue(record);
  if (issue) throw new SoftlogicError('INVALID_RECORD', `${label(kind)} ${input.id}: ${issue.field}: ${issue.reason}`, { kind, id: input.id, issues: [issue] });
  batch.change(kind, 'put', record, prev, { fresh: prev === undefined });
  return record as unknown as T;
}

/** The stored record the batch changes next, whole (a record stored before the depth limit is refused). */
function existing(batch: WriteBatch, kind: RecordKind, id: string): { prev: StoredVersion<EntityRecord>; record: EntityRecord } {
  const prev = batch.current<EntityRecord>(kind, id);
  const ctx = batch.context.name;
  if (!prev) throw new SoftlogicError('NOT_FOUND', `${label(kind)} ${id} not found in context '${ctx}'`, { id, context: ctx, kind });
  return { prev, record: assertStoredValue(prev.record(), { kind, id, context: ctx }) };
}

export function softDeleteEntity<T = EntityRecord>(batch: WriteBatch, kind: RecordKind, id: string, now: string): T {
  const { prev, record: current } = existing(batch, kind, id);
  if (prev.deleted) throw new SoftlogicError('ALREADY_DELETED', `${label(kind)} ${id} is already deleted`, { id, kind });
  const record: EntityRecord = { ...current, version: prev.version + 1, updated_at: now, deleted_at: now };
  batch.change(kind, 'delete', record, prev);
  return record as unknown as T;
}

/** NOT_FOUND when the record is unknown (restoreEntityById says PURGED when compaction dropped it). */
export function restoreEntity<T = EntityRecord>(batch: WriteBatch, kind: RecordKind, id: string, now: string): T {
  const { prev, record: current } = existing(batch, kind, id);
  if (!prev.deleted) throw new SoftlogicError('NOT_DELETED', `${label(kind)} ${id} is not deleted`, { id, kind });
  const record: EntityRecord = { ...current, version: prev.version + 1, updated_at: now, deleted_at: null };
  batch.change(kind, 'restore', record, prev);
  return record as unknown as T;
}

/**
 * What a failed restore of `id` says: PURGED when the record is gone because compaction dropped
 * it after its delete (it cannot come back), otherwise the error as it is.
 */
export async function restoreFailure(backend: Backend, context: string, kind: RecordKind, id: string, err: unknown): Promise<never> {
  if (isSoftlogicError(err) && err.code === 'NOT_FOUND') {
    const purged = await backend.records.purgedAt(context, kind, id);
    if (purged) throw new SoftlogicError('PURGED', `${label(kind)} ${id} was deleted and then purged by compaction at ${purged}; it cannot be restored`, { id, purged_at: purged });
  }
  throw err;
}
