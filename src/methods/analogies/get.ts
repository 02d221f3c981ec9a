import { SoftlogicError } from '../../core/errors.js';
import { assertId, DEFAULT_CONTEXT } from '../../core/names.js';
import type { Analogy, LogOp } from '../../core/records.js';
import type { Backend } from '../../backend/backend.js';

/** The current version (deleted ones included: they carry deleted_at), falling back to parents. */
export async function getAnalogy(backend: Backend, id: string, context = DEFAULT_CONTEXT): Promise<Analogy> {
  assertId(id);
  for (const ctx of await backend.contexts.chain(context)) {
    const record = await backend.records.getAnalogy(ctx.name, id);
    if (record) return record;
  }
  throw new SoftlogicError('NOT_FOUND', `analogy ${id} not found in context '${context}' or its parents`, { id, context });
}

/** Every version still stored, newest first, each with the change that made it. */
export async function analogyHistory(backend: Backend, id: string, context = DEFAULT_CONTEXT): Promise<Array<Analogy & { op: LogOp }>> {
  assertId(id);
  const versions = await backend.records.history<Analogy>(context, 'analogy', id);
  if (!versions) throw new SoftlogicError('NOT_FOUND', `analogy ${id} not found in context '${context}'`, { id, context });
  return versions.map((v) => ({ ...v.record, op: v.op }));
}
