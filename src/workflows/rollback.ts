import type { Workflow } from '../core/records.js';
import type { Engine } from './engine.js';
import { assertTransition, publicWorkflow } from './workflow-repo.js';
import { softDeleteAnalogy } from '../methods/analogies/mutations.js';

const CHUNK = 10_000;

/**
 * Soft-deletes every still-active record the workflow created (tombstones with version bumps,
 * so `analogies restore` brings each back) and marks it rolled_back.
 */
export function rollbackWorkflow(engine: Engine, workflowId: string): Workflow & { records_deleted: number } {
  const wf = engine.workflows.get(workflowId);
  assertTransition(wf, 'rolled_back', 'roll back');
  const ctx = engine.store.requireContext(wf.context);
  const wfKey = engine.store.db.prepare('SELECT wf FROM workflow_keys WHERE workflow_id = ?').pluck().get(workflowId) as number | undefined;
  let deleted = 0;
  if (wfKey !== undefined) {
    const select = engine.store.db.prepare('SELECT id FROM analogies WHERE ctx = ? AND wf = ? AND deleted_at IS NULL LIMIT ?').pluck();
    while (true) {
      const ids = select.all(ctx.ctx, wfKey, CHUNK) as string[];
      if (ids.length === 0) break;
      engine.store.write(ctx.name, (batch) => {
        const now = new Date().toISOString();
        for (const id of ids) softDeleteAnalogy(engine.store, batch, id, now);
      });
      deleted += ids.length;
    }
  }
  engine.store.transaction(() => engine.workflows.setStatus(workflowId, 'rolled_back'));
  engine.store.audit.record({ event: 'workflow_rolled_back', workflow_id: workflowId, records_deleted: deleted });
  return { ...publicWorkflow(engine.workflows.get(workflowId)), records_deleted: deleted };
}
