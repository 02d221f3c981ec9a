/**
 * Worker thread of LogAppendThread: writes one batch of log bytes at a position and fdatasyncs
 * it, then publishes the outcome in shared memory and wakes the caller, which is blocked in
 * Atomics.wait inside its SQLite transaction (it cannot receive a message).
 */
import { closeSync, openSync } from 'node:fs';
import { appendDurably } from './fs-durable.js';
import { parentPort, workerData } from 'node:worker_threads';
import { APPEND_DONE, APPEND_FAILED, type AppendRequest, type AppendWorkerData, writeOutcome } from './log-append-thread.js';

if (parentPort) {
  const port = parentPort;
  const { state, message } = workerData as AppendWorkerData;
  port.on('message', (req: AppendRequest) => {
    const data = Buffer.from(req.buffer, req.offset, req.length);
    let failure: { code: string; message: string } | null = null;
    let fd: number | null = null;
    try {
      // Opened per batch, by path: the caller holds SQLite's write lock, so this is the log it
      // caught up with (compaction may have renamed a new file into place since the last batch).
      fd = openSync(req.path, 'r+');
      appendDurably(fd, data, req.position);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      failure = { code: e.code ?? 'EIO', message: e.message };
    } finally {
      if (fd !== null) closeSync(fd);
    }
    writeOutcome(message, failure);
    Atomics.store(state, 1, failure ? APPEND_FAILED : APPEND_DONE);
    Atomics.store(state, 0, req.id);
    Atomics.notify(state, 0);
    // The memory goes back, to be filled with a next batch.
    port.postMessage(req.buffer, [req.buffer]);
  });
}
