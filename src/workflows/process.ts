import { SoftlogicError, isSoftlogicError, toSoftlogicError } from '../core/errors.js';
import { killPoint } from '../core/kill-point.js';
import type { RecordKind, Workflow, WorkflowStatus, WorkflowType } from '../core/records.js';
import type { Engine } from './engine.js';
import { itemApplier } from './item-appliers.js';
import { RateMeter } from './progress.js';
import { assertTransition } from './status.js';
import { WorkflowLease } from './lease.js';
import { publicWorkflow, type StagedItem, type StoredWorkflow } from '../backend/workflow-table.js';
import type { BulkLoad, PreparedAhead, PreparedRun } from '../backend/capabilities.js';
import type { Pacer } from './pacer.js';

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
   * A large analogy or knowledge import into a store not much larger than itself (or, on the embedded
   * backend, one whose indexes outgrow its page cache, unless endBulkLoadWhen is given) drops the query
   * indexes and builds them once at its end (the bulk load): much faster, but queries running
   * meanwhile scan instead of seeking. Default true; the service, which answers queries during
   * imports, passes false.
   */
  bulkLoad?: boolean;
  /**
   * Asked after each commit of a bulk load: once true, the query indexes are built then and the
   * rest is committed with them (the service: a query arrived during an import it began while quiet).
   */
  endBulkLoadWhen?: () => boolean;
  /** Encode chunks on a second thread while the main one commits (default true); see ImportOptions.parallel. */
  pipeline?: boolean;
  /** Paces the chunks while foreground queries are answered (the service; see pacer.ts). */
  pacer?: Pacer;
}

/** Workflow types whose large runs bulk load (analogy imports, and knowledge imports: mostly analogies). */
const BULK_LOADED = new Set<WorkflowType>(['analogy_creation', 'knowledge_import']);

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

