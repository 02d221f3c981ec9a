import type { Analogy, LogOp, RecordKind } from '../core/records.js';
import type { AnalogyFilter } from '../core/schemas.js';
import type { RecordRef, StoredVersion } from './write-batch.js';

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

/** One version of a record as its history lists it. */
export interface HistoryEntry<T> {
  op: LogOp;
  record: T;
  ref: RecordRef;
}

/** A record a filter selected: its id and the version that matched. */
export interface MatchedRecord {
  id: string;
  ref: RecordRef;
}

/**
 * Reads, each in one context (callers walk the context chain where lookups fall back to the
 * parents). Analogy filters arrive validated (methods/analogies/filter.ts); a missing
 * `filter.context` is 'default'; a missing context is CONTEXT_NOT_FOUND. Streams are async
 * iterables of pages (arrays of a few thousand), so that a million records cost a few hundred
 * awaits, not a million; each stream reads one consistent snapshot and never blocks writers.
 */
export interface RecordReader {
  /** the current version (a deleted one merged with what it deletes: it carries deleted_at) */
  getAnalogy(context: string, id: string): Promise<Analogy | undefined>;
  /** matching analogies, best quality first (then newest write), `limit` (default 100) after `offset` */
  queryAnalogies(filter: AnalogyFilter): Promise<Analogy[]>;
  /**
   * queryAnalogies' records as JSON text (each parses to the record queryAnalogies returns, the
   * same errors), for answers assembled without parsing and serialising every record again
   */
  queryAnalogyJson(filter: AnalogyFilter): Promise<string[]>;
  countAnalogies(filter: AnalogyFilter): Promise<number>;
  /** every matching analogy as its stored JSON text, in write order, in pages */
  streamAnalogyJson(filter: AnalogyFilter): AsyncIterable<string[]>;
  /** the id and matching version of every matching analogy, in write order, in pages */
  matchAnalogies(filter: AnalogyFilter): AsyncIterable<MatchedRecord[]>;

  /** the current version of an entity (deleted ones included: they carry deleted_at) */
  getEntity<T = Record<string, unknown>>(context: string, kind: RecordKind, id: string): Promise<T | undefined>;
  /** the current versions of one entity kind in one context that match `query` */
  queryEntities<T = Record<string, unknown>>(context: string, kind: RecordKind, query?: EntityQuery): Promise<T[]>;
  /** every active record of one entity kind as its stored JSON text, in write order, in pages */
  streamEntityJson(context: string, kind: RecordKind): AsyncIterable<string[]>;

  /** the current version of a record of any kind, as a write batch would see it */
  current<T = Record<string, unknown>>(context: string, kind: RecordKind, id: string): Promise<StoredVersion<T> | undefined>;
  /** every version of a record still stored, newest first (undefined when the record is unknown) */
  history<T = Record<string, unknown>>(context: string, kind: RecordKind, id: string): Promise<Array<HistoryEntry<T>> | undefined>;
  /** when compaction purged this deleted record (so it cannot be restored), if it did */
  purgedAt(context: string, kind: RecordKind, id: string): Promise<string | undefined>;
  /**
   * An opaque mark that changes whenever a batch commits in one of `contexts` (any process), so
   * that something derived from their records can be cached until then. Missing contexts count
   * as empty.
   */
  changeMark(contexts: readonly string[]): Promise<string>;
}
