import { assertId, DEFAULT_CONTEXT } from '../../core/names.js';
import type { Analogy } from '../../core/records.js';
import { cutAtDepth, valueIssue } from '../../core/json-limits.js';
import { SoftlogicError } from '../../core/errors.js';
import type { Backend } from '../../backend/backend.js';
import { stageAnalogyValue } from './analogy-record.js';
import { putAnalogy, restoreAnalogy, softDeleteAnalogy } from './mutations.js';
import { restoreFailure } from '../entities/mutations.js';

/** Create or update one analogy (a batch of one). */
export async function saveAnalogy(backend: Backend, input: unknown, context?: string): Promise<Analogy> {
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
  return backend.write(ctx, (batch) => putAnalogy(batch, record, new Date().toISOString(), null), { prefetch: [['analogy', record.id]] });
}

export async function deleteAnalogy(backend: Backend, id: string, context = DEFAULT_CONTEXT): Promise<Analogy> {
  assertId(id);
  await backend.contexts.require(context);
  const deleted = await backend.write(
    context,
    (batch) => {
      const prev = batch.current<Analogy>('analogy', id);
      const tombstone = softDeleteAnalogy(batch, id, new Date().toISOString(), prev);
      return prev ? { ...prev.record(), ...tombstone } : undefined;
    },
    { prefetch: [['analogy', id]] },
  );
  if (!deleted) throw new SoftlogicError('NOT_FOUND', `analogy ${id} not found in context '${context}'`, { id, context });
  await backend.audit.record({ event: 'analogy_deleted', context, id, version: deleted.version });
  // A record stored before the depth limit cannot be printed whole: the delete is done, so it
  // answers with the record cut at the limit (the log keeps it whole) rather than failing.
  return cutAtDepth(deleted);
}

export async function restoreDeletedAnalogy(backend: Backend, id: string, context = DEFAULT_CONTEXT): Promise<Analogy> {
  assertId(id);
  await backend.contexts.require(context);
  const record = await backend
    .write(context, (batch) => restoreAnalogy(batch, id, new Date().toISOString()), { prefetch: [['analogy', id]] })
    .catch((err: unknown) => restoreFailure(backend, context, 'analogy', id, err));
  await backend.audit.record({ event: 'analogy_restored', context, id, version: record.version });
  return record;
}
