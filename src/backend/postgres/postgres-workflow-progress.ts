import type pg from 'pg';
import { SoftlogicError } from '../../core/errors.js';
import { ERROR_LOG_LIMIT } from '../workflow-table.js';
import type { BatchProgress } from '../write-batch.js';

export function workflowNotFound(workflowId: string): SoftlogicError {
  return new SoftlogicError('WORKFLOW_NOT_FOUND', `workflow ${workflowId} not found`, { workflow_id: workflowId });
}

/**
 * Adds errors to a workflow's log (at most ERROR_LOG_LIMIT messages kept, the rest counted), in
 * one statement: run by the workflow table and inside a batch's transaction with its progress.
 */
export async function addErrorsIn(client: pg.ClientBase | pg.Pool, workflowId: string, messages: string[], count: number): Promise<void> {
  const { rowCount } = await client.query(
    `UPDATE workflows w SET error_count = error_count + $2,
       error_log = w.error_log || COALESCE((SELECT jsonb_agg(m ORDER BY o) FROM unnest($3::text[]) WITH ORDINALITY AS t(m, o)
                                            WHERE o <= $4 - jsonb_array_length(w.error_log)), '[]'::jsonb),
       error_log_omitted = error_log_omitted + $2 - LEAST(cardinality($3::text[]), GREATEST(0, $4 - jsonb_array_length(w.error_log)))
     WHERE workflow_id = $1`,
    [workflowId, count, messages, ERROR_LOG_LIMIT],
  );
  if (rowCount === 0) throw workflowNotFound(workflowId);
}

/**
 * Locks the workflow's row for the batch and checks that it stands where the batch expects
 * (`processedFrom`): another processor that moved it makes this batch a CONFLICT, with nothing
 * written, so no chunk is applied twice (two replicas that both believe they own a workflow).
 */
export async function claimProgress(client: pg.ClientBase, progress: BatchProgress): Promise<void> {
  const { rows } = await client.query<{ items_processed: number }>('SELECT items_processed FROM workflows WHERE workflow_id = $1 FOR UPDATE', [progress.workflowId]);
  const current = rows[0]?.items_processed;
  if (current === undefined) throw workflowNotFound(progress.workflowId);
  if (progress.processedFrom !== undefined && current !== progress.processedFrom) {
    throw new SoftlogicError('CONFLICT', `workflow ${progress.workflowId} is being processed elsewhere (at ${current}, expected ${progress.processedFrom})`, { workflow_id: progress.workflowId });
  }
}

/** The batch's progress and refused items, in its transaction (after claimProgress). */
export async function commitProgress(client: pg.ClientBase, progress: BatchProgress): Promise<void> {
  await client.query('UPDATE workflows SET items_processed = GREATEST(items_processed, $1), updated_at = $2 WHERE workflow_id = $3', [progress.processedUpTo, new Date().toISOString(), progress.workflowId]);
  if (progress.errors && progress.errors.length > 0) await addErrorsIn(client, progress.workflowId, progress.errors, progress.errors.length);
}

/**
 * After a chunk's COMMIT whose answer was lost: whether it committed, from the workflow's row
 * (the chunk moved items_processed from processedFrom to processedUpTo, or nothing moved it).
 * Undefined when the row cannot tell (no processedFrom, or it stands in between).
 */
export async function progressCommitted(pool: pg.Pool, progress: BatchProgress): Promise<boolean | undefined> {
  const { rows } = await pool.query<{ items_processed: number }>('SELECT items_processed FROM workflows WHERE workflow_id = $1', [progress.workflowId]);
  const at = rows[0]?.items_processed;
  if (at === undefined || progress.processedFrom === undefined || progress.processedUpTo <= progress.processedFrom) return undefined;
  if (at === progress.processedFrom) return false;
  // Beyond processedFrom: this chunk committed (the claim lets only one commit leave processedFrom).
  return at >= progress.processedUpTo ? true : undefined;
}
