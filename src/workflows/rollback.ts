import { existsSync, unlinkSync } from 'node:fs';
import { isDeepStrictEqual } from 'node:util';
import type { RecordKind, Workflow } from '../core/records.js';
import { SoftlogicError } from '../core/errors.js';
import type { EmbeddedStore, WriteBatch } from '../backend/embedded/embedded-store.js';
import type { EntityRecord } from '../backend/embedded/entity-index.js';
import { recordJsonOf } from '../backend/embedded/log-format.js';
import type { Engine } from './engine.js';
import { assertTransition, publicWorkflow } from './workflow-repo.js';
import { workflowChanges, type RecordChange } from './workflow-changes.js';
import { softDeleteAnalogy } from '../methods/analogies/mutations.js';
import { analogyOfLine } from '../methods/analogies/read.js';
import { softDeleteEntity } from '../methods/entities/mutations.js';
import { syncIndex } from '../methods/embeddings/index-store.js';
import { refreshStoreNpz } from '../methods/embeddings/npz-io.js';
import { embeddedVectorParts } from '../backend/embedded/embedded-vector-parts.js';

const CHUNK = 10_000;
/** Records named in a refusal (the count says how many there are in all). */
const LISTED = 20;

export interface RollbackReport {
  /** created by the workflow, now soft-deleted */
  records_deleted: number;
  /** deleted by the workflow, brought back with the content they had before it */
  records_restored: number;
  /** updated by the workflow, given back their previous content as a new version */
  records_reverted: number;
  /** already in the state they had before the workflow (nothing written) */
  records_unchanged: number;
}

type Action = 'delete' | 'restore' | 'revert' | 'none';

interface Step {
  change: RecordChange;
  action: Action;
  /** the record before the workflow (restore, revert) */
  before: Record<string, unknown> | null;
  /** the line the record's row points at when the step was planned */
  at: number;
}

interface CurrentRow {
  off: number;
  version: number;
  deleted_at: number | null;
}

function currentRow(store: EmbeddedStore, ctx: number, kind: RecordKind, id: string): CurrentRow | undefined {
  return kind === 'analogy' ? store.analogies.get(ctx, id) : store.entities.get(ctx, kind, id);
}

/** The full record of the line at `off` (an analogy tombstone merged with what it deletes). */
function recordAt(store: EmbeddedStore, context: string, kind: RecordKind, off: number): Record<string, unknown> {
  const line = store.readLogLineAt(context, off);
  if (kind === 'analogy') return analogyOfLine(store, context, line).record as unknown as Record<string, unknown>;
  return JSON.parse(recordJsonOf(line)) as Record<string, unknown>;
}

/** What a record says: everything but its version bookkeeping and which workflow wrote it. */
function content(record: Record<string, unknown>): Record<string, unknown> {
  const { version: _v, updated_at: _u, deleted_at: _d, workflow_id: _w, ...rest } = record;
  return rest;
}

/** Whether the record's current version holds what the line at `off` holds (saved again unchanged). */
function sameState(store: EmbeddedStore, context: string, kind: RecordKind, row: CurrentRow, off: number): boolean {
  const then = recordAt(store, context, kind, off);
  if ((then.deleted_at !== null) !== (row.deleted_at !== null)) return false;
  return isDeepStrictEqual(content(recordAt(store, context, kind, row.off)), content(then));
}

/**
 * The step that brings one record back to its state before the workflow, or null when it was
 * changed by someone else since (its row no longer points at the workflow's last line for it,
 * and neither holds what the workflow left nor is already back where it was).
 */
function plan(store: EmbeddedStore, context: string, ctx: number, change: RecordChange): Step | null {
  const row = currentRow(store, ctx, change.kind, change.id);
  if (!row) return null;
  const before = change.before === null ? null : recordAt(store, context, change.kind, change.before);
  const ours = row.off === change.after || sameState(store, context, change.kind, row, change.after);
  if (before === null || before.deleted_at !== null) {
    // Absent or deleted before the workflow: it goes (back) to deleted.
    if (row.deleted_at !== null) return { change, action: 'none', before, at: row.off };
    return ours ? { change, action: 'delete', before, at: row.off } : null;
  }
  if (row.deleted_at === null && isDeepStrictEqual(content(recordAt(store, context, change.kind, row.off)), content(before))) {
    return { change, action: 'none', before, at: row.off };
  }
  if (!ours) return null;
  return { change, action: row.deleted_at === null ? 'revert' : 'restore', before, at: row.off };
}

