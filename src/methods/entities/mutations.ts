import { SoftlogicError } from '../../core/errors.js';
import type { RecordKind } from '../../core/records.js';
import type { EmbeddedStore, WriteBatch } from '../../backend/embedded/embedded-store.js';
import type { EntityRecord } from '../../backend/embedded/entity-index.js';
import { readEntity } from './read.js';
import { recordLimitIssue } from '../../core/json-limits.js';

/**
 * The three entity mutations (put, soft delete, restore), each one log line inside a batch,
 * exactly as for analogies: a put of an existing id is its next version (created_at kept), a
 * delete is a tombstone (deleted_at + version bump), a restore clears it (version bump).
 */
export interface EntityInput {
  id: string;
  created_at?: string;
  [field: string]: unknown;
}

export function putEntity<T = EntityRecord>(store: EmbeddedStore, batch: WriteBatch, kind: RecordKind, input: EntityInput, now: string): T {
  const row = store.entities.get(batch.context.ctx, kind, input.id);
  let created: string = typeof input.created_at === 'string' ? input.created_at : now;
  if (row && input.created_at === undefined) created = (readEntity<EntityRecord>(store, batch.context.name, row, false).created_at as string | undefined) ?? now;
  const record = { ...input, created_at: created, updated_at: now, version: row ? row.version + 1 : 1, deleted_at: null } as unknown as T;
  // Every kind's edge checks its input; this is the bound no record of any kind gets past.
  const issue = recordLimitIssue(record);
  if (issue) throw new SoftlogicError('INVALID_RECORD', `${kind.replace('_', ' ')} ${input.id}: ${issue.field}: ${issue.reason}`, { kind, id: input.id, issues: [issue] });
  batch.append(kind, 'put', record as unknown as EntityRecord, row ? row.off : null, { fresh: row === undefined });
  return record;
}

export function softDeleteEntity<T = EntityRecord>(store: EmbeddedStore, batch: WriteBatch, kind: RecordKind, id: string, now: string): T {
  const ctx = batch.context;
  const row = store.entities.get(ctx.ctx, kind, id);
  const label = kind.replace('_', ' ');
  if (!row) throw new SoftlogicError('NOT_FOUND', `${label} ${id} not found in context '${ctx.name}'`, { id, context: ctx.name, kind });
  if (row.deleted_at !== null) throw new SoftlogicError('ALREADY_DELETED', `${label} ${id} is already deleted`, { id, kind });
  const current = readEntity<EntityRecord>(store, ctx.name, row);
  const record: EntityRecord = { ...current, version: current.version + 1, updated_at: now, deleted_at: now };
  batch.append(kind, 'delete', record, row.off);
  return record as unknown as T;
}

export function restoreEntity<T = EntityRecord>(store: EmbeddedStore, batch: WriteBatch, kind: RecordKind, id: string, now: string): T {
  const ctx = batch.context;
  const row = store.entities.get(ctx.ctx, kind, id);
  const label = kind.replace('_', ' ');
  if (!row) {
    const purged = store.db.prepare('SELECT purged_at FROM purged WHERE ctx = ? AND kind = ? AND id = ?').pluck().get(ctx.ctx, kind, id) as string | undefined;
    if (purged) throw new SoftlogicError('PURGED', `${label} ${id} was deleted and then purged by compaction at ${purged}; it cannot be restored`, { id, purged_at: purged });
    throw new SoftlogicError('NOT_FOUND', `${label} ${id} not found in context '${ctx.name}'`, { id, context: ctx.name, kind });
  }
  if (row.deleted_at === null) throw new SoftlogicError('NOT_DELETED', `${label} ${id} is not deleted`, { id, kind });
  const current = readEntity<EntityRecord>(store, ctx.name, row);
  const record: EntityRecord = { ...current, version: current.version + 1, updated_at: now, deleted_at: null };
  batch.append(kind, 'restore', record, row.off);
  return record as unknown as T;
}
