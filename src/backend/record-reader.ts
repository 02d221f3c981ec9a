import type { Analogy, RecordKind } from '../core/records.js';
import type { AnalogyFilter } from '../core/schemas.js';
import type { StoredVersion } from './write-batch.js';

/**
 * Which records of one entity kind (every kind but analogies) a listing returns, in one context
 * (not its parents: callers walk the chain, a nearer context hiding the same id).
 */
export interface EntityQuery {
  /** tombstoned records too (default: active ones only) */
  includeDeleted?: boolean;
  /** only records whose `name` field is exactly this */
  name?: string;
  /**
   * only records whose search text (name, description, disambiguation, definition, gloss; lower
   * case) contains one of these lower-case strings
   */
  textAnyOf?: readonly string[];
  /** 'written' (default): oldest write of the current versions first; 'newest': the reverse; 'name': by name, then id; 'shortest-id': by id length, then id */
  order?: 'written' | 'newest' | 'name' | 'shortest-id';
  limit?: number;
}

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
  /** the current versions of one entity kind in one context that match `query` */
  queryEntities<T = Record<string, unknown>>(context: string, kind: RecordKind, query?: EntityQuery): Promise<T[]>;
  /**
   * An opaque mark that changes whenever a batch commits in one of `contexts` (any process), so
   * that something derived from their records can be cached until then. Missing contexts count
   * as empty.
   */
  changeMark(contexts: readonly string[]): Promise<string>;
}
