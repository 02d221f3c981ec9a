/**
 * The service's processing thread (see processor.ts): its own Store on the server's store
 * directory, answering stage / process / resume / importKnowledge requests with the core's
 * results, and forwarding progress events. `stop` closes its store, which ends the work in
 * progress at its next commit boundary: the workflow stays `processing`, resumable.
 */
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { Store, SoftlogicError } from '../api/index.js';
import { toSoftlogicError } from '../core/errors.js';
import type { ImportOptions } from '../methods/analogies/import.js';
import { inProcessProcessor } from './processor.js';
import type { ServiceImportOptions, ServiceKnowledgeOptions, WorkerReply, WorkerRequest } from './processor.js';
import type { ActivityState } from './activity.js';

const port = parentPort;
if (!port) throw new Error('processor-worker runs as a worker thread');
const { storeDir, activity } = workerData as { storeDir: string; activity: ActivityState };

/**
 * On a shared store (where imports are paced, see activity.ts) this thread also yields the cores
 * while it works: nice 10 for this thread alone (Linux applies setpriority to a thread id), so
 * that the server's event loop and the other replicas answer first when the cores are contended,
 * and the import runs at full speed when they are not. Elsewhere (no /proc/thread-self, not
 * allowed) the pacer alone.
 */
function yieldTheCores(): void {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (Number.isInteger(tid) && tid > 0) setPriority(tid, 10);
  } catch {
    // keep the default priority
  }
}
if (activity.foreground !== null) yieldTheCores();

// The server already resumed what needed resuming when it opened the store; its Store publishes
// the progress events this one forwards to it.
const opening = Store.open(storeDir, { resume: false, publishEvents: false });
let stopped = false;

opening.then(
  (store) => {
    store.events.on('progress', (e) => port.postMessage({ progress: e } satisfies WorkerReply));
  },
  () => {},
);

async function run(req: WorkerRequest): Promise<unknown> {
  const store = await opening;
  if (stopped) throw new SoftlogicError('STORE_CLOSED', 'the server is shutting down');
  const p = inProcessProcessor(store, activity);
  switch (req.op) {
    case 'stage':
      return p.stage(req.args[0] as string, req.args[1] as ImportOptions);
    case 'importFile':
      return p.importFile(req.args[0] as string, req.args[1] as ServiceImportOptions);
    case 'process':
      return p.process(req.args[0] as string, req.args[1] as number);
    case 'resume':
      return p.resume(req.args[0] as number);
    case 'takeOver':
      return p.takeOver(req.args[0] as number);
    case 'importKnowledge':
      return p.importKnowledge(req.args[0] as string, req.args[1] as ServiceKnowledgeOptions);
    default:
      throw new SoftlogicError('INVALID_INPUT', `unknown operation ${String(req.op)}`);
  }
}

port.on('message', (req: WorkerRequest) => {
  if (req.op === 'stop') {
    stopped = true;
    opening.then((store) => store.close(), () => {});
    return;
  }
  run(req).then(
    (result) => port.postMessage({ id: req.id, ok: true, result } satisfies WorkerReply),
    (err: unknown) => {
      const e = stopped ? new SoftlogicError('STORE_CLOSED', 'stopped by the server shutdown; the work resumes on the next start') : toSoftlogicError(err);
      port.postMessage({ id: req.id, ok: false, error: { code: e.code, message: e.message, details: e.details } } satisfies WorkerReply);
    },
  );
});
