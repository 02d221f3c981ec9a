import { SoftlogicError } from '../core/errors.js';
import type { Workflow, WorkflowStatus } from '../core/records.js';

/**
 * The status machine: which status may follow which. `interrupted`: the user stopped it (Ctrl-C);
 * it is never resumed on its own, only by `workflows resume ID` / `process ID`. `failed` keeps
 * its staged items, so it too may be processed again once its cause is fixed (a full disk).
 * Whatever a workflow committed can be rolled back from every status it can stop in.
 */
const TRANSITIONS: Record<WorkflowStatus, WorkflowStatus[]> = {
  pending: ['processing', 'cancelled', 'failed'],
  processing: ['processing', 'interrupted', 'completed', 'failed', 'cancelled'],
  interrupted: ['processing', 'cancelled', 'rolled_back'],
  completed: ['rolled_back'],
  failed: ['processing', 'cancelled', 'rolled_back'],
  cancelled: ['rolled_back'],
  rolled_back: [],
};

export function assertTransition(workflow: Workflow, to: WorkflowStatus, action: string): void {
  if (!TRANSITIONS[workflow.status].includes(to)) {
    throw new SoftlogicError('ILLEGAL_TRANSITION', `cannot ${action} workflow ${workflow.workflow_id}: it is ${workflow.status}`, {
      workflow_id: workflow.workflow_id,
      status: workflow.status,
      to,
    });
  }
}
