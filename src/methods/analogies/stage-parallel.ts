import { availableParallelism } from 'node:os';
import { statSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { SoftlogicError } from '../../core/errors.js';
import { waitForLines, type ArrivingFile } from '../../core/arriving-file.js';
import type { StagingTarget } from '../../core/staged-put.js';
import type { StagedBlock } from './stage-block.js';
import type { StageJob, StageWorkerData } from './stage-worker.js';

/** What a worker's stager returns for a block (stage-block.ts's StagedBlock, or another stager's). */
export interface BlockResult {
  block: number;
  /** staged lines, whose memory is handed back to a worker once the block is accepted */
  staged: Uint8Array;
  /** lines in the block, blank ones included */
  lines: number;
}

/**
 * Staging a large JSON-lines input on every core. The input comes in blocks of whole lines:
 * byte ranges of BLOCK_BYTES of a file (each worker reads its own), or blocks another reader
 * produces (a JSON array's elements as lines, handed over with their memory). Workers take the
 * next block as they finish one (parse, validate, build, serialise: the costly part), and the
 * results are handed to `accept` strictly in input order, so the staged file and every line
 * number are what a single pass would produce. At most WINDOW blocks are in flight, which bounds
 * memory however large the input. `accept` may return a promise: the next block is handed over
 * once it settles (and the block's memory is reused only then).
 *
 * The stager (options.stager, default stage-block.ts) is the module whose `stageBlock(block,
 * lines, target, options, spare)` a worker runs on each block; `options` is passed to it as is.
 */
export const PARALLEL_MIN_BYTES = 8 * 1024 * 1024;
export const BLOCK_BYTES = 4 * 1024 * 1024;
const MAX_WORKERS = 4;

/** Blocks staged on worker threads in this process (tests check an input took this path). */
export const parallelStaged = { blocks: 0 };

/**
 * A file's byte ranges, or blocks of whole lines (each a Buffer owning its memory). `arriving`:
 * the file is still being written (an upload): each range is staged once the file holds the
 * lines that start in it, the announced length standing for the file's size.
 */
export type StageInput = { file: string; arriving?: ArrivingFile } | { blocks: AsyncIterable<Buffer>; sizeHint: number };

type Job = { start: number; end: number } | { data: Buffer };

async function* fileRanges(size: number): AsyncGenerator<Job> {
  for (let start = 0; start < size; start += BLOCK_BYTES) yield { start, end: Math.min(size, start + BLOCK_BYTES) };
}

/**
 * The same ranges as fileRanges, each once the file holds every line that starts in it (whole
 * lines up to its end: the last of them ends there or later), the last once the file is complete.
 */
async function* arrivingRanges(file: ArrivingFile): AsyncGenerator<Job> {
  for (let start = 0; ; start += BLOCK_BYTES) {
    const { end, complete } = await waitForLines(file, start + BLOCK_BYTES);
    if (complete && end > file.size) throw new SoftlogicError('INVALID_INPUT', `the input is longer than announced (${end} bytes, not ${file.size})`, { field: 'body' });
    if (complete && start >= end) return;
    yield { start, end: complete ? Math.min(end, start + BLOCK_BYTES) : start + BLOCK_BYTES };
  }
}

async function* dataBlocks(blocks: AsyncIterable<Buffer>): AsyncGenerator<Job> {
  for await (const data of blocks) yield { data };
}

export async function stageInParallel<B extends BlockResult = StagedBlock, O extends object = { lenient: boolean; maxIssues: number }>(
  input: StageInput,
  target: StagingTarget,
  options: O,
  accept: (block: B, firstLine: number) => void | Promise<void>,
  stager: URL = new URL('./stage-block.js', import.meta.url),
): Promise<void> {
  const file = 'file' in input ? input.file : null;
  const size = 'file' in input ? (input.arriving?.size ?? statSync(input.file).size) : input.sizeHint;
  const expected = Math.ceil(size / BLOCK_BYTES);
  if (expected === 0) return;
  const ranges = 'file' in input && input.arriving ? arrivingRanges(input.arriving) : fileRanges(size);
  const jobs = ('file' in input ? ranges : dataBlocks(input.blocks))[Symbol.asyncIterator]();
  const count = Math.max(1, Math.min(availableParallelism(), MAX_WORKERS, expected));
  const window = count * 2;
  const data: StageWorkerData = { file, size, target, options, stager: stager.href };
  const workers = Array.from({ length: count }, () => new Worker(new URL('./stage-worker.js', import.meta.url), { workerData: data }));
  try {
    await new Promise<void>((resolve, reject) => {
      const results = new Map<number, B>();
      const idle: Worker[] = [...workers];
      const spares: ArrayBuffer[] = [];
      let next = 0;
      let written = 0;
      let lineBase = 0;
      let failed = false;
      let reading = false;
      let accepting = false;
      let ended = false;
      const fail = (err: unknown) => {
        if (failed) return;
        failed = true;
        reject(err instanceof Error ? err : new SoftlogicError('INTERNAL', String(err)));
      };
      const finished = () => {
        if (ended && written === next && !failed) resolve();
      };
      // Reads the next jobs while a worker is idle and the window has room (one read at a time).
      const pump = async () => {
        if (reading) return;
        reading = true;
        try {
          while (!failed && !ended && idle.length > 0 && next < written + window) {
            const job = await jobs.next();
            if (job.done) {
              ended = true;
              break;
            }
            const worker = idle.pop() as Worker;
            const block = next++;
            const spare = spares.pop() ?? null;
            const message: StageJob = 'data' in job.value ? { block, start: 0, end: 0, data: job.value.data, spare } : { block, ...job.value, data: null, spare };
            const transfer: ArrayBuffer[] = spare ? [spare] : [];
            if (message.data) transfer.push(message.data.buffer as ArrayBuffer);
            worker.postMessage(message, transfer);
          }
        } catch (err) {
          fail(err);
          return;
        } finally {
          reading = false;
        }
        finished();
      };
      // Hands the finished blocks to `accept` in input order, one at a time.
      const drain = async () => {
        if (accepting) return;
        accepting = true;
        try {
          for (let r = results.get(written); r !== undefined && !failed; r = results.get(written)) {
            results.delete(written);
            const pending = accept(r, lineBase + 1);
            if (pending) await pending;
            // Written: its memory goes back to a worker with a next block.
            spares.push(r.staged.buffer as ArrayBuffer);
            lineBase += r.lines;
            written += 1;
            parallelStaged.blocks += 1;
          }
        } catch (err) {
          fail(err);
          return;
        } finally {
          accepting = false;
        }
        finished();
        void pump();
      };
      for (const worker of workers) {
        worker.on('message', (result: B) => {
          if (failed) return;
          results.set(result.block, result);
          idle.push(worker);
          void drain();
          void pump();
        });
        worker.on('error', fail);
        worker.on('exit', (code) => {
          if (code !== 0) fail(new SoftlogicError('INTERNAL', `a staging worker exited with code ${code}`));
        });
      }
      void pump();
    });
  } finally {
    await jobs.return?.(undefined);
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

/**
 * stageInParallel read block by block (a pull, for a consumer that awaits between blocks): next()
 * gives the next block in input order, with its first line's number, or null at the end; the
 * block before it is then done with (its memory goes back to the workers). close() stops the
 * staging if the consumer stops early.
 */
export class StagedBlockQueue<B extends BlockResult> {
  private slot: { block: B; firstLine: number; release: () => void; refuse: (err: Error) => void } | null = null;
  private release: (() => void) | null = null;
  private wake: (() => void) | null = null;
  private closed = false;
  private settled = false;
  private error: unknown = null;
  private readonly run: Promise<void>;

  constructor(start: (accept: (block: B, firstLine: number) => Promise<void>) => Promise<void>) {
    this.run = start(
      (block, firstLine) =>
        new Promise<void>((release, refuse) => {
          if (this.closed) refuse(new SoftlogicError('INTERNAL', 'staging stopped'));
          else {
            this.slot = { block, firstLine, release, refuse };
            this.notify();
          }
        }),
    ).then(
      () => this.end(null),
      (err: unknown) => this.end(err ?? new SoftlogicError('INTERNAL', 'staging failed')),
    );
  }

  private end(err: unknown): void {
    this.settled = true;
    this.error = err;
    this.notify();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  async next(): Promise<{ block: B; firstLine: number } | null> {
    this.release?.();
    this.release = null;
    for (;;) {
      if (this.slot) {
        const taken = this.slot;
        this.slot = null;
        this.release = taken.release;
        return taken;
      }
      if (this.settled) {
        if (this.error) throw this.error;
        return null;
      }
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  /** Stops the staging (if still running) and waits for its workers to end. */
  async close(): Promise<void> {
    this.closed = true;
    this.release?.();
    this.release = null;
    this.slot?.refuse(new SoftlogicError('INTERNAL', 'staging stopped'));
    this.slot = null;
    await this.run;
  }
}
