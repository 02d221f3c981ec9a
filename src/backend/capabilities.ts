import type { StagingWriter, StoredWorkflow } from './workflow-table.js';

/**
 * What only some backends can do, each optional: operations test for it and otherwise take the
 * generic path through `Backend.write`. The embedded backend's prepared import (items staged on
 * worker threads, chunks encoded on another thread and appended by its log writer thread) is the
 * first.
 */
export interface BackendCapabilities {
  preparedImport?: PreparedImport;
}

/** Work started ahead (chunks being encoded while the items are staged); close() stops it. */
export interface PreparedAhead {
  close(): Promise<void>;
}

/** One chunk encoded ahead, for the items [start, start + count). */
export interface PreparedChunkCommit {
  readonly start: number;
  readonly count: number;
  /**
   * Commits the chunk with the workflow's progress, atomically (CONFLICT when another processor
   * moved the workflow). False when the store moved under it (or the chunk holds what only the
   * generic path applies): nothing was written, and the rest is applied the generic way. A
   * backend whose commit is a round trip (PostgreSQL) answers with a promise.
   */
  commit(): boolean | Promise<boolean>;
}

/** Prepared chunks in order; null when the preparation cannot go on (the rest goes the generic way). */
export interface PreparedRun extends AsyncIterable<PreparedChunkCommit | null> {
  close(): Promise<void>;
}

export interface BulkLoad {
  /** builds what the load left out (the query indexes) */
  end(): void | Promise<void>;
  /** makes ready for items applied one by one from item `from` (after the prepared chunks, or without them): builds what they look records up by */
  beforeItemByItem?(from: number): void | Promise<void>;
}

export interface PreparedImport {
  /**
   * A staging writer for an analogy import whose chunks are encoded from its first items on,
   * while the rest are still being staged (handed to `run` as `ahead`).
   */
  stageAhead(workflowId: string, target: { context: string; batchSize: number }): { writer: StagingWriter; ahead: PreparedAhead };
  /**
   * Applies a workflow's staged items from `from` in chunks prepared on another thread, or null
   * when this workflow is not one it prepares (type, size). `ahead`: chunks encoded while staging.
   */
  run(workflow: StoredWorkflow, from: number, options: { batchSize: number; ahead: PreparedAhead | null }): PreparedRun | null;
  /**
   * A large analogy load into a store not much larger than itself (or one the backend finds
   * cheaper to re-index than to maintain): drops the query indexes now, builds them at end()
   * (queries meanwhile scan); null when not worth it. `interruptible`: the caller may end the
   * load early because queries arrived (ProcessOptions.endBulkLoadWhen).
   */
  beginBulkLoad(workflow: StoredWorkflow, incoming: number, options: { interruptible: boolean }): BulkLoad | null | Promise<BulkLoad | null>;
}
