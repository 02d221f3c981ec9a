import type { FieldIssue } from '../core/schemas.js';
import type { StagingTarget, StagingWriter, StoredWorkflow } from './workflow-table.js';

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

/** What staging one block of an input file on a worker thread came to. */
export interface StagedBlockOutcome {
  /** items staged */
  count: number;
  /** lines refused, with their issues (line numbers from the block's first line) */
  rejected: number;
  issues: FieldIssue[];
  /** lenient only: the refused lines, unchanged, newline-terminated */
  rejects: string;
}

/** A staging writer that also stages a whole file on worker threads. */
export interface ParallelStaging extends StagingWriter {
  /**
   * Stages `file`, handing each block's outcome to `accept` in file order; the block's items are
   * kept when accept answers true (a strict import stops keeping them at the first refusal).
   */
  stageFile(file: string, target: StagingTarget, options: { lenient: boolean; maxIssues: number }, accept: (block: StagedBlockOutcome, firstLine: number) => boolean): Promise<void>;
  /** the chunks encoded while staging (handed to `PreparedImport.run`), or null */
  readonly ahead: PreparedAhead | null;
}

/** One chunk encoded ahead, for the items [start, start + count). */
export interface PreparedChunkCommit {
  readonly start: number;
  readonly count: number;
  /**
   * Commits the chunk with the workflow's progress, atomically (CONFLICT when another processor
   * moved the workflow). False when the store moved under it: nothing was written, and the rest
   * is applied the generic way.
   */
  commit(): boolean;
}

/** Prepared chunks in order; null when the preparation cannot go on (the rest goes the generic way). */
export interface PreparedRun extends AsyncIterable<PreparedChunkCommit | null> {
  close(): Promise<void>;
}

export interface BulkLoad {
  /** builds what the load left out (the query indexes) */
  end(): void;
}

export interface PreparedImport {
  /** whether an analogy file (plain JSON lines) is large enough to be staged on worker threads */
  stagesInParallel(file: string): boolean;
  /**
   * A writer for an analogy import staged with `stageFile`; with `encodeAhead`, its chunks are
   * encoded from the first staged items on while the rest are staged.
   */
  stageParallel(workflowId: string, encodeAhead: { context: string; batchSize: number } | null): ParallelStaging;
  /**
   * Applies a workflow's staged items from `from` in chunks prepared on another thread, or null
   * when this workflow is not one it prepares (type, size). `ahead`: chunks encoded while staging.
   */
  run(workflow: StoredWorkflow, from: number, options: { batchSize: number; ahead: PreparedAhead | null }): PreparedRun | null;
  /**
   * A large analogy load into a store not much larger than itself: drops the query indexes now,
   * builds them at end() (queries meanwhile scan); null when not worth it.
   */
  beginBulkLoad(workflow: StoredWorkflow, incoming: number): BulkLoad | null;
}
