import { assertId, DEFAULT_CONTEXT } from '../../core/names.js';
import type { Analogy } from '../../core/records.js';
import { SoftlogicError } from '../../core/errors.js';

import type { EmbeddedStore } from '../../store/embedded/embedded-store.js';
import { stageAnalogyValue } from './analogy-record.js';
import { getAnalogy } from './get.js';
import { putAnalogy, restoreAnalogy, softDeleteAnalogy } from './mutations.js';

/** Create or update one analogy (a batch of one). */
export function saveAnalogy(store: EmbeddedStore, input: unknown, context?: string): Analogy {
  // Validation fills defaults in place: work on a copy, never on the caller's object.
  const staged = stageAnalogyValue(structuredClone(input), 1);
  if ('issues' in staged) {
    throw new SoftlogicError('INVALID_RECORD', `invalid analogy: ${staged.issues.map((i) => `${i.field}: ${i.reason}`).join('; ')}`, { issues: staged.issues });
  }
  if (!('item' in staged) || staged.item.op !== 'put') throw new SoftlogicError('INVALID_RECORD', 'expected an analogy, got a deletion');
  const ctx = context ?? staged.item.record.context ?? DEFAULT_CONTEXT;
  const record = staged.item.record;
  return store.write(ctx, (batch) => putAnalogy(store, batch, record, new Date().toISOString(), null));
}

export function deleteAnalogy(store: EmbeddedStore, id: string, context = DEFAULT_CONTEXT): Analogy {
  assertId(id);
  store.requireContext(context);
  const tombstone = store.write(context, (batch) => softDeleteAnalogy(store, batch, id, new Date().toISOString()));
  store.audit.record({ event: 'analogy_deleted', context, id, version: tombstone.version });
  return getAnalogy(store, id, context);
}

export function restoreDeletedAnalogy(store: EmbeddedStore, id: string, context = DEFAULT_CONTEXT): Analogy {
  assertId(id);
  store.requireContext(context);
  const record = store.write(context, (batch) => restoreAnalogy(store, batch, id, new Date().toISOString()));
  store.audit.record({ event: 'analogy_restored', context, id, version: record.version });
  return record;
}

