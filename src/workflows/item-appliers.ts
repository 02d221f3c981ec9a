import type { RecordKind, WorkflowType } from '../core/records.js';
import type { WriteBatch } from '../backend/write-batch.js';

/** The records applying an item reads through `batch.current` (prefetched by backends that must). */
export type ItemKeys = ReadonlyArray<readonly [RecordKind, string]>;

/**
 * How a workflow type applies one staged item inside a batch. A thrown SoftlogicError refuses
 * that item only (it is counted in error_count); anything else fails the batch. `keys` names
 * what `apply` will read, so that a chunk's reads are loaded in one go before its batch.
 */
export interface ItemApplier<T = unknown> {
  keys(item: T): ItemKeys;
  apply(batch: WriteBatch, item: T, now: string, workflowId: string): void;
}

/** An applier given the staged item's JSON text, for types that can avoid parsing all of it. */
export interface RawItemApplier<P = unknown> extends ItemApplier<P> {
  /** `context`: the workflow's */
  parse(json: string, context: string): P;
}

const appliers = new Map<WorkflowType, RawItemApplier>();

export function registerItemApplier<T>(type: WorkflowType, applier: ItemApplier<T>): void {
  appliers.set(type, { parse: (json) => JSON.parse(json) as T, keys: (item) => applier.keys(item as T), apply: (batch, item, now, wf) => applier.apply(batch, item as T, now, wf) });
}

export function registerRawItemApplier<P>(type: WorkflowType, applier: RawItemApplier<P>): void {
  appliers.set(type, applier as RawItemApplier);
}

export function itemApplier(type: WorkflowType): RawItemApplier | undefined {
  return appliers.get(type);
}
