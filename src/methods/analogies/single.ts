import { assertId, DEFAULT_CONTEXT } from '../../core/names.js';
import type { Analogy } from '../../core/records.js';
import { cutAtDepth, valueIssue } from '../../core/json-limits.js';
import { SoftlogicError } from '../../core/errors.js';

import type { EmbeddedStore } from '../../backend/embedded/embedded-store.js';
import { stageAnalogyValue } from './analogy-record.js';
import { readAnalogy } from '../../backend/embedded/record-lines.js';
import { putAnalogy, restoreAnalogy, softDeleteAnalogy } from './mutations.js';

/** Create or update one analogy (a batch of one). */
export function saveAnalogy(store: EmbeddedStore, input: unknown, context?: string): Analogy {
  // Validation fills defaults in place: work on a copy, never on the caller's object (and
  // structuredClone recurses: the depth is checked first).
  const deep = valueIssue(input);
  const staged = deep ? { issues: [deep] } : stageAnalogyValue(structuredClone(input), 1);
  if ('issues' in staged) {
    throw new SoftlogicError('INVALID_RECORD', `invalid analogy: ${staged.issues.map((i) => `${i.field}: ${i.reason}`).join('; ')}`, { issues: staged.issues });
  }
  if (!('item' in staged) || staged.item.op !== 'put') throw new SoftlogicError('INVALID_RECORD', 'expected an analogy, got a deletion');
  const own = staged.item.record.context;
  if (context !== undefined && own !== undefined && own !== context) {
    throw new SoftlogicError('INVALID_RECORD', `invalid analogy: context: is '${own}' but the request names context '${context}'`, { issues: [{ field: 'context', reason: 'differs from the requested context' }] });
  }
  const ctx = context ?? own ?? DEFAULT_CONTEXT;
  const record = staged.item.record;
  return store.write(ctx, (batch) => putAnalogy(store, batch, record, new Date().toISOString(), null));
}

export function deleteAnalogy(store: EmbeddedStore, id: string, context = DEFAULT_CONTEXT): Analogy {
  assertId(id);
  store.requireContext(context);
  const tombstone = store.write(context, (batch) => softDeleteAnalogy(store, batch, id, new Date().toISOString()));
  store.audit.record({ event: 'analogy_deleted', context, id, version: tombstone.version });
  // A record stored before the depth limit cannot be printed whole: the delete is done, so it
  // answers with the record cut at the limit (the log keeps it whole) rather than failing.
  const row = store.analogies.get(store.requireContext(context).ctx, id);
  if (!row) throw new SoftlogicError('NOT_FOUND', `analogy ${id} not found in context '${context}'`, { id, context });
  return cutAtDepth(readAnalogy(store, context, row, false));
}

export function restoreDeletedAnalogy(store: EmbeddedStore, id: string, context = DEFAULT_CONTEXT): Analogy {
  assertId(id);
  store.requireContext(context);
  const record = store.write(context, (batch) => restoreAnalogy(store, batch, id, new Date().toISOString()));
  store.audit.record({ event: 'analogy_restored', context, id, version: record.version });
  return record;
}

