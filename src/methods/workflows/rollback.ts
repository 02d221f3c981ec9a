import { isDeepStrictEqual } from 'node:util';
import type { Workflow } from '../../core/records.js';
import { SoftlogicError } from '../../core/errors.js';
import type { StoredVersion, WriteBatch } from '../../backend/write-batch.js';
import { publicWorkflow, type RecordChange } from '../../backend/workflow-table.js';
import type { Engine } from '../../workflows/engine.js';
import { assertTransition } from '../../workflows/status.js';
import { softDeleteAnalogy } from '../analogies/mutations.js';
import { softDeleteEntity } from '../entities/mutations.js';
import { syncIndex } from '../embeddings/index-store.js';
import { refreshStoreNpz } from '../embeddings/npz-io.js';

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
  /** the version current when the step was planned */
  at: StoredVersion['ref'];
}

/** What a record says: everything but its version bookkeeping and which workflow wrote it. */
function content(record: Record<string, unknown>): Record<string, unknown> {
  const { version: _v, updated_at: _u, deleted_at: _d, workflow_id: _w, ...rest } = record;
  return rest;
}

/** Whether the current version holds what the workflow left (saved again unchanged since). */
function sameState(current: StoredVersion, after: StoredVersion): boolean {
  if (after.deleted !== current.deleted) return false;
  return isDeepStrictEqual(content(current.record()), content(after.record()));
}

/**
 * The step that brings one record back to its state before the workflow, or null when it was
 * changed by someone else since (its current version is not the workflow's last one for it, and
 * neither holds what the workflow left nor is already back where it was).
 */
function plan(current: StoredVersion | undefined, change: RecordChange): Step | null {
  if (!current) return null;
  const before = change.before === null ? null : change.before.record();
  const ours = current.ref === change.after.ref || sameState(current, change.after);
  if (before === null || change.before?.deleted === true) {
    // Absent or deleted before the workflow: it goes (back) to deleted.
    if (current.deleted) return { change, action: 'none', before, at: current.ref };
    return ours ? { change, action: 'delete', before, at: current.ref } : null;
  }
  if (!current.deleted && isDeepStrictEqual(content(current.record()), content(before))) return { change, action: 'none', before, at: current.ref };
  if (!ours) return null;
  return { change, action: current.deleted ? 'restore' : 'revert', before, at: current.ref };
}

function apply(batch: WriteBatch, step: Step, now: string): void {
  const { kind, id } = step.change;
  const current = batch.current(kind, id);
  if (!current || current.ref !== step.at) {
    throw new SoftlogicError('CONFLICT', `${kind.replace('_', ' ')} ${id} changed while the rollback ran; run the rollback again`, { kind, id });
  }
  if (step.action === 'delete') {
    if (kind === 'analogy') softDeleteAnalogy(batch, id, now);
    else softDeleteEntity(batch, kind, id, now);
    return;
  }
  const record = { ...(step.before as Record<string, unknown>), version: current.version + 1, updated_at: now, deleted_at: null };
  batch.change(kind, step.action === 'restore' ? 'restore' : 'put', record, current);
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
  const { backend } = engine;
  const wf = await backend.workflows.get(workflowId);
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
  const report: RollbackReport = { records_deleted: 0, records_restored: 0, records_reverted: 0, records_unchanged: 0 };
  const context = wf.context;
  const steps: Step[] = [];
  if (await backend.contexts.get(context)) {
    const { changes, complete } = await backend.workflows.changes(wf);
    if (!complete) {
      throw new SoftlogicError('ROLLBACK_UNAVAILABLE', `cannot roll back workflow ${workflowId}: context '${context}' was compacted after it started, which dropped the versions the rollback needs`, {
        workflow_id: workflowId,
        context,
      });
    }
    const changed: string[] = [];
    for (const change of changes) {
      const step = plan(await backend.records.current(context, change.kind, change.id), change);
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
      await backend.write(
        context,
        (batch) => {
          const now = new Date().toISOString();
          for (const step of chunk) apply(batch, step, now);
        },
        { prefetch: chunk.map((s) => [s.change.kind, s.change.id] as const) },
      );
    }
    for (const s of steps) {
      if (s.action === 'delete') report.records_deleted += 1;
      else if (s.action === 'restore') report.records_restored += 1;
      else if (s.action === 'revert') report.records_reverted += 1;
      else report.records_unchanged += 1;
    }
    if (todo.some((s) => s.change.kind === 'concept')) await refreshVectors(engine, context);
  }
  await backend.workflows.transition(workflowId, 'rolled_back', null);
  // Items a stopped workflow never applied will not be applied now.
  await backend.workflows.dropStaged(workflowId);
  await backend.audit.record({ event: 'workflow_rolled_back', workflow_id: workflowId, workflow_type: wf.workflow_type, from_status: wf.status, ...report });
  return { ...publicWorkflow(await backend.workflows.get(workflowId)), ...report };
}

/** Concept vectors changed: the vector index and embeddings.npz follow the records. */
async function refreshVectors(engine: Engine, context: string): Promise<void> {
  await syncIndex(engine.backend, context);
  await refreshStoreNpz(engine.backend, context);
}
