import type { Analogy, AnalogyTombstone, LogOp } from '../../core/records.js';
import { SoftlogicError } from '../../core/errors.js';
import { assertStoredValue, textWithinValueLimits } from '../../core/json-limits.js';
import { decodeLine, recordJsonOf } from './log-format.js';
import type { EmbeddedStore } from './embedded-store.js';
import { seqOfKey } from './sqlite-schema.js';

/** Where the current line of a record is: its row key (the seq of its first line), offset, length. */
export interface LocatedRow {
  key: number;
  off: number;
  len: number;
}

/**
 * A tombstone line holds only what a delete changes (version, updated_at, deleted_at); the
 * rest of the record is the version its `prev` points at. Merging the two gives the full
 * deleted record, so a delete costs one short line instead of a copy of the record.
 */
export function isTombstone(record: Analogy | AnalogyTombstone): record is AnalogyTombstone {
  return !('source_domain' in record);
}

function mergeTombstone(store: EmbeddedStore, context: string, tombstone: AnalogyTombstone, prev: number | null): Analogy {
  if (prev === null) throw new Error(`tombstone of ${tombstone.id} has no previous version`);
  const line = decodeLine(store.readLogLineAt(context, prev));
  if (!line || line.type !== 'record') throw new Error(`previous version of ${tombstone.id} is unreadable`);
  const previous = JSON.parse(line.recordJson) as Analogy | AnalogyTombstone;
  const full = isTombstone(previous) ? mergeTombstone(store, context, previous, line.prev) : previous;
  return { ...full, ...tombstone };
}

/** The full record of a log line (an analogy's tombstone merged with the version it deletes). */
export function recordOfLine<T = Analogy>(store: EmbeddedStore, context: string, lineText: string, checkDepth = true): { record: T; op: LogOp; prev: number | null } {
  const line = decodeLine(lineText);
  if (!line || line.type !== 'record') throw new Error('not a record line');
  const parsed = JSON.parse(line.recordJson) as Analogy | AnalogyTombstone;
  const record = line.kind === 'analogy' && isTombstone(parsed) ? mergeTombstone(store, context, parsed, line.prev) : parsed;
  const own = (record as { kind?: unknown }).kind;
  const kind = line.kind === 'analogy' ? 'analogy' : typeof own === 'string' ? own : 'record';
  return { record: (checkDepth ? assertStoredValue(record, { kind, id: record.id, context }) : record) as T, op: line.op, prev: line.prev };
}

function analogyOfLine(context: string, store: EmbeddedStore, row: LocatedRow & { id?: string }, line: string, checkDepth: boolean): Analogy {
  const record = recordOfLine<Analogy>(store, context, line, checkDepth).record;
  if (row.id !== undefined && record.id !== row.id) {
    throw new SoftlogicError('CONFLICT', `the log of '${context}' changed under this read (compaction); retry`, { context, id: row.id });
  }
  return record;
}

/** `checkDepth: false` only for a caller that reads a field and never serialises the record. */
export function readAnalogy(store: EmbeddedStore, context: string, row: LocatedRow & { id?: string }, checkDepth = true): Analogy {
  return analogyOfLine(context, store, row, store.readLogLine(context, row.off, row.len, seqOfKey(row.key)), checkDepth);
}

/**
 * readAnalogy's record as JSON text. The line's own record text when it certainly is that record
 * (the row's id first, not a tombstone, within the value limits), so a query answer is assembled
 * without parsing and serialising each record again; otherwise readAnalogy's record serialised
 * (a tombstone merged with what it deletes; the same errors as readAnalogy).
 */
export function readAnalogyJson(store: EmbeddedStore, context: string, row: LocatedRow & { id: string }): string {
  const line = store.readLogLine(context, row.off, row.len, seqOfKey(row.key));
  const text = recordJsonOf(line);
  // A tombstone holds id, context, version and dates only: no source_domain key.
  if (text.startsWith(`{"id":${JSON.stringify(row.id)},`) && text.includes('"source_domain":') && textWithinValueLimits(text)) return text;
  return JSON.stringify(analogyOfLine(context, store, row, line, true));
}

/** An entity record (every kind but analogies: lines hold whole records). */
export function readEntity<T = Record<string, unknown>>(store: EmbeddedStore, context: string, row: LocatedRow, checkDepth = true): T {
  const record = JSON.parse(recordJsonOf(store.readLogLine(context, row.off, row.len, seqOfKey(row.key)))) as T & { id?: unknown; kind?: unknown };
  if (!checkDepth) return record;
  return assertStoredValue(record, { kind: typeof record.kind === 'string' ? record.kind : 'record', id: record.id, context });
}
