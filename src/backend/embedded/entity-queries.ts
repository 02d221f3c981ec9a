import type { RecordKind } from '../../core/records.js';
import type { EntityQuery } from '../record-reader.js';
import type { ContextRow, EmbeddedStore } from './embedded-store.js';
import { CONTEXT_ROWS, contextKeyRange } from './sqlite-schema.js';

/** Where the current line of one entity record is (see embedded-record-reader.ts for reading it). */
export interface EntityLine {
  key: number;
  off: number;
  len: number;
}

function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

const ORDER: Record<NonNullable<EntityQuery['order']>, string> = {
  written: 'key',
  newest: 'key DESC',
  name: 'name, id',
  'shortest-id': 'length(id), id',
};

/** The lines of the entity records of one context matching `query` (RecordReader.queryEntities). */
export function queryEntityLines(store: EmbeddedStore, ctx: ContextRow, kind: RecordKind, query: EntityQuery = {}): EntityLine[] {
  const order = query.order ?? 'written';
  const where: string[] = [];
  const params: unknown[] = [];
  // A name lookup goes through entities_name; a listing in write order scans the context's rowid
  // range (a `ctx = ?` condition would let SQLite pick an index and sort).
  if (query.name !== undefined || order === 'name' || order === 'shortest-id') {
    where.push('ctx = ?', 'kind = ?');
    params.push(ctx.ctx, kind);
  } else {
    where.push(CONTEXT_ROWS, 'kind = ?');
    params.push(...contextKeyRange(ctx.ctx), kind);
  }
  if (!query.includeDeleted) where.push('deleted_at IS NULL');
  if (query.name !== undefined) {
    where.push('name = ?');
    params.push(query.name);
  }
  if (query.textAnyOf !== undefined) {
    if (query.textAnyOf.length === 0) return [];
    where.push(`(${query.textAnyOf.map(() => `search LIKE ? ESCAPE '\\'`).join(' OR ')})`);
    params.push(...query.textAnyOf.map((t) => `%${escapeLike(t)}%`));
  }
  const from = where[0] === CONTEXT_ROWS ? 'entities NOT INDEXED' : 'entities';
  const sql = `SELECT key, off, len FROM ${from} WHERE ${where.join(' AND ')} ORDER BY ${ORDER[order]}${query.limit === undefined ? '' : ' LIMIT ?'}`;
  if (query.limit !== undefined) params.push(query.limit);
  return store.statement(sql).all(...params) as EntityLine[];
}

/** Each context's applied watermark: it moves with every committed batch, in any process. */
export function changeMarkOf(store: EmbeddedStore, contexts: readonly string[]): string {
  return contexts
    .map((name) => {
      const row = store.context(name);
      return row ? `${row.ctx}:${row.applied_seq}:${row.applied_off}` : '-';
    })
    .join(',');
}
