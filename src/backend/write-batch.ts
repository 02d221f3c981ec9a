import type { ContextInfo, LogOp, RecordKind } from '../core/records.js';

/**
 * An opaque reference to one stored version of a record. Only the backend that handed it out
 * can resolve it (the embedded one keeps a log position in it, PostgreSQL a row id); operations
 * pass it back, compare it for equality (two versions of a record never share one), and never
 * look inside.
 */
export type RecordRef = string & { readonly __recordRef: unique symbol };

/** The current version of a record as a write batch sees it (tombstones included). */
export interface StoredVersion<T = Record<string, unknown>> {
  readonly kind: RecordKind;
  readonly id: string;
  readonly version: number;
  readonly deleted: boolean;
  readonly ref: RecordRef;
  /**
   * The whole record (a deleted analogy merged with the version its tombstone deletes). Not
   * checked against the nesting limit: a caller that hands it out checks it (assertStoredValue).
   */
  record(): T;
}

/** Progress a batch carries for its workflow, committed with it. */
export interface BatchProgress {
  workflowId: string;
  processedUpTo: number;
  /**
   * Where the workflow must stand for the batch to commit: when another processor moved it, the
   * batch is refused (CONFLICT) with nothing written, so no chunk is ever applied twice.
   */
  processedFrom?: number;
  /** the items this batch refused, added to the workflow's error log with it */
  errors?: string[];
}

export interface WriteOptions {
  /** the records `fn` will read through `batch.current` (PostgreSQL loads and locks them first) */
  prefetch?: ReadonlyArray<readonly [RecordKind, string]>;
}

export interface ChangeOptions {
  /** the caller minted the id in this batch, so no earlier version can exist */
  fresh?: boolean;
  /** the record already serialised (stored byte for byte) */
  json?: string;
}

/**
 * What a write callback may do inside one batch. Each change is one entry of the context's change
 * log, pointing at the version it supersedes (`prev`), so history and rollback need no more.
 */
export interface WriteBatch {
  readonly context: ContextInfo;
  /** the current version of a record in this context (this batch's own changes included) */
  current<T = Record<string, unknown>>(kind: RecordKind, id: string): StoredVersion<T> | undefined;
  /**
   * Writes a new version. `prev` is the version it supersedes, as `current` returned it
   * (undefined for a new record). An analogy's 'delete' stores only its tombstone (id, context,
   * version, updated_at, deleted_at): readers merge it with `prev`; every other change stores the
   * whole record.
   */
  change(kind: RecordKind, op: LogOp, record: object, prev: StoredVersion<unknown> | undefined, options?: ChangeOptions): void;
  setProgress(progress: BatchProgress): void;
  /** changes written so far in this batch */
  readonly size: number;
}
