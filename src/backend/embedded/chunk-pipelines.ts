import type { EmbeddedStore } from './embedded-store.js';

/**
 * A chunk whose log lines were encoded off the main thread, assuming the log stands at
 * (baseSeq, baseOff) when it is committed; `applyRows` fills its index rows.
 */
export interface PreparedChunk {
  start: number;
  count: number;
  baseSeq: number;
  baseOff: number;
  data: Buffer;
  applyRows(store: EmbeddedStore, ctx: number): void;
}

export interface PipelineArgs {
  store: EmbeddedStore;
  /** the staged file */
  path: string;
  /** index of the first staged item to prepare */
  from: number;
  batchSize: number;
  context: string;
  workflowId: string;
  /** the log's state the first chunk starts from; each next chunk starts where the last ended */
  seq: number;
  off: number;
  /** the staged file is still being written: its StagedProgress's shared memory */
  growing?: BigInt64Array;
}

/** The chunks a pipeline prepares, in order; close() stops it (its thread) at any point. */
export interface PreparedChunks extends AsyncIterable<PreparedChunk | null> {
  close(): Promise<void>;
}
