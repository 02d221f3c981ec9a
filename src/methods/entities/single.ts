import { assertContextName, assertId, DEFAULT_CONTEXT } from '../../core/names.js';
import type { EntityRecord, RecordKind } from '../../core/records.js';
import type { Backend } from '../../backend/backend.js';
import { restoreEntity, restoreFailure, softDeleteEntity } from './mutations.js';

/** Soft-deletes one entity of any kind (a batch of one) and audits it. */
export async function deleteEntityById<T = EntityRecord>(backend: Backend, kind: RecordKind, id: string, context = DEFAULT_CONTEXT): Promise<T> {
  assertId(id);
  await backend.contexts.require(assertContextName(context));
  const record = await backend.write(context, (batch) => softDeleteEntity<EntityRecord>(batch, kind, id, new Date().toISOString()), { prefetch: [[kind, id]] });
  await backend.audit.record({ event: `${kind}_deleted`, context, id, version: record.version });
  return record as T;
}

export async function restoreEntityById<T = EntityRecord>(backend: Backend, kind: RecordKind, id: string, context = DEFAULT_CONTEXT): Promise<T> {
  assertId(id);
  await backend.contexts.require(assertContextName(context));
  const record = await backend
    .write(context, (batch) => restoreEntity<EntityRecord>(batch, kind, id, new Date().toISOString()), { prefetch: [[kind, id]] })
    .catch((err: unknown) => restoreFailure(backend, context, kind, id, err));
  await backend.audit.record({ event: `${kind}_restored`, context, id, version: record.version });
  return record as T;
}