function apply(store: EmbeddedStore, batch: WriteBatch, step: Step, now: string): void {
  const { kind, id } = step.change;
  const row = currentRow(store, batch.context.ctx, kind, id);
  if (!row || row.off !== step.at) {
    throw new SoftlogicError('CONFLICT', `${kind.replace('_', ' ')} ${id} changed while the rollback ran; run the rollback again`, { kind, id });
  }
  if (step.action === 'delete') {
    if (kind === 'analogy') softDeleteAnalogy(store, batch, id, now);
    else softDeleteEntity(store, batch, kind, id, now);
    return;
  }
  const record = { ...(step.before as Record<string, unknown>), version: row.version + 1, updated_at: now, deleted_at: null };
  batch.append(kind, step.action === 'restore' ? 'restore' : 'put', record as unknown as EntityRecord, row.off);
}

/**
 * Brings every record the workflow changed back to its state before it, record by record: one
 * it created is soft-deleted, one it deleted is restored, one it updated gets its previous
 * content back as a new version. The changes are read from the context's log (each of the
 * workflow's batches names it in its commit line). Refused, with nothing written, when a record
 * was changed by someone else after the workflow (CONFLICT, naming them) or when a compaction
 * has dropped the history it needs (ROLLBACK_UNAVAILABLE). Allowed for a completed workflow and
 * for the committed part of a cancelled, interrupted or failed one.
 */
export async function rollbackWorkflow(engine: Engine, workflowId: string): Promise<Workflow & RollbackReport> {
  const wf = engine.workflows.get(workflowId);
  assertTransition(wf, 'rolled_back', 'roll back');
  if (typeof wf.metadata.legacy === 'object' && wf.metadata.legacy !== null) {
    // A row copied from the original system's store: its records came in through this store's own
    // knowledge_import workflows, which are the ones to roll back.
    throw new SoftlogicError('ILLEGAL_TRANSITION', `workflow ${workflowId} was imported from the original system and changed nothing here; roll back the knowledge_import workflow that imported its records`, {
      workflow_id: workflowId,
      status: wf.status,
      to: 'rolled_back',
    });
  }
  const store = engine.store;
  const report: RollbackReport = { records_deleted: 0, records_restored: 0, records_reverted: 0, records_unchanged: 0 };
  const ctx = store.context(wf.context);
  const steps: Step[] = [];
  if (ctx) {
    store.catchUp(ctx);
    const { changes, compactedThrough } = workflowChanges(store, ctx.name, workflowId);
    const startSeq = typeof wf.metadata.start_seq === 'number' ? wf.metadata.start_seq : 0;
    if (compactedThrough > startSeq && wf.items_processed > 0) {
      throw new SoftlogicError(
        'ROLLBACK_UNAVAILABLE',
        `cannot roll back workflow ${workflowId}: context '${ctx.name}' was compacted after it started, which dropped the versions the rollback needs`,
        { workflow_id: workflowId, context: ctx.name },
      );
    }
    const changed: string[] = [];
    for (const change of changes) {
      const step = plan(store, ctx.name, ctx.ctx, change);
      if (step) steps.push(step);
      else changed.push(`${change.kind} ${change.id}`);
    }
    if (changed.length > 0) {
      throw new SoftlogicError(
        'CONFLICT',
        `cannot roll back workflow ${workflowId}: ${changed.length} record(s) it changed were changed again since (${changed.slice(0, 5).join(', ')}${changed.length > 5 ? ', ...' : ''}); nothing was rolled back`,
        { workflow_id: workflowId, changed: changed.slice(0, LISTED), changed_count: changed.length },
      );
    }
    const todo = steps.filter((s) => s.action !== 'none');
    for (let i = 0; i < todo.length; i += CHUNK) {
      const chunk = todo.slice(i, i + CHUNK);
      store.write(ctx.name, (batch) => {
        const now = new Date().toISOString();
        for (const step of chunk) apply(store, batch, step, now);
      });
    }
    for (const s of steps) {
      if (s.action === 'delete') report.records_deleted += 1;
      else if (s.action === 'restore') report.records_restored += 1;
      else if (s.action === 'revert') report.records_reverted += 1;
      else report.records_unchanged += 1;
    }
    if (todo.some((s) => s.change.kind === 'concept')) await refreshVectors(store, ctx.name);
  }
  store.transaction(() => engine.workflows.setStatus(workflowId, 'rolled_back'));
  // Items a stopped workflow never applied will not be applied now.
  const staged = store.layout.pending(workflowId);
  if (existsSync(staged)) unlinkSync(staged);
  store.audit.record({ event: 'workflow_rolled_back', workflow_id: workflowId, workflow_type: wf.workflow_type, from_status: wf.status, ...report });
  return { ...publicWorkflow(engine.workflows.get(workflowId)), ...report };
}

/** Concept vectors changed: the vector index and embeddings.npz follow the records. */
async function refreshVectors(store: EmbeddedStore, context: string): Promise<void> {
  await syncIndex(embeddedVectorParts(store), context);
  await refreshStoreNpz(embeddedVectorParts(store), context);
}
