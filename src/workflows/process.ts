import { existsSync, unlinkSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { SoftlogicError, isSoftlogicError, toSoftlogicError } from '../core/errors.js';
import type { Workflow, WorkflowStatus } from '../core/records.js';
import type { Engine } from './engine.js';
import { itemApplier } from './item-appliers.js';
import { chunkPipeline, type PreparedChunk, type PreparedChunks } from './chunk-pipelines.js';
import { RateMeter } from './progress.js';
import { beginBulkLoad, bulkLoadWorthwhile, endBulkLoad } from '../backend/embedded/bulk-load.js';
import { readStaged } from './staging.js';
import { stagedDigestOfFile } from '../core/staged-digest.js';
import { assertTransition, publicWorkflow, type StoredWorkflow } from './workflow-repo.js';

export const DEFAULT_BATCH_SIZE = 50_000;
export const MAX_BATCH_SIZE = 1_000_000;
/** Below this many items a pipeline's thread costs more than it saves. */
const PIPELINE_MIN_ITEMS = 20_000;

export interface ProcessOptions {
  batchSize?: number;
  /**
   * Stops at the next chunk boundary without cancelling: the workflow stays `processing` with
   * every committed chunk, and is resumed by the next open of the store (used on shutdown).
   */
  signal?: AbortSignal;
  /**
   * The user asked to stop (Ctrl-C): at the next chunk boundary the workflow becomes
   * `interrupted`, keeping every committed chunk, and is never resumed on its own (only by
   * `workflows resume ID` or `workflows process ID`).
   */
  interrupt?: AbortSignal;
  /**
   * A large analogy import into a store not much larger than itself drops the query indexes and
   * builds them once at its end (backend/embedded/bulk-load.ts): much faster, but queries running
   * meanwhile scan instead of seeking. Default true; the service, which answers queries during
   * imports, passes false.
   */
  bulkLoad?: boolean;
  /** Encode chunks on a second thread while the main one commits (default true); see ImportOptions.parallel. */
  pipeline?: boolean;
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
  // A failed or interrupted workflow keeps its staged items: it may be processed again.
  if ((status === 'completed' || status === 'cancelled') && existsSync(path)) unlinkSync(path);
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
/**
 * `staged`: the caller staged the items in this process a moment ago (an import), so the
 * whole-file checksum it just computed is not read back again (every line's CRC still is);
 * `staged.chunks` were prepared from the first item on while the file was being staged. They
 * are used if the workflow is processed by a pipeline, and closed otherwise.
 */
export async function processWorkflow(engine: Engine, workflowId: string, options: ProcessOptions = {}, staged?: { chunks: PreparedChunks | null }): Promise<Workflow> {
  try {
    return await processStaged(engine, workflowId, options, staged);
  } finally {
    await staged?.chunks?.close();
  }
}

async function processStaged(engine: Engine, workflowId: string, options: ProcessOptions, staged: { chunks: PreparedChunks | null } | undefined): Promise<Workflow> {
  const justStaged = staged !== undefined;
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_BATCH_SIZE) {
    throw new SoftlogicError('INVALID_INPUT', `batch size must be an integer in [1, ${MAX_BATCH_SIZE}], got ${batchSize}`, { field: 'batch_size' });
  }
  const wf = engine.workflows.get(workflowId);
  assertTransition(wf, 'processing', 'process');
  const apply = itemApplier(wf.workflow_type);
  if (!apply) throw new SoftlogicError('INVALID_INPUT', `workflow type ${wf.workflow_type} cannot be processed here`, { workflow_type: wf.workflow_type });
  const path = engine.store.layout.pending(workflowId);
  // Every item applied (a process that died just before recording `completed`): the staged file,
  // removed as soon as the last chunk was committed, is not needed any more.
  const allApplied = wf.items_processed >= wf.items_total;
  if (!allApplied && !existsSync(path)) fail(engine, wf, new SoftlogicError('STAGED_CORRUPT', `staged items of workflow ${workflowId} are missing (${path})`));
  if (!allApplied && !justStaged && (await stagedDigestOfFile(path, wf.staged_crc)) !== wf.staged_crc) {
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

  const commitChunk = (chunk: Array<{ json: string }>): boolean => {
    if (engine.workflows.get(workflowId).cancel_requested) return false;
    const messages: string[] = [];
    const start = processed;
    engine.store.write(wf.context, (batch) => {
      const current = engine.workflows.processedCount(workflowId);
      if (current !== start) {
        throw new SoftlogicError('CONFLICT', `workflow ${workflowId} is being processed elsewhere (at ${current}, expected ${start})`);
      }
      const now = new Date().toISOString();
      chunk.forEach(({ json }, i) => {
        try {
          apply(engine.store, batch, json, now, workflowId);
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

  // A large analogy import into a store not much larger than itself builds the query indexes once at its end.
  const bulk = options.bulkLoad !== false && wf.workflow_type === 'analogy_creation' && bulkLoadWorthwhile(engine.store, wf.items_total - processed);
  if (bulk) beginBulkLoad(engine.store, workflowId);
  /** A chunk encoded by a pipeline; false when the log moved under it (it is then done item by item). */
  const commitPrepared = (prepared: PreparedChunk): 'go' | 'cancelled' | 'moved' => {
    if (engine.workflows.get(workflowId).cancel_requested) return 'cancelled';
    const start = processed;
    if (prepared.start !== start) return 'moved';
    const progress = { workflowId, processedUpTo: start + prepared.count };
    const committed = engine.store.writePrepared(
      wf.context,
      { ...prepared, progress },
      {
        check: () => {
          const current = engine.workflows.processedCount(workflowId);
          if (current !== start) throw new SoftlogicError('CONFLICT', `workflow ${workflowId} is being processed elsewhere (at ${current}, expected ${start})`);
        },
        applyRows: (row) => prepared.applyRows(engine.store, row.ctx),
      },
    );
    if (!committed) return 'moved';
    processed += prepared.count;
    emit(engine, wf, 'processing', processed, errors, meter, false);
    return 'go';
  };

  let removal: Promise<void> | undefined;
  try {
    const pipeline = chunkPipeline(wf.workflow_type);
    const context = engine.store.context(wf.context);
    if (pipeline && options.pipeline !== false && context && wf.items_total - processed >= PIPELINE_MIN_ITEMS) {
      const ready = staged?.chunks && processed === 0 ? staged.chunks : null;
      const chunks = ready ?? pipeline({ store: engine.store, path, from: processed, batchSize, context: wf.context, workflowId, seq: context.applied_seq, off: context.applied_off });
      for await (const prepared of chunks) {
        if (prepared === null) break;
        await yieldToEventLoop();
        if (stopAsked(options)) return stopped(engine, wf, options, processed, errors, meter);
        const outcome = commitPrepared(prepared);
        if (outcome === 'cancelled') return cancelled(engine, wf, processed, errors, meter);
        if (outcome === 'moved') break;
      }
    }
    let chunk: Array<{ json: string }> = [];
    const commitNext = async (): Promise<'go' | 'cancelled' | 'stopped'> => {
      await yieldToEventLoop();
      if (stopAsked(options)) return 'stopped';
      const go = commitChunk(chunk);
      chunk = [];
      return go ? 'go' : 'cancelled';
    };
    // (After a pipeline that did every item there is nothing left to read.)
    for await (const staged of processed < wf.items_total ? readStaged(path, processed) : []) {
      chunk.push(staged);
      if (chunk.length >= batchSize) {
        const next = await commitNext();
        if (next === 'cancelled') return cancelled(engine, wf, processed, errors, meter);
        if (next === 'stopped') return stopped(engine, wf, options, processed, errors, meter);
      }
    }
    if (chunk.length > 0) {
      const next = await commitNext();
      if (next === 'cancelled') return cancelled(engine, wf, processed, errors, meter);
      if (next === 'stopped') return stopped(engine, wf, options, processed, errors, meter);
    }
    // Every item is committed: the staged file goes (on the I/O thread pool) while the query
    // indexes are built.
    removal = unlink(path).catch(() => undefined);
  } catch (err) {
    const e = toSoftlogicError(err);
    // Another processor took the workflow over: it is theirs to finish.
    if (e.code === 'CONFLICT') throw e;
    failLoudly(engine, wf, e, processed);
  } finally {
    if (bulk) endBulkLoad(engine.store);
  }
  await removal;
  const done = finish(engine, wf, 'completed');
  emit(engine, wf, 'completed', done.items_processed, done.error_count, meter, true);
  return done;
}

function stopAsked(options: ProcessOptions): boolean {
  return options.signal?.aborted === true || options.interrupt?.aborted === true;
}

/** A shutdown leaves the workflow `processing` for the next open to resume; a user's interrupt leaves it `interrupted`. */
function stopped(engine: Engine, wf: StoredWorkflow, options: ProcessOptions, processed: number, errors: number, meter: RateMeter): Workflow {
  if (options.interrupt?.aborted) {
    const done = finish(engine, wf, 'interrupted');
    emit(engine, wf, 'interrupted', processed, errors, meter, true);
    return done;
  }
  engine.store.audit.record({ event: 'workflow_stopped', workflow_id: wf.workflow_id, reason: 'stop requested; resumable' });
  return publicWorkflow(engine.workflows.get(wf.workflow_id));
}

/**
 * A processing error (a full disk, an I/O error) fails the workflow, so that nothing resumes it
 * behind the user's back, and the error names it and says what can be done. If even recording
 * the failure fails, the error says the next open of the store resumes it.
 */
function failLoudly(engine: Engine, wf: StoredWorkflow, e: SoftlogicError, processed: number): never {
  const at = `${processed}/${wf.items_total} items committed`;
  let recorded = true;
  try {
    engine.store.transaction(() => engine.workflows.addErrors(wf.workflow_id, [e.message]));
    finish(engine, wf, 'failed', { reason: e.message, code: e.code });
  } catch {
    recorded = false;
  }
  const next = recorded
    ? `status failed; once the cause is fixed, \`softlogic workflows resume ${wf.workflow_id}\` applies the rest, or \`softlogic workflows rollback ${wf.workflow_id}\` undoes the committed part`
    : `its failure could not be recorded, so the next open of the store resumes it (or run \`softlogic workflows cancel ${wf.workflow_id}\`)`;
  throw new SoftlogicError(e.code, `${e.message} (workflow ${wf.workflow_id}, ${at}; ${next})`, { ...e.details, workflow_id: wf.workflow_id, items_processed: processed, workflow_status: recorded ? 'failed' : 'processing' });
}

function cancelled(engine: Engine, wf: StoredWorkflow, processed: number, errors: number, meter: RateMeter): Workflow {
  const done = finish(engine, wf, 'cancelled');
  emit(engine, wf, 'cancelled', processed, errors, meter, true);
  return done;
}
