import { SoftlogicError } from '../../core/errors.js';
import { assertId, DEFAULT_CONTEXT } from '../../core/names.js';
import type { Analogy } from '../../core/records.js';
import type { EmbeddedStore } from '../../backend/embedded/embedded-store.js';
import { seqOfKey } from '../../backend/embedded/sqlite-schema.js';
import { recordOfLine as analogyOfLine, readAnalogy } from '../../backend/embedded/record-lines.js';

/** The current version (deleted ones included: they carry deleted_at), falling back to parents. */
export function getAnalogy(store: EmbeddedStore, id: string, context = DEFAULT_CONTEXT): Analogy {
  assertId(id);
  for (const ctx of store.contextChain(context)) {
    const row = store.analogies.get(ctx.ctx, id);
    if (row) return readAnalogy(store, ctx.name, row);
  }
  throw new SoftlogicError('NOT_FOUND', `analogy ${id} not found in context '${context}' or its parents`, { id, context });
}

/** Every version still in the log, newest first, following each line's `prev` offset. */
export function analogyHistory(store: EmbeddedStore, id: string, context = DEFAULT_CONTEXT): Array<Analogy & { op: string }> {
  assertId(id);
  const ctx = store.requireContext(context);
  const row = store.analogies.get(ctx.ctx, id);
  if (!row) throw new SoftlogicError('NOT_FOUND', `analogy ${id} not found in context '${context}'`, { id, context });
  const versions: Array<Analogy & { op: string }> = [];
  let version = analogyOfLine(store, context, store.readLogLine(context, row.off, row.len, seqOfKey(row.key)));
  while (true) {
    versions.push({ ...version.record, op: version.op });
    if (version.prev === null) break;
    version = analogyOfLine(store, context, store.readLogLineAt(context, version.prev));
  }
  return versions;
}
