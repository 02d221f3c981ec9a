import { SoftlogicError } from '../../core/errors.js';
import { assertContextName, assertId, DEFAULT_CONTEXT } from '../../core/names.js';
import type { Analogy } from '../../core/records.js';
import type { EmbeddedStore } from '../../store/embedded/embedded-store.js';
import { decodeLine } from '../../store/embedded/log-format.js';
import { seqOfKey } from '../../store/embedded/sqlite-schema.js';
import { readAnalogy } from './read.js';

/** The current version (deleted ones included: they carry deleted_at), falling back to parents. */
export function getAnalogy(store: EmbeddedStore, id: string, context = DEFAULT_CONTEXT): Analogy {
  assertId(id);
  if (!store.context(assertContextName(context))) throw new SoftlogicError('NOT_FOUND', `analogy ${id} not found: context '${context}' is empty`, { id, context });
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
  const log = store.log(context);
  const versions: Array<Analogy & { op: string }> = [];
  let line = decodeLine(log.readLine(row.off, row.len, seqOfKey(row.key)));
  while (line && line.type === 'record') {
    versions.push({ ...(JSON.parse(line.recordJson) as Analogy), op: line.op });
    if (line.prev === null) break;
    line = decodeLine(readLineAt(store, context, line.prev));
  }
  return versions;
}

function readLineAt(store: EmbeddedStore, context: string, off: number): string {
  // Lines of the original schema are well under 64 KiB (LIMITS.recordBytes) plus the wrapper.
  const text = store.log(context).readAt(off, 70_000);
  const nl = text.indexOf('\n');
  return nl >= 0 ? text.slice(0, nl) : text;
}
