import { isSoftlogicError } from '../core/errors.js';
import type { Workflow } from '../core/records.js';
import type { StoredWorkflow } from '../backend/workflow-table.js';
import type { Engine } from './engine.js';
import { processWorkflow, type ProcessOptions } from './process.js';

/**
 * Which workflows a resume takes: `expired` (the service's takeover loop) only those whose owner
 * is gone (a dead process, a lease that ran out) or that have none; `all` (an open of the store,
 * `workflows resume`) also this process's own that nothing here is processing any more (a
 * processor stopped by a shutdown).
 */
export type ResumeScope = 'expired' | 'all';

async function candidates(engine: Engine, scope: ResumeScope): Promise<StoredWorkflow[]> {
  const table = engine.backend.workflows;
  const expired = await table.expired();
  if (scope === 'expired') return expired;
  const own: StoredWorkflow[] = [];
  for (const status of ['processing', 'pending'] as const) {
    for (const wf of await table.list(status)) {
      if (status === 'pending' && wf.metadata.auto_process !== true) continue;
      const stored = await table.find(wf.workflow_id);
      if (stored?.holder === 'self') own.push(stored);
    }
  }
  return [...expired, ...own];
}

/**
 * Finishes every workflow left `processing` by a process that is gone, and every import that
 * died between staging and processing (pending, marked auto_process, owner gone). Workflows
 * staged with `workflows create` stay pending until someone processes them. Each is claimed
 * first: of several processes resuming at once (service replicas), exactly one takes each
 * workflow, and the others leave it.
 */
export async function resumeWorkflows(engine: Engine, options: ProcessOptions = {}, scope: ResumeScope = 'all'): Promise<Workflow[]> {
  const resumed: Workflow[] = [];
  const table = engine.backend.workflows;
  for (const wf of await candidates(engine, scope)) {
    if (engine.running.has(wf.workflow_id) || !(await table.claim(wf.workflow_id))) continue;
    await engine.backend.audit.record({ event: 'workflow_resumed', workflow_id: wf.workflow_id, items_processed: wf.items_processed, items_total: wf.items_total, previous_owner: wf.holder });
    try {
      resumed.push(await processWorkflow(engine, wf.workflow_id, options));
    } catch (err) {
      // Taken over meanwhile by another process: it is theirs to finish.
      if (isSoftlogicError(err) && err.code === 'CONFLICT') continue;
      throw err;
    }
  }
  return resumed;
}
