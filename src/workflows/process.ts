import { existsSync, unlinkSync } from 'node:fs';
import { SoftlogicError, isSoftlogicError, toSoftlogicError } from '../core/errors.js';
import type { Workflow, WorkflowStatus } from '../core/records.js';
import type { Engine } from './engine.js';
import { itemApplier } from './item-appliers.js';
import { RateMeter } from './progress.js';
import { hashFile, readStaged } from './staging.js';
import { assertTransition, publicWorkflow, type StoredWorkflow } from './workflow-repo.js';

export const DEFAULT_BATCH_SIZE = 50_000;

export interface ProcessOptions {
  batchSize?: number;
  /**
   * Stops at the next chunk boundary without cancelling: the workflow stays `processing` with
   * every committed chunk, and is resumed by the next open of the store (used on shutdown).
   */
  signal?: AbortSignal;
}

/** Lets timers, sockets and other requests run between two chunk commits. */
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

function emit(engine: Engine, wf: StoredWorkflow, status: WorkflowStatus, processed: number, errors: number, meter: RateMeter, final: boolean): void {
  const { rate, eta_seconds } = meter.measure(processed, wf.items_total);
  engine.events.emit('progress', {
    workflow_id: wf.workflow_id,
    status,
    items_processed: processed,
    items_total: wf.items_total,
    error_count: errors,
    rate,
    eta_seconds: final ? 0 : eta_seconds,
    final,
  });
}

function finish(engine: Engine, wf: StoredWorkflow, status: WorkflowStatus, extra: Record<string, unknown> = {}): Workflow {
  engine.store.transaction(() => {
    engine.workflows.setStatus(wf.workflow_id, status);
    engine.workflows.setOwner(wf.workflow_id, null);
  });
  const path = engine.store.layout.pending(wf.workflow_id);
  if (status !== 'failed' && existsSync(path)) unlinkSync(path);
  const done = engine.workflows.get(wf.workflow_id);
  engine.store.audit.record({
    event: `workflow_${status}`,
    workflow_id: wf.workflow_id,
    workflow_type: wf.workflow_type,
    items_total: done.items_total,
    items_processed: done.items_processed,
    error_count: done.error_count,
    ...extra,
  });
  return publicWorkflow(done);
}

function fail(engine: Engine, wf: StoredWorkflow, err: SoftlogicError): never {
  engine.store.transaction(() => engine.workflows.addErrors(wf.workflow_id, [err.message]));
  finish(engine, wf, 'failed', { reason: err.message });
  throw err;
}

/**
 * Applies a workflow's staged items in chunks; each chunk is one store batch whose commit also
 * advances items_processed (checked inside the transaction, so two processors can never apply
 * the same chunk). Stops at a chunk boundary when cancelled.
 */
export async function processWorkflow(engine: Engine, workflowId: string, options: ProcessOptions = {}): Promise<Workflow> {
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 1_000_000) {
    throw new SoftlogicError('INVALID_INPUT', `batch size must be an integer in [1, 1000000], got ${batchSize}`, { field: 'batch_size' });
  }
  const wf = engine.workflows.get(workflowId);
  assertTransition(wf, 'processing', 'process');
  const apply = itemApplier(wf.workflow_type);
  if (!apply) throw new SoftlogicError('INVALID_INPUT', `workflow type ${wf.workflow_type} cannot be processed here`, { workflow_type: wf.workflow_type });
  const path = engine.store.layout.pending(workflowId);
  if (!existsSync(path)) fail(engine, wf, new SoftlogicError('STAGED_CORRUPT', `staged items of workflow ${workflowId} are missing (${path})`));
  if ((await hashFile(path)) !== wf.staged_crc) {
    fail(engine, wf, new SoftlogicError('STAGED_CORRUPT', `staged items of workflow ${workflowId} were modified after staging (checksum mismatch); nothing more was applied`, { path }));
  }
  engine.store.transaction(() => {
    engine.workflows.setStatus(workflowId, 'processing');
    engine.workflows.setOwner(workflowId, process.pid);
  });
  if (wf.status === 'pending') engine.store.audit.record({ event: 'workflow_processing', workflow_id: workflowId, items_total: wf.items_total });
  let processed = wf.items_processed;
  let errors = wf.error_count;
  const meter = new RateMeter(processed);
  emit(engine, wf, 'processing', processed, errors, meter, false);

  const commitChunk = (chunk: Array<{ item: unknown; json: string }>): boolean => {
    if (engine.workflows.get(workflowId).cancel_requested) return false;
    const messages: string[] = [];
    const start = processed;
    engine.store.write(wf.context, (batch) => {
      const current = engine.workflows.processedCount(workflowId);
      if (current !== start) {
        throw new SoftlogicError('CONFLICT', `workflow ${workflowId} is being processed elsewhere (at ${current}, expected ${start})`);
      }
      const now = new Date().toISOString();
      chunk.forEach(({ item, json }, i) => {
        try {
          apply(engine.store, batch, item, now, workflowId, json);
        } catch (err) {
          if (!isSoftlogicError(err) || err.httpStatus >= 500) throw err;
          messages.push(`item ${start + i + 1}: ${err.message}`);
        }
      });
      batch.setProgress({ workflowId, processedUpTo: start + chunk.length });
      engine.workflows.addErrors(workflowId, messages);
    });
    processed += chunk.length;
    errors += messages.length;
    emit(engine, wf, 'processing', processed, errors, meter, false);
    return true;
  };

  try {
    let chunk: Array<{ item: unknown; json: string }> = [];
    const commitNext = async (): Promise<'go' | 'cancelled' | 'stopped'> => {
      await yieldToEventLoop();
      if (options.signal?.aborted) return 'stopped';
      const go = commitChunk(chunk);
      chunk = [];
      return go ? 'go' : 'cancelled';
    };
    for await (const staged of readStaged<unknown>(path, processed)) {
      chunk.push(staged);
      if (chunk.length >= batchSize) {
        const next = await commitNext();
        if (next === 'cancelled') return cancelled(engine, wf, processed, errors, meter);
        if (next === 'stopped') return stopped(engine, wf);
      }
    }
    if (chunk.length > 0) {
      const next = await commitNext();
      if (next === 'cancelled') return cancelled(engine, wf, processed, errors, meter);
      if (next === 'stopped') return stopped(engine, wf);
    }
  } catch (err) {
    const e = toSoftlogicError(err);
    if (e.code === 'STAGED_CORRUPT') fail(engine, wf, e);
    throw e;
  }
  const done = finish(engine, wf, 'completed');
  emit(engine, wf, 'completed', done.items_processed, done.error_count, meter, true);
  return done;
}

function stopped(engine: Engine, wf: StoredWorkflow): Workflow {
  engine.store.audit.record({ event: 'workflow_stopped', workflow_id: wf.workflow_id, reason: 'stop requested; resumable' });
  return publicWorkflow(engine.workflows.get(wf.workflow_id));
}

function cancelled(engine: Engine, wf: StoredWorkflow, processed: number, errors: number, meter: RateMeter): Workflow {
  const done = finish(engine, wf, 'cancelled');
  emit(engine, wf, 'cancelled', processed, errors, meter, true);
  return done;
}
