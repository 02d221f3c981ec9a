import type { WorkflowType } from '../core/records.js';
import { SoftlogicError } from '../core/errors.js';
import type { EmbeddedStore, WriteBatch } from '../backend/embedded/embedded-store.js';
import type { StagedItem } from '../methods/analogies/analogy-record.js';
import { decodeFreshPut, StagedPutKind, stagedPutKindOfText } from '../methods/analogies/staged-put.js';
import { applyGivenPut } from '../methods/analogies/given-put.js';
import { putAnalogy, softDeleteAnalogy } from '../methods/analogies/mutations.js';

/**
 * How each workflow type applies one staged item inside a batch. A thrown SoftlogicError refuses
 * that item only (it is counted in error_count); anything else fails the batch.
 */
export type ItemApplier = (store: EmbeddedStore, batch: WriteBatch, item: unknown, now: string, workflowId: string) => void;

/** An applier given the staged item's JSON text, for types that can avoid parsing all of it. */
export type RawItemApplier = (store: EmbeddedStore, batch: WriteBatch, json: string, now: string, workflowId: string) => void;

const appliers = new Map<WorkflowType, RawItemApplier>();

export function registerItemApplier(type: WorkflowType, applier: ItemApplier): void {
  appliers.set(type, (store, batch, json, now, workflowId) => applier(store, batch, JSON.parse(json) as unknown, now, workflowId));
}

export function registerRawItemApplier(type: WorkflowType, applier: RawItemApplier): void {
  appliers.set(type, applier);
}

export function itemApplier(type: WorkflowType): RawItemApplier | undefined {
  return appliers.get(type);
}

registerRawItemApplier('analogy_creation', (store, batch, json, now, workflowId) => {
  const kind = stagedPutKindOfText(json);
  if (kind === StagedPutKind.Fresh) {
    const { columns, recordJson } = decodeFreshPut(json, batch.context.name);
    batch.appendLine('analogy', 'put', recordJson, null, (key, off, len) => store.analogies.insert(batch.context.ctx, key, off, len, columns));
    return;
  }
  if (kind !== StagedPutKind.Other) {
    applyGivenPut(store, batch, json, kind);
    return;
  }
  const staged = JSON.parse(json) as StagedItem;
  if (staged.op === 'delete') softDeleteAnalogy(store, batch, staged.id, now);
  else putAnalogy(store, batch, staged.record, now, workflowId);
});

registerItemApplier('deletion_batch', (store, batch, item, now) => {
  const { id, key } = item as { id?: string; key?: number };
  if (id !== undefined) {
    softDeleteAnalogy(store, batch, id, now);
    return;
  }
  const row = key === undefined ? undefined : store.analogies.getRowByKey(key);
  if (!row || row.ctx !== batch.context.ctx) throw new SoftlogicError('CONFLICT', `the analogy selected as row ${key} was changed or deleted after the selection; left as it is`, { key });
  softDeleteAnalogy(store, batch, row.id, now, row);
});
