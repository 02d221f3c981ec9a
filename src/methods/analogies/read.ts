import type { Analogy } from '../../core/records.js';
import { recordJsonOf } from '../../store/embedded/log-format.js';
import type { EmbeddedStore } from '../../store/embedded/embedded-store.js';
import { seqOfKey } from '../../store/embedded/sqlite-schema.js';

export interface LocatedRow {
  key: number;
  off: number;
  len: number;
}

/** The record a row points at, read from its context's log. */
export function readRecordJson(store: EmbeddedStore, context: string, row: LocatedRow): string {
  return recordJsonOf(store.readLogLine(context, row.off, row.len, seqOfKey(row.key)));
}

export function readAnalogy(store: EmbeddedStore, context: string, row: LocatedRow): Analogy {
  return JSON.parse(readRecordJson(store, context, row)) as Analogy;
}
