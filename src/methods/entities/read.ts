import { SoftlogicError } from '../../core/errors.js';
import type { EntityRecord, RecordKind } from '../../core/records.js';
import type { Backend } from '../../backend/backend.js';

/**
 * Reading entity records (every kind but analogies). Lookups by context fall back along the
 * context chain (the context first, then its parents).
 */
export interface Located<T> {
  /** the context that holds the record (the one asked for or an ancestor) */
  context: string;
  record: T;
}

/** The entity `id` of `kind` in `context` or its nearest ancestor holding it (deleted ones too). */
export async function findEntity<T = EntityRecord>(backend: Backend, kind: RecordKind, id: string, context: string): Promise<Located<T> | undefined> {
  for (const ctx of await backend.contexts.chain(context)) {
    const record = await backend.records.getEntity<T>(ctx.name, kind, id);
    if (record !== undefined) return { context: ctx.name, record };
  }
  return undefined;
}

export async function requireEntity<T = EntityRecord>(backend: Backend, kind: RecordKind, id: string, context: string, label: string = kind): Promise<Located<T>> {
  const found = await findEntity<T>(backend, kind, id, context);
  if (!found) throw new SoftlogicError('NOT_FOUND', `${label.replace('_', ' ')} ${id} not found in context '${context}' or its parents`, { id, context, kind });
  return found;
}

/** Active (or all) records of one kind in one context (not its parents), in write order. */
export function listEntities<T = EntityRecord>(backend: Backend, kind: RecordKind, context: string, includeDeleted = false): Promise<T[]> {
  return backend.records.queryEntities<T>(context, kind, { includeDeleted });
}

/** Active records of one kind over a context and its parents (a nearer one, deleted or not, hides the same id). */
export async function listEntitiesInChain<T extends { id: string }>(backend: Backend, kind: RecordKind, context: string): Promise<T[]> {
  const seen = new Set<string>();
  const out: T[] = [];
  for (const ctx of await backend.contexts.chain(context)) {
    for (const record of await backend.records.queryEntities<T & { deleted_at: string | null }>(ctx.name, kind, { includeDeleted: true })) {
      if (seen.has(record.id)) continue;
      seen.add(record.id);
      if (record.deleted_at === null) out.push(record);
    }
  }
  return out;
}
