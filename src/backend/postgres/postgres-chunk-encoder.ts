import { Worker } from 'node:worker_threads';
import { movable, type ChunkRows } from './postgres-chunk-rows.js';
import type { EncodeAnswer, EncodeRequest } from './postgres-chunk-worker.js';

/**
 * A prepared import's chunks encoded on a thread of their own (postgres-chunk-worker.ts): the
 * staged pages' bytes go there and the chunk's COPY lines come back as one buffer, so this thread
 * makes no string per item (measured on 1M items: its decoding, encoding and their garbage
 * collection were most of its work while the server wrote the chunk before). Started with the run
 * (start()), ended by close().
 */
export class ChunkEncoder {
  private worker: Worker | null = null;
  private next = 0;
  private readonly waiting = new Map<number, { resolve: (rows: ChunkRows | null) => void; reject: (err: Error) => void }>();
  private failure: Error | null = null;

  /** The chunk's rows from readStagedPageBytes' bytes of items [start, end), or null (not all of them, or not all puts of the index form). */
  encode(pages: Buffer, start: number, end: number, context: string): Promise<ChunkRows | null> {
    if (this.failure) return Promise.reject(this.failure);
    const worker = this.start();
    const job = this.next++;
    const req: EncodeRequest = { job, pages, start, end, context };
    return new Promise<ChunkRows | null>((resolve, reject) => {
      this.waiting.set(job, { resolve, reject });
      worker.postMessage(req, movable(pages));
    });
  }

  /** Starts the thread now (a chunk's encoding need not wait for it). */
  start(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(new URL('./postgres-chunk-worker.js', import.meta.url));
    worker.on('message', (answer: EncodeAnswer) => {
      const waiter = this.waiting.get(answer.job);
      this.waiting.delete(answer.job);
      if (!waiter) return;
      if ('error' in answer) waiter.reject(new Error(`encoding a chunk: ${answer.error}`));
      else if ('none' in answer) waiter.resolve(null);
      else waiter.resolve({ ids: answer.ids, lines: Buffer.from(answer.lines.buffer, answer.lines.byteOffset, answer.lines.byteLength), starts: answer.starts });
    });
    worker.on('error', (err) => this.fail(err));
    worker.on('exit', () => this.fail(new Error('the chunk encoder thread ended')));
    this.worker = worker;
    return worker;
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const waiter of this.waiting.values()) waiter.reject(this.failure);
    this.waiting.clear();
    this.worker = null;
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.fail(new Error('the chunk encoder was closed'));
    if (worker) await worker.terminate();
  }
}
