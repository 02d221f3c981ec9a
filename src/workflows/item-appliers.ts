import type { RecordKind, WorkflowType } from '../core/records.js';
import type { Backend } from '../backend/backend.js';
import type { WriteBatch } from '../backend/write-batch.js';

/** The records applying an item reads through `batch.current` (prefetched by backends that must). */
export type ItemKeys = ReadonlyArray<readonly [RecordKind, string]>;

/**
 * How a workflow type applies one staged item inside a batch. A thrown SoftlogicError refuses
 * that item only (it is counted in error_count); anything else fails the batch. `keys` names
 * what `apply` will read, so that a chunk's reads are loaded in one go before its batch.
 */
export interface ItemApplier<T = unknown, S = unknown> {
  keys(item: T): ItemKeys;
  /**
   * Reads, before each chunk's batch, what `apply` needs beyond `batch.current` of its own
   * context (records of the parent contexts, settings): a batch cannot read asynchronously.
   * Its result is handed to every `apply` of the chunk.
   */
  prepare?(backend: Backend, context: string, items: readonly T[]): Promise<S>;
  apply(batch: WriteBatch, item: T, now: string, workflowId: string, state: S): void;
}

/** An applier given the staged item's JSON text, for types that can avoid parsing all of it. */
export interface RawItemApplier<P = unknown, S = unknown> extends ItemApplier<P, S> {
  /** `context`: the workflow's */
  parse(json: string, context: string): P;
}

const appliers = new Map<WorkflowType, RawItemApplier>();

export function registerItemApplier<T, S = undefined>(type: WorkflowType, applier: ItemApplier<T, S>): void {
  registerRawItemApplier(type, { ...applier, parse: (json) => JSON.parse(json) as T });
}

export function registerRawItemApplier<P, S = undefined>(type: WorkflowType, applier: RawItemApplier<P, S>): void {
  appliers.set(type, applier as unknown as RawItemApplier);
}

export function itemApplier(type: WorkflowType): RawItemApplier | undefined {
  return appliers.get(type);
}
