import type { Analogy, RecordKind } from '../core/records.js';
import type { AnalogyFilter } from '../core/schemas.js';
import type { StoredVersion } from './write-batch.js';

/**
 * Reads. Streams are async iterables of pages (arrays), so that a million records cost a few
 * thousand awaits, not a million. Owners: refine (entity filters, history, keys) as the methods move.
 */
export interface RecordReader {
  getAnalogy(context: string, id: string): Promise<Analogy | undefined>;
  queryAnalogies(filter: AnalogyFilter): Promise<Analogy[]>;
  countAnalogies(filter: AnalogyFilter): Promise<number>;
  /** every matching active analogy as its stored JSON text, in pages */
  streamAnalogyJson(filter: AnalogyFilter): AsyncIterable<string[]>;
  current<T = Record<string, unknown>>(context: string, kind: RecordKind, id: string): Promise<StoredVersion<T> | undefined>;
  /** every version of a record, oldest first */
  history<T = Record<string, unknown>>(context: string, kind: RecordKind, id: string): Promise<T[]>;
}
