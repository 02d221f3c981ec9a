import { existsSync, unlinkSync } from 'node:fs';
import type { Workflow } from '../core/records.js';
import type { Engine } from './engine.js';
import { assertTransition, publicWorkflow } from './workflow-repo.js';
import { ownerAlive } from './resume.js';

/**
 * A pending workflow is cancelled at once and never applies. A processing one is asked to stop:
 * its processor ends at the next chunk boundary, keeping committed chunks. A processing one
 * whose processor died is cancelled at once.
 */
export function cancelWorkflow(engine: Engine, workflowId: string): Workflow {
  const wf = engine.workflows.get(workflowId);
  assertTransition(wf, 'cancelled', 'cancel');
  if (wf.status === 'processing' && ownerAlive(wf.owner_pid)) {
    engine.store.transaction(() => engine.workflows.requestCancel(workflowId));
    engine.store.audit.record({ event: 'workflow_cancel_requested', workflow_id: workflowId, items_processed: wf.items_processed });
    return publicWorkflow(engine.workflows.get(workflowId));
  }
  engine.store.transaction(() => engine.workflows.setStatus(workflowId, 'cancelled'));
  const path = engine.store.layout.pending(workflowId);
  if (existsSync(path)) unlinkSync(path);
  engine.store.audit.record({ event: 'workflow_cancelled', workflow_id: workflowId, items_processed: wf.items_processed, items_total: wf.items_total });
  return publicWorkflow(engine.workflows.get(workflowId));
}
