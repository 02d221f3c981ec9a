import { mintId } from '../core/id-hash.js';
import { unlinkSync } from 'node:fs';
import { assertContextName, assertId, DEFAULT_CONTEXT } from '../core/names.js';
import type { JsonObject, WorkflowType } from '../core/records.js';
import { SoftlogicError } from '../core/errors.js';
import type { Engine } from './engine.js';
import { StagingWriter, type StagedProgress } from './staging.js';
import { publicWorkflow } from './workflow-repo.js';
import type { Workflow } from '../core/records.js';

export const MAX_WORKFLOW_ID = 128;

export interface CreateWorkflowOptions {
  workflowType: WorkflowType;
  context?: string;
  workflowId?: string;
  metadata?: JsonObject;
  /** processed right away by this process (an import): resumed if the process dies first */
  autoProcess?: boolean;
}

/**
 * Stages already-validated items to workflows/pending/<id>.jsonl (fsync'd) and records the
 * workflow `pending` with the staged file's SHA-256. `fill` writes the items; if it throws,
 * nothing is recorded and the staged file is removed.
 */
export interface StagingTarget {
  workflowId: string;
  context: string;
  /** the staging time: records minted while staging carry it as created_at */
  now: string;
}

/** The id a new workflow gets: the one asked for (checked: valid, short enough, not taken) or a new one. */
export function newWorkflowId(engine: Engine, requested: string | undefined): string {
  const workflowId = requested === undefined ? mintId() : assertId(requested, 'workflow id');
  // The id names a file (<id>.jsonl): stay well inside the file system's 255-byte name limit.
  if (workflowId.length > MAX_WORKFLOW_ID) {
    throw new SoftlogicError('INVALID_NAME', `workflow id is ${workflowId.length} characters; at most ${MAX_WORKFLOW_ID} are allowed`, { field: 'workflow id' });
  }
  if (engine.workflows.find(workflowId)) throw new SoftlogicError('CONFLICT', `workflow ${workflowId} already exists`, { workflow_id: workflowId });
  return workflowId;
}

/** `progress`: told of every write to the staged file, for a reader that starts before its end. */
export async function createWorkflow(
  engine: Engine,
  options: CreateWorkflowOptions,
  fill: (writer: StagingWriter, target: StagingTarget) => Promise<void> | void,
  progress: StagedProgress | null = null,
): Promise<Workflow> {
  const workflowId = newWorkflowId(engine, options.workflowId);
  const context = assertContextName(options.context ?? DEFAULT_CONTEXT);
  const path = engine.store.layout.pending(workflowId);
  const writer = new StagingWriter(path, progress);
  let sha: string;
  try {
    await fill(writer, { workflowId, context, now: new Date().toISOString() });
    await writer.settled();
    sha = writer.finish();
  } catch (err) {
    await writer.settled();
    writer.abort();
    unlinkSync(path);
    throw err;
  }
  try {
    // Where the context's log stood: a rollback refuses if a compaction has since rewritten it.
    const startSeq = engine.store.ensureContext(context).applied_seq;
    engine.store.transaction(() =>
      engine.workflows.insert({
        workflow_id: workflowId,
        workflow_type: options.workflowType,
        context,
        items_total: writer.count,
        metadata: { ...(options.metadata ?? {}), ...(options.autoProcess ? { auto_process: true } : {}), start_seq: startSeq },
        staged_crc: sha,
        owner_pid: options.autoProcess ? process.pid : null,
      }),
    );
  } catch (err) {
    unlinkSync(path);
    throw err;
  }
  engine.store.audit.record({ event: 'workflow_created', workflow_id: workflowId, workflow_type: options.workflowType, context, items_total: writer.count });
  return publicWorkflow(engine.workflows.get(workflowId));
}
