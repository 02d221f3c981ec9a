import type { Workflow } from '../core/records.js';
import type { Engine } from './engine.js';
import { processWorkflow, type ProcessOptions } from './process.js';

/** Whether the process that owns a workflow is still running (same machine: embedded store). */
export function ownerAlive(pid: number | null): boolean {
  if (pid === null) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Finishes every workflow left `processing` by a process that is gone, and every import that
 * died between staging and processing (pending, marked auto_process, owner gone). Workflows
 * staged with `workflows create` stay pending until someone processes them.
 */
export async function resumeWorkflows(engine: Engine, options: ProcessOptions = {}): Promise<Workflow[]> {
  const resumed: Workflow[] = [];
  const table = engine.backend.workflows;
  const interruptedImports = (await table.list('pending')).filter((w) => w.metadata.auto_process === true);
  for (const wf of [...(await table.list('processing')), ...interruptedImports]) {
    const stored = await table.get(wf.workflow_id);
    if (ownerAlive(stored.owner_pid) && stored.owner_pid !== process.pid) continue;
    await engine.backend.audit.record({ event: 'workflow_resumed', workflow_id: wf.workflow_id, items_processed: wf.items_processed, items_total: wf.items_total });
    resumed.push(await processWorkflow(engine, wf.workflow_id, options));
  }
  return resumed;
}
