import type { WorkflowType } from '../core/records.js';
import { SoftlogicError } from '../core/errors.js';
import type { EmbeddedStore, WriteBatch } from '../store/embedded/embedded-store.js';
import { freshRecordJson, type StagedItem } from '../methods/analogies/analogy-record.js';
import { putAnalogy, softDeleteAnalogy } from '../methods/analogies/mutations.js';

/**
 * How each workflow type applies one staged item inside a batch. A thrown SoftlogicError refuses
 * that item only (it is counted in error_count); anything else fails the batch.
 */
export type ItemApplier = (store: EmbeddedStore, batch: WriteBatch, item: unknown, now: string, workflowId: string, json: string) => void;

const appliers = new Map<WorkflowType, ItemApplier>();

export function registerItemApplier(type: WorkflowType, applier: ItemApplier): void {
  appliers.set(type, applier);
}

export function itemApplier(type: WorkflowType): ItemApplier | undefined {
  return appliers.get(type);
}

registerItemApplier('analogy_creation', (store, batch, item, now, workflowId, json) => {
  const staged = item as StagedItem;
  if (staged.op === 'delete') softDeleteAnalogy(store, batch, staged.id, now);
  else if ('fresh' in staged) batch.append('analogy', 'put', staged.record, null, { fresh: true, json: freshRecordJson(json) });
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
