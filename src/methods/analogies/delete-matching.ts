import type { Workflow } from '../../core/records.js';
import type { AnalogyFilter } from '../../core/schemas.js';
import { DEFAULT_CONTEXT } from '../../core/names.js';
import { SoftlogicError } from '../../core/errors.js';
import type { Engine } from '../../workflows/engine.js';
import { createWorkflow } from '../../workflows/create.js';
import { processWorkflow } from '../../workflows/process.js';
import { parseFilter } from './filter.js';

export const DELETE_BATCH_SIZE = 100_000;

export interface DeleteMatchingOptions {
  dryRun?: boolean;
  batchSize?: number;
  workflowId?: string;
}

export type DeleteMatchingResult = { dry_run: true; matched: number } | { dry_run: false; matched: number; workflow: Workflow };

/**
 * Deletes every active analogy matching all the given criteria through a deletion_batch
 * workflow (staged ids, so the run is resumable and auditable). Refuses an empty criteria set:
 * deleting a whole context is not something to do by omission.
 */
export async function deleteMatchingAnalogies(engine: Engine, filter: AnalogyFilter, options: DeleteMatchingOptions = {}): Promise<DeleteMatchingResult> {
  const { context: _c, limit: _l, offset: _o, include_deleted: _i, ...criteria } = filter;
  if (Object.values(criteria).every((v) => v === undefined)) {
    throw new SoftlogicError('INVALID_INPUT', 'give at least one criterion (domain, max_quality, tag, frame_type, created_before, created_after)');
  }
  const context = filter.context ?? DEFAULT_CONTEXT;
  const { backend } = engine;
  const selection = parseFilter({ ...filter, include_deleted: false, limit: undefined, offset: undefined });
  if (options.dryRun) return { dry_run: true, matched: await backend.records.countAnalogies(selection) };
  // Each match is staged with the version it matched: one changed since is left as it is.
  const staged = await createWorkflow(engine, { workflowType: 'deletion_batch', context, workflowId: options.workflowId, metadata: { criteria } }, async (writer) => {
    for await (const page of backend.records.matchAnalogies(selection)) for (const m of page) writer.addJson(JSON.stringify({ id: m.id, ref: m.ref }));
  });
  // Tombstones are small, so chunks can be large: fewer commits rewrite fewer table pages.
  const workflow = await processWorkflow(engine, staged.workflow_id, { batchSize: options.batchSize ?? DELETE_BATCH_SIZE });
  await backend.audit.record({ event: 'analogies_deleted', workflow_id: workflow.workflow_id, context, criteria, matched: staged.items_total });
  return { dry_run: false, matched: staged.items_total, workflow };
}