async function finish(engine: Engine, wf: StoredWorkflow, status: WorkflowStatus, extra: Record<string, unknown> = {}, stagedRemoved = false): Promise<Workflow> {
  const table = engine.backend.workflows;
  await table.transition(wf.workflow_id, status, null);
  // A failed or interrupted workflow keeps its staged items: it may be processed again.
  if ((status === 'completed' || status === 'cancelled') && !stagedRemoved) await table.dropStaged(wf.workflow_id);
  const done = await table.get(wf.workflow_id);
  await engine.backend.audit.record({
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

async function fail(engine: Engine, wf: StoredWorkflow, err: SoftlogicError): Promise<never> {
  await engine.backend.workflows.addErrors(wf.workflow_id, [err.message]);
  await finish(engine, wf, 'failed', { reason: err.message });
  throw err;
}

/**
 * Applies a workflow's staged items in chunks; each chunk is one store batch whose commit also
 * advances items_processed (checked inside the batch, so two processors can never apply the
 * same chunk). Stops at a chunk boundary when cancelled.
 *
 * `staged`: the caller staged the items in this process a moment ago (an import), so their
 * digest, just computed, is not read back again (every item's own checksum still is);
 * `staged.ahead` (a backend's prepared import) were encoded from the first item on while the
 * items were being staged: used if the workflow is processed the prepared way, closed otherwise.
 */
export async function processWorkflow(engine: Engine, workflowId: string, options: ProcessOptions = {}, staged?: { ahead: PreparedAhead | null }): Promise<Workflow> {
  if (engine.running.has(workflowId)) {
    await staged?.ahead?.close();
    throw new SoftlogicError('CONFLICT', `workflow ${workflowId} is already being processed here`, { workflow_id: workflowId });
  }
  engine.running.add(workflowId);
  const lease = new WorkflowLease(engine.backend.workflows, workflowId);
  try {
    return await processStaged(engine, workflowId, options, staged, lease);
  } finally {
    lease.stop();
    engine.running.delete(workflowId);
    await staged?.ahead?.close();
  }
}

async function processStaged(engine: Engine, workflowId: string, options: ProcessOptions, staged: { ahead: PreparedAhead | null } | undefined, lease: WorkflowLease): Promise<Workflow> {
  const justStaged = staged !== undefined;
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_BATCH_SIZE) {
    throw new SoftlogicError('INVALID_INPUT', `batch size must be an integer in [1, ${MAX_BATCH_SIZE}], got ${batchSize}`, { field: 'batch_size' });
  }
  const table = engine.backend.workflows;
  const wf = await table.get(workflowId);
  assertTransition(wf, 'processing', 'process');
  const applier = itemApplier(wf.workflow_type);
  if (!applier) throw new SoftlogicError('INVALID_INPUT', `workflow type ${wf.workflow_type} cannot be processed here`, { workflow_type: wf.workflow_type });
  // Owned (and, where ownership is a lease, renewed) from here to the end.
  await lease.claim();
  // Every item applied (a process that died just before recording `completed`): the staged
  // items, dropped as soon as the last chunk was committed, are not needed any more.
  const allApplied = wf.items_processed >= wf.items_total;
  if (!allApplied && !(await table.hasStaged(workflowId))) await fail(engine, wf, new SoftlogicError('STAGED_CORRUPT', `staged items of workflow ${workflowId} are missing`));
  if (!allApplied && !justStaged && (await table.stagedDigest(workflowId, wf.staged_crc)) !== wf.staged_crc) {
    await fail(engine, wf, new SoftlogicError('STAGED_CORRUPT', `staged items of workflow ${workflowId} were modified after staging (checksum mismatch); nothing more was applied`));
  }
  await table.transition(workflowId, 'processing', process.pid);
  if (wf.status === 'pending') await engine.backend.audit.record({ event: 'workflow_processing', workflow_id: workflowId, items_total: wf.items_total });
  let processed = wf.items_processed;
  let errors = wf.error_count;
  const meter = new RateMeter(processed);
  emit(engine, wf, 'processing', processed, errors, meter, false);
  const cancelAsked = async () => (await table.get(workflowId)).cancel_requested;

  const commitChunk = async (chunk: StagedItem[]): Promise<boolean> => {
    lease.assertHeld();
    if (await cancelAsked()) return false;
    const messages: string[] = [];
    const start = processed;
    // Parsed first, so that the records the chunk reads are named before its batch.
    const parsed: unknown[] = new Array<unknown>(chunk.length);
    const refused: Array<string | null> = new Array<string | null>(chunk.length).fill(null);
    const prefetch: Array<readonly [RecordKind, string]> = [];
    chunk.forEach(({ json }, i) => {
      try {
        parsed[i] = applier.parse(json, wf.context);
        for (const key of applier.keys(parsed[i])) prefetch.push(key);
      } catch (err) {
        if (!isSoftlogicError(err) || err.httpStatus >= 500) throw err;
        refused[i] = err.message;
      }
    });
    const state = applier.prepare ? await applier.prepare(engine.backend, wf.context, parsed.filter((_, i) => refused[i] === null)) : undefined;
    await engine.backend.write(
      wf.context,
      (batch) => {
        // A backend may run this again after a lost connection: the messages are this run's.
        messages.length = 0;
        const now = new Date().toISOString();
        for (let i = 0; i < chunk.length; i++) {
          const message = refused[i] ?? tryApply(() => applier.apply(batch, parsed[i], now, workflowId, state));
          if (message !== null) messages.push(`item ${start + i + 1}: ${message}`);
        }
        batch.setProgress({ workflowId, processedFrom: start, processedUpTo: start + chunk.length, errors: messages });
      },
      { prefetch },
    );
    processed += chunk.length;
    errors += messages.length;
    emit(engine, wf, 'processing', processed, errors, meter, false);
    return true;
  };

  const prepared = engine.backend.capabilities.preparedImport;
  // A large analogy import into a store not much larger than itself (see beginBulkLoad) builds its query indexes once at its end.
  let bulk = options.bulkLoad !== false && options.endBulkLoadWhen?.() !== true && BULK_LOADED.has(wf.workflow_type) ? ((await prepared?.beginBulkLoad(wf, wf.items_total - processed, { interruptible: options.endBulkLoadWhen !== undefined })) ?? null) : null;

  let run: PreparedRun | null = null;
  let removal: Promise<boolean> | undefined;
  options.pacer?.restart();
  try {
    if (prepared && options.pipeline !== false && wf.items_total - processed >= PIPELINE_MIN_ITEMS) {
      run = prepared.run(wf, processed, { batchSize, ahead: processed === 0 ? (staged?.ahead ?? null) : null });
    }
    if (run) {
      for await (const chunk of run) {
        if (chunk === null) break;
        await yieldToEventLoop();
        await options.pacer?.pace();
        if (stopAsked(options)) return await stopped(engine, wf, options, processed, errors, meter);
        if (await cancelAsked()) return await cancelled(engine, wf, processed, errors, meter);
        // Another writer moved the store under the chunk: the rest goes item by item.
        if (chunk.start !== processed || !(await chunk.commit())) break;
        processed += chunk.count;
        if (bulk) killPoint('bulk-load-chunk-committed');
        emit(engine, wf, 'processing', processed, errors, meter, false);
        bulk = await endBulkLoadIfAsked(bulk, options);
      }
      await run.close();
    }
    let chunk: StagedItem[] = [];
    const commitNext = async (): Promise<'go' | 'cancelled' | 'stopped'> => {
      await yieldToEventLoop();
      await options.pacer?.pace();
      if (stopAsked(options)) return 'stopped';
      const go = await commitChunk(chunk);
      chunk = [];
      bulk = await endBulkLoadIfAsked(bulk, options);
      return go ? 'go' : 'cancelled';
    };
    // (After a prepared run that did every item there is nothing left to read.)
    if (processed < wf.items_total) {
      await bulk?.beforeItemByItem?.(processed);
      for await (const page of table.readStaged(workflowId, processed)) {
        for (const item of page) {
          chunk.push(item);
          if (chunk.length < batchSize) continue;
          const next = await commitNext();
          if (next === 'cancelled') return await cancelled(engine, wf, processed, errors, meter);
          if (next === 'stopped') return await stopped(engine, wf, options, processed, errors, meter);
        }
      }
    }
    if (chunk.length > 0) {
      const next = await commitNext();
      if (next === 'cancelled') return await cancelled(engine, wf, processed, errors, meter);
      if (next === 'stopped') return await stopped(engine, wf, options, processed, errors, meter);
    }
    // Every item is committed: the staged items go while the query indexes are built.
    removal = table.dropStaged(workflowId).then(
      () => true,
      () => false,
    );
  } catch (err) {
    const e = toSoftlogicError(err);
    // Another processor took the workflow over: it is theirs to finish.
    if (e.code === 'CONFLICT') throw e;
    await failLoudly(engine, wf, e, processed);
  } finally {
    await run?.close();
    await bulk?.end();
  }
  // Removed already: finish need not look again (on PostgreSQL a second DELETE walks the dead rows: 1 s per 1M).
  const removed = (await removal) === true;
  // How long the work yielded to foreground queries (staging's pauses included).
  const done = await finish(engine, wf, 'completed', options.pacer ? { paced: options.pacer.takeCounts() } : {}, removed);
  emit(engine, wf, 'completed', done.items_processed, done.error_count, meter, true);
  return done;
}

async function endBulkLoadIfAsked(bulk: BulkLoad | null, options: ProcessOptions): Promise<BulkLoad | null> {
  if (!bulk || options.endBulkLoadWhen?.() !== true) return bulk;
  await bulk.end();
  return null;
}

/** An item's refusal message (a SoftlogicError below 500), or null when it applied. */
function tryApply(fn: () => void): string | null {
  try {
    fn();
    return null;
  } catch (err) {
    if (!isSoftlogicError(err) || err.httpStatus >= 500) throw err;
    return err.message;
  }
}

function stopAsked(options: ProcessOptions): boolean {
  return options.signal?.aborted === true || options.interrupt?.aborted === true;
}

/** A shutdown leaves the workflow `processing` for the next open to resume; a user's interrupt leaves it `interrupted`. */
async function stopped(engine: Engine, wf: StoredWorkflow, options: ProcessOptions, processed: number, errors: number, meter: RateMeter): Promise<Workflow> {
  if (options.interrupt?.aborted) {
    const done = await finish(engine, wf, 'interrupted');
    emit(engine, wf, 'interrupted', processed, errors, meter, true);
    return done;
  }
  await engine.backend.audit.record({ event: 'workflow_stopped', workflow_id: wf.workflow_id, reason: 'stop requested; resumable' });
  return publicWorkflow(await engine.backend.workflows.get(wf.workflow_id));
}

/**
 * A processing error (a full disk, an I/O error) fails the workflow, so that nothing resumes it
 * behind the user's back, and the error names it and says what can be done. If even recording
 * the failure fails, the error says the next open of the store resumes it.
 */
async function failLoudly(engine: Engine, wf: StoredWorkflow, e: SoftlogicError, processed: number): Promise<never> {
  const at = `${processed}/${wf.items_total} items committed`;
  let recorded = true;
  try {
    await engine.backend.workflows.addErrors(wf.workflow_id, [e.message]);
    await finish(engine, wf, 'failed', { reason: e.message, code: e.code });
  } catch {
    recorded = false;
  }
  const next = recorded
    ? `status failed; once the cause is fixed, \`softlogic workflows resume ${wf.workflow_id}\` applies the rest, or \`softlogic workflows rollback ${wf.workflow_id}\` undoes the committed part`
    : `its failure could not be recorded, so the next open of the store resumes it (or run \`softlogic workflows cancel ${wf.workflow_id}\`)`;
  throw new SoftlogicError(e.code, `${e.message} (workflow ${wf.workflow_id}, ${at}; ${next})`, { ...e.details, workflow_id: wf.workflow_id, items_processed: processed, workflow_status: recorded ? 'failed' : 'processing' });
}

async function cancelled(engine: Engine, wf: StoredWorkflow, processed: number, errors: number, meter: RateMeter): Promise<Workflow> {
  const done = await finish(engine, wf, 'cancelled');
  emit(engine, wf, 'cancelled', processed, errors, meter, true);
  return done;
}
