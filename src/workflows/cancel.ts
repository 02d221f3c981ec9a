import { setTimeout as sleep } from 'node:timers/promises';
import { SoftlogicError } from '../core/errors.js';
import type { Workflow } from '../core/records.js';
import type { Engine } from './engine.js';
import { assertTransition } from './status.js';
import { publicWorkflow } from '../backend/workflow-table.js';
import type { StoredWorkflow } from '../backend/workflow-table.js';

export interface CancelOptions {
  /** how long to wait for a running processor to reach its next chunk boundary (default 10 minutes) */
  timeoutMs?: number;
}

const POLL_MS = 50;

/** Whether a live processor (this process, another one, a replica whose lease holds) has the workflow. */
function held(wf: StoredWorkflow): boolean {
  return wf.holder === 'self' || wf.holder === 'live';
}
const DEFAULT_TIMEOUT_MS = 10 * 60_000;

/**
 * Cancels a workflow and answers the status it ends in. A pending, interrupted or failed one, or
 * a processing one whose processor died, is cancelled at once (what it committed stays, and can
 * be rolled back). A processing one is asked to stop: its processor ends at the next chunk
 * boundary, and this waits for it, so the answer is `cancelled` (or `completed`, when the last
 * chunk was committed first), never `processing`.
 */
export async function cancelWorkflow(engine: Engine, workflowId: string, options: CancelOptions = {}): Promise<Workflow> {
  const table = engine.backend.workflows;
  const wf = await table.get(workflowId);
  assertTransition(wf, 'cancelled', 'cancel');
  if (wf.status === 'processing' && held(wf)) {
    await table.requestCancel(workflowId);
    await engine.backend.audit.record({ event: 'workflow_cancel_requested', workflow_id: workflowId, items_processed: wf.items_processed });
    const deadline = Date.now() + (options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    for (;;) {
      await sleep(POLL_MS);
      const now = await table.get(workflowId);
      if (now.status !== 'processing') return publicWorkflow(now);
      if (!held(now)) break;
      if (Date.now() > deadline) {
        throw new SoftlogicError('CONFLICT', `workflow ${workflowId} is still processing; its processor (pid ${now.owner_pid}) will stop at its next chunk boundary`, {
          workflow_id: workflowId,
          items_processed: now.items_processed,
        });
      }
    }
  }
  return cancelStopped(engine, workflowId);
}

/** Cancels a workflow nobody is processing (pending, interrupted, failed, or its processor died). */
export async function cancelStopped(engine: Engine, workflowId: string): Promise<Workflow> {
  const table = engine.backend.workflows;
  const wf = await table.get(workflowId);
  assertTransition(wf, 'cancelled', 'cancel');
  await table.transition(workflowId, 'cancelled', null);
  await table.dropStaged(workflowId);
  await engine.backend.audit.record({ event: 'workflow_cancelled', workflow_id: workflowId, items_processed: wf.items_processed, items_total: wf.items_total });
  return publicWorkflow(await table.get(workflowId));
}
