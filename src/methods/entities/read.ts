import { SoftlogicError } from '../../core/errors.js';
import { assertStoredValue } from '../../core/json-limits.js';
import type { RecordKind } from '../../core/records.js';
import type { EmbeddedStore } from '../../backend/embedded/embedded-store.js';
import type { EntityRecord, EntityRow } from '../../backend/embedded/entity-index.js';
import { recordJsonOf } from '../../backend/embedded/log-format.js';
import { CONTEXT_ROWS, contextKeyRange, seqOfKey } from '../../backend/embedded/sqlite-schema.js';

/**
 * Reading entity records (every kind but analogies) through the generic entities index: the row
 * says where the current line is, the log holds the record. Lookups by context fall back along
 * the context chain (the context first, then its parents).
 */
/** `checkDepth: false` only for a caller that reads a field and never serialises the record. */
export function readEntity<T = EntityRecord>(store: EmbeddedStore, context: string, row: { key: number; off: number; len: number }, checkDepth = true): T {
  const record = JSON.parse(recordJsonOf(store.readLogLine(context, row.off, row.len, seqOfKey(row.key)))) as T & { id?: unknown; kind?: unknown };
  if (!checkDepth) return record;
  return assertStoredValue(record, { kind: typeof record.kind === 'string' ? record.kind : 'record', id: record.id, context });
}

export interface Located<T> {
  context: string;
  row: EntityRow;
  record: T;
}

/** The entity `id` of `kind` in `context` or its nearest ancestor holding it (deleted ones too). */
export function findEntity<T = EntityRecord>(store: EmbeddedStore, kind: RecordKind, id: string, context: string): Located<T> | undefined {
  for (const ctx of store.contextChain(context)) {
    const row = store.entities.get(ctx.ctx, kind, id);
    if (row) return { context: ctx.name, row, record: readEntity<T>(store, ctx.name, row) };
  }
  return undefined;
}

export function requireEntity<T = EntityRecord>(store: EmbeddedStore, kind: RecordKind, id: string, context: string, label: string = kind): Located<T> {
  const found = findEntity<T>(store, kind, id, context);
  if (!found) throw new SoftlogicError('NOT_FOUND', `${label.replace('_', ' ')} ${id} not found in context '${context}' or its parents`, { id, context, kind });
  return found;
}

/** Active (or all) records of one kind in one context (not its parents), in log order. */
export function* listEntities<T = EntityRecord>(store: EmbeddedStore, kind: RecordKind, context: string, includeDeleted = false): Generator<T> {
  const ctx = store.requireContext(context);
  const sql = `SELECT key, off, len FROM entities NOT INDEXED WHERE ${CONTEXT_ROWS} AND kind = ?${includeDeleted ? '' : ' AND deleted_at IS NULL'} ORDER BY key`;
  const rows = store.db.prepare(sql).all(...contextKeyRange(ctx.ctx), kind) as Array<{ key: number; off: number; len: number }>;
  for (const row of rows) yield readEntity<T>(store, ctx.name, row);
}

/** Active records of one kind over a context and its parents (a nearer one hides the same id). */
export function listEntitiesInChain<T extends { id: string }>(store: EmbeddedStore, kind: RecordKind, context: string): T[] {
  const seen = new Set<string>();
  const out: T[] = [];
  for (const ctx of store.contextChain(context)) {
    const rows = store.db.prepare(`SELECT key, off, len, id, deleted_at FROM entities NOT INDEXED WHERE ${CONTEXT_ROWS} AND kind = ? ORDER BY key`).all(...contextKeyRange(ctx.ctx), kind) as Array<{
      key: number;
      off: number;
      len: number;
      id: string;
      deleted_at: number | null;
    }>;
    for (const row of rows) {
      if (seen.has(row.id)) continue;
      seen.add(row.id);
      if (row.deleted_at === null) out.push(readEntity<T>(store, ctx.name, row));
    }
  }
  return out;
}
