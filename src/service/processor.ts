import { Worker } from 'node:worker_threads';
import { Pacer, SoftlogicError, type Store, type Workflow, type ImportOptions, type ImportResult, type ProgressEvent } from '../api/index.js';
import type { KnowledgeImportOptions, KnowledgeImportResult } from '../methods/knowledge/import.js';
import { foregroundLatency, paceBudgetMs, requestSince, type ActivityState } from './activity.js';

export interface Staged {
  workflow: Workflow;
  rejected: number;
  rejectsFile: string | null;
  reasonsFile: string | null;
  reasons: Array<{ line?: number; field: string; reason: string }>;
}

/**
 * Where the service's heavy work runs: staging uploads, processing workflows, resuming, knowledge
 * imports. Each is a call to the core; only the thread differs.
 */
export interface Processor {
  /** `options.parallel`: the server is quiet (see activity.ts); otherwise staged on one thread. */
  stage(file: string, options: ImportOptions): Promise<Staged>;
  /**
   * Stages and processes in one (the CLI's import). `options.parallel`: the server is quiet:
   * staged on every core with chunks encoded meanwhile, and a bulk load when worth it, which
   * ends at the first commit after a request arrives. Otherwise one staging thread, the query
   * indexes kept. `options.arriving`: the upload is still arriving (read as ImportOptions.arriving says).
   */
  importFile(file: string, options: ServiceImportOptions): Promise<ImportResult>;
  process(workflowId: string, batchSize: number): Promise<Workflow>;
  resume(batchSize: number): Promise<Workflow[]>;
  /** Claims and finishes the workflows whose owner is gone (another replica that died): the takeover loop's work. */
  takeOver(batchSize: number): Promise<Workflow[]>;
  /** `quiet`: as importFile's `parallel` (a bulk load when worth it, ended once a request arrives). */
  importKnowledge(file: string, options: ServiceKnowledgeOptions): Promise<KnowledgeImportResult>;
  /** Shutdown past its grace period: stop the work at its next commit boundary (it stays resumable). */
  stop(): void;
  /** Releases the thread (after the work has settled). */
  close(): Promise<void>;
}

/**
 * In the server's own thread, on the server's Store. Simple, but every commit (a synchronous
 * SQLite transaction and fsync'd log append) and every staging stretch blocks the event loop,
 * and the core's processing loop does not yield between chunks: queries wait up to hundreds of
 * milliseconds while a large batch is processed.
 */
export function inProcessProcessor(store: Store, activity: ActivityState): Processor {
  const requestsStarted = activity.started;
  // Each import, process or resume yields to the queries the server answers meanwhile (a shared store only; see ServerActivity.state).
  const foreground = activity.foreground;
  const budgetMs = paceBudgetMs();
  const pacer = () => (foreground ? new Pacer(foregroundLatency(foreground), { budgetMs }) : undefined);
  return {
    // While queries are answered, on the same cores: staging on one thread and the query
    // indexes kept (no bulk load), so query latency stays steady. Processing encodes its chunks
    // on the import's encoder thread (the pipelined path, also for records with their own ids):
    // it takes work off this thread rather than adding any.
    stage: (file, options) => store.analogies.stage(file, { ...options, parallel: options.parallel === true, pacer: pacer() }),
    importFile: (file, options) => {
      const quiet = options.parallel === true;
      return store.analogies.import(file, { ...options, parallel: quiet, pipeline: true, bulkLoad: quiet, endBulkLoadWhen: quiet ? requestSince(requestsStarted) : undefined, pacer: pacer() });
    },
    process: (id, batchSize) => store.workflows.process(id, { batchSize, bulkLoad: false, pacer: pacer() }),
    resume: (batchSize) => store.workflows.resume({ batchSize, bulkLoad: false, pacer: pacer() }),
    takeOver: (batchSize) => store.workflows.takeOver({ batchSize, bulkLoad: false, pacer: pacer() }),
    importKnowledge: (file, { quiet, ...options }) =>
      store.import(file, { ...options, parallel: quiet === true, bulkLoad: quiet === true, endBulkLoadWhen: quiet === true ? requestSince(requestsStarted) : undefined }),
    stop: () => store.close(),
    close: async () => {},
  };
}

/** What the service passes to an import: ImportOptions that cross threads (no functions). */
export type ServiceImportOptions = Pick<ImportOptions, 'context' | 'workflowId' | 'lenient' | 'batchSize' | 'parallel' | 'arriving'>;

export type ServiceKnowledgeOptions = Pick<KnowledgeImportOptions, 'context' | 'merge' | 'batchSize'> & { quiet?: boolean };

type Op = 'stage' | 'importFile' | 'process' | 'resume' | 'takeOver' | 'importKnowledge';

export interface WorkerRequest {
  id: number;
  op: Op | 'stop';
  args: unknown[];
}

export type WorkerReply =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: { code: string; message: string; details: Record<string, unknown> } }
  | { progress: ProgressEvent };

/**
 * In a worker thread with its own connection to the same store (the embedded store takes
 * several writers, as it does several processes). The server's event loop only parses requests
 * and answers queries; the worker's progress events are re-emitted on the server's Store, so
 * /ws/workflows/:id sees them as they happen (and the server's Store publishes them to the other
 * replicas; the worker's own publishes nothing). Started on first use.
 */
export function workerProcessor(store: Store, activity: ActivityState): Processor {
  let worker: Worker | null = null;
  let nextId = 1;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();

  const failAll = (err: SoftlogicError) => {
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  };

  const start = (): Worker => {
    if (worker) return worker;
    const w = new Worker(new URL('./processor-worker.js', import.meta.url), { workerData: { storeDir: store.openedAt, activity } });
    w.on('message', (msg: WorkerReply) => {
      if ('progress' in msg) {
        store.events.emit('progress', msg.progress);
        return;
      }
      const p = pending.get(msg.id);
      if (!p) return;
      pending.delete(msg.id);
      if (msg.ok) p.resolve(msg.result);
      else p.reject(new SoftlogicError(msg.error.code as SoftlogicError['code'], msg.error.message, msg.error.details));
    });
    w.on('error', (err) => failAll(new SoftlogicError('INTERNAL', `processing thread failed: ${err.message}`)));
    w.on('exit', () => {
      if (worker === w) worker = null;
      failAll(new SoftlogicError('STORE_CLOSED', 'the processing thread stopped'));
    });
    worker = w;
    return w;
  };

  const call = <T>(op: Op, ...args: unknown[]): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      start().postMessage({ id, op, args } satisfies WorkerRequest);
    });

  return {
    stage: (file, options) => call<Staged>('stage', file, options),
    importFile: (file, options) => call<ImportResult>('importFile', file, options),
    process: (id, batchSize) => call<Workflow>('process', id, batchSize),
    resume: (batchSize) => call<Workflow[]>('resume', batchSize),
    takeOver: (batchSize) => call<Workflow[]>('takeOver', batchSize),
    importKnowledge: (file, options) => call<KnowledgeImportResult>('importKnowledge', file, options),
    stop: () => worker?.postMessage({ id: 0, op: 'stop', args: [] } satisfies WorkerRequest),
    close: async () => {
      const w = worker;
      worker = null;
      if (w) await w.terminate();
    },
  };
}
