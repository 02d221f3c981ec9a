import { assertContextName, assertId, DEFAULT_CONTEXT } from '../../core/names.js';
import type { RecordKind } from '../../core/records.js';
import type { EmbeddedStore } from '../../backend/embedded/embedded-store.js';
import type { EntityRecord } from '../../backend/embedded/entity-index.js';
import { restoreEntity, softDeleteEntity } from './mutations.js';

/** Soft-deletes one entity of any kind (a batch of one) and audits it. */
export function deleteEntityById<T = EntityRecord>(store: EmbeddedStore, kind: RecordKind, id: string, context = DEFAULT_CONTEXT): T {
  assertId(id);
  store.requireContext(assertContextName(context));
  const record = store.write(context, (batch) => softDeleteEntity(store, batch, kind, id, new Date().toISOString()));
  store.audit.record({ event: `${kind}_deleted`, context, id, version: record.version });
  return record as T;
}

export function restoreEntityById<T = EntityRecord>(store: EmbeddedStore, kind: RecordKind, id: string, context = DEFAULT_CONTEXT): T {
  assertId(id);
  store.requireContext(assertContextName(context));
  const record = store.write(context, (batch) => restoreEntity(store, batch, kind, id, new Date().toISOString()));
  store.audit.record({ event: `${kind}_restored`, context, id, version: record.version });
  return record as T;
}
