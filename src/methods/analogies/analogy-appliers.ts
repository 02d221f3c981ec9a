import { SoftlogicError } from '../../core/errors.js';
import type { Analogy } from '../../core/records.js';
import { decodeFreshPut, StagedPutKind, stagedPutKindOfText } from '../../core/staged-put.js';
import type { WriteBatch } from '../../backend/write-batch.js';
import type { RecordRef } from '../../backend/write-batch.js';
import { registerItemApplier, registerRawItemApplier } from '../../workflows/item-appliers.js';
import type { StagedItem } from './analogy-record.js';
import { putAnalogy, softDeleteAnalogy } from './mutations.js';

/**
 * The item appliers of the analogy workflows, on any backend. (The embedded backend's prepared
 * import applies large analogy_creation workflows its own way, making the same records.)
 */

/** A staged analogy_creation item, parsed as far as applying it needs. */
type CreationItem =
  | { kind: StagedPutKind.Fresh | StagedPutKind.Given | StagedPutKind.GivenDated; id: string; recordJson: string }
  | { kind: StagedPutKind.Other; staged: StagedItem };

/**
 * A put of an id the input gave: a new id is stored as it was staged; an existing one becomes its
 * next version (version + 1, created_at kept unless the input set it), as putAnalogy does.
 */
function applyGivenPut(batch: WriteBatch, item: { kind: StagedPutKind; id: string; recordJson: string }): void {
  const previous = batch.current<Analogy>('analogy', item.id);
  const record = JSON.parse(item.recordJson) as Analogy;
  if (!previous) {
    batch.change('analogy', 'put', record, undefined, { json: item.recordJson });
    return;
  }
  record.version = previous.version + 1;
  if (item.kind !== StagedPutKind.GivenDated) record.created_at = previous.record().created_at;
  batch.change('analogy', 'put', record, previous);
}

registerRawItemApplier<CreationItem>('analogy_creation', {
  parse(json, context) {
    const kind = stagedPutKindOfText(json);
    if (kind === StagedPutKind.Other) return { kind, staged: JSON.parse(json) as StagedItem };
    if (kind === StagedPutKind.Exported) throw new SoftlogicError('INTERNAL', 'a knowledge import\'s item in an analogy_creation workflow');
    const { columns, recordJson } = decodeFreshPut(json, context);
    return { kind, id: columns[0], recordJson };
  },
  // An id minted while staging has no earlier version to read.
  keys: (item) => (item.kind === StagedPutKind.Fresh ? [] : [['analogy', item.kind === StagedPutKind.Other ? (item.staged.op === 'delete' ? item.staged.id : item.staged.record.id) : item.id]]),
  apply(batch, item, now, workflowId) {
    if (item.kind === StagedPutKind.Fresh) batch.change('analogy', 'put', JSON.parse(item.recordJson) as Analogy, undefined, { fresh: true, json: item.recordJson });
    else if (item.kind !== StagedPutKind.Other) applyGivenPut(batch, item);
    else if (item.staged.op === 'delete') softDeleteAnalogy(batch, item.staged.id, now);
    else putAnalogy(batch, item.staged.record, now, workflowId);
  },
});

/** A deletion_batch item: an analogy, and the version of it the selection matched. */
interface DeletionItem {
  id: string;
  ref?: RecordRef;
}

registerItemApplier<DeletionItem>('deletion_batch', {
  keys: (item) => [['analogy', item.id]],
  apply(batch, item, now) {
    if (item.ref !== undefined && batch.current('analogy', item.id)?.ref !== item.ref) {
      throw new SoftlogicError('CONFLICT', `analogy ${item.id} was changed or deleted after the selection; left as it is`, { id: item.id });
    }
    softDeleteAnalogy(batch, item.id, now);
  },
});
