import { mintId } from '../core/id-hash.js';
import { assertContextName, assertId, DEFAULT_CONTEXT } from '../core/names.js';
import type { JsonObject, WorkflowType } from '../core/records.js';
import { SoftlogicError } from '../core/errors.js';
import { killPoint } from '../core/kill-point.js';
import type { Engine } from './engine.js';
import { publicWorkflow, type StagingTarget, type StagingWriter } from '../backend/workflow-table.js';

export type { StagingTarget };
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


/** The id a new workflow gets: the one asked for (checked: valid, short enough, not taken) or a new one. */
export async function newWorkflowId(engine: Engine, requested: string | undefined): Promise<string> {
  const workflowId = requested === undefined ? mintId() : assertId(requested, 'workflow id');
  // The id names a file (<id>.jsonl): stay well inside the file system's 255-byte name limit.
  if (workflowId.length > MAX_WORKFLOW_ID) {
    throw new SoftlogicError('INVALID_NAME', `workflow id is ${workflowId.length} characters; at most ${MAX_WORKFLOW_ID} are allowed`, { field: 'workflow id' });
  }
  if (await engine.backend.workflows.find(workflowId)) throw new SoftlogicError('CONFLICT', `workflow ${workflowId} already exists`, { workflow_id: workflowId });
  return workflowId;
}

/**
 * Stages already-validated items (durably) and records the workflow `pending` with their digest.
 * `fill` writes the items; if it throws, nothing is recorded and the staged items are dropped.
 * `stage`: a capability's own writer (the prepared import's, which takes encoded blocks), in
 * place of the workflow table's.
 */
export async function createWorkflow<W extends StagingWriter = StagingWriter>(
  engine: Engine,
  options: CreateWorkflowOptions,
  fill: (writer: W, target: StagingTarget) => Promise<void> | void,
  stage?: (workflowId: string) => W,
): Promise<Workflow> {
  const workflowId = await newWorkflowId(engine, options.workflowId);
  const context = assertContextName(options.context ?? DEFAULT_CONTEXT);
  const table = engine.backend.workflows;
  const writer = stage ? stage(workflowId) : (table.stage(workflowId) as W);
  let digest: string;
  try {
    await fill(writer, { workflowId, context, now: new Date().toISOString() });
    digest = await writer.finish();
  } catch (err) {
    await writer.abort();
    throw err;
  }
  killPoint('workflow-staged');
  try {
    // Where the context stood: a rollback refuses if the history after it is gone (compaction).
    const startSeq = await table.startMark(context);
    await table.insert({
      workflow_id: workflowId,
      workflow_type: options.workflowType,
      context,
      items_total: writer.count,
      metadata: { ...(options.metadata ?? {}), ...(options.autoProcess ? { auto_process: true } : {}), start_seq: startSeq },
      staged_crc: digest,
      owner_pid: options.autoProcess ? process.pid : null,
    });
  } catch (err) {
    await table.dropStaged(workflowId);
    throw err;
  }
  await engine.backend.audit.record({ event: 'workflow_created', workflow_id: workflowId, workflow_type: options.workflowType, context, items_total: writer.count });
  killPoint('workflow-created');
  return publicWorkflow(await table.get(workflowId));
}
