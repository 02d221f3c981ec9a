import { Worker } from 'node:worker_threads';
import { SoftlogicError, toSoftlogicError } from '../../core/errors.js';
import { chunkBuffers } from '../../core/buffer-pool.js';

/**
 * Appends a batch's log lines on another thread while the caller, inside its SQLite
 * transaction (which holds the write lock), inserts the batch's rows: the write and its
 * fdatasync overlap the inserts instead of following them. The caller then waits for the
 * outcome (Atomics.wait, so the transaction stays synchronous) before it commits: the log is
 * durable before SQLite records the batch, exactly as with ContextLog.append. The written
 * batch's memory comes back to this thread's chunkBuffers pool.
 */
export const APPEND_DONE = 1;
export const APPEND_FAILED = 2;
/** How long a caller waits for one batch's write and fdatasync before it gives up. */
const WAIT_MS = 10 * 60 * 1000;
const MESSAGE_BYTES = 4096;

export interface AppendWorkerData {
  /** [0]: id of the last finished request; [1]: its outcome (APPEND_DONE / APPEND_FAILED) */
  state: Int32Array;
  /** a failure's { code, message } as JSON text, length-prefixed */
  message: Uint8Array;
}

export interface AppendRequest {
  id: number;
  path: string;
  position: number;
  buffer: ArrayBuffer;
  offset: number;
  length: number;
}

export function writeOutcome(message: Uint8Array, failure: { code: string; message: string } | null): void {
  const text = Buffer.from(JSON.stringify(failure ?? {}).slice(0, MESSAGE_BYTES - 4));
  new DataView(message.buffer, message.byteOffset).setUint32(0, text.length);
  message.set(text, 4);
}

function readOutcome(message: Uint8Array): { code?: string; message?: string } {
  const length = new DataView(message.buffer, message.byteOffset).getUint32(0);
  return JSON.parse(Buffer.from(message.buffer, message.byteOffset + 4, length).toString('utf8')) as { code?: string; message?: string };
}

/** One batch being written: wait() returns once it is durable, or throws what failed. */
export interface PendingAppend {
  wait(): void;
}

export class LogAppendThread {
  private readonly worker: Worker;
  private readonly state = new Int32Array(new SharedArrayBuffer(8));
  private readonly message = new Uint8Array(new SharedArrayBuffer(MESSAGE_BYTES));
  private nextId = 1;
  private busy = false;

  constructor() {
    const data: AppendWorkerData = { state: this.state, message: this.message };
    this.worker = new Worker(new URL('./log-append-worker.js', import.meta.url), { workerData: data });
    // It only ever works for a caller blocked on it; it must not keep the process alive.
    this.worker.unref();
    this.worker.on('message', (buffer: ArrayBuffer) => chunkBuffers.put(buffer));
  }

  /**
   * Starts writing `data` at byte `position` of the file at `path`. Its memory is handed over
   * to the thread (the caller must not use it again). One batch at a time.
   */
  start(path: string, position: number, data: Uint8Array): PendingAppend {
    if (this.busy) throw new SoftlogicError('INTERNAL', 'a log append is already in flight');
    this.busy = true;
    const id = this.nextId++;
    const request: AppendRequest = { id, path, position, buffer: data.buffer as ArrayBuffer, offset: data.byteOffset, length: data.byteLength };
    this.worker.postMessage(request, [request.buffer]);
    return { wait: () => this.wait(id) };
  }

  private wait(id: number): void {
    const deadline = Date.now() + WAIT_MS;
    try {
      for (;;) {
        const done = Atomics.load(this.state, 0);
        if (done === id) break;
        if (Date.now() > deadline) throw new SoftlogicError('INTERNAL', `the log writer thread did not finish a batch in ${WAIT_MS / 1000} s`);
        Atomics.wait(this.state, 0, done, 1000);
      }
    } finally {
      this.busy = false;
    }
    if (Atomics.load(this.state, 1) === APPEND_DONE) return;
    const failure = readOutcome(this.message);
    const err = Object.assign(new Error(failure.message ?? 'log write failed'), { code: failure.code });
    throw toSoftlogicError(err);
  }

  close(): Promise<number> {
    return this.worker.terminate();
  }
}
