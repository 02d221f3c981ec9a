import { availableParallelism } from 'node:os';
import { statSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { SoftlogicError } from '../../core/errors.js';
import type { StagingTarget } from '../../core/staged-put.js';
import type { StagedBlock } from './stage-block.js';
import type { StageJob, StageWorkerData } from './stage-worker.js';

/**
 * Staging a large JSON-lines file on every core. The file is cut into blocks of BLOCK_BYTES;
 * workers take the next block as they finish one (parse, validate, build, serialise: the costly
 * part), and the results are handed to `accept` strictly in file order, so the staged file and
 * every line number are what a single pass would produce. At most WINDOW blocks are in flight,
 * which bounds memory however large the file.
 */
export const PARALLEL_MIN_BYTES = 8 * 1024 * 1024;
const BLOCK_BYTES = 4 * 1024 * 1024;
const MAX_WORKERS = 4;

export async function stageInParallel(
  file: string,
  target: StagingTarget,
  options: { lenient: boolean; maxIssues: number },
  accept: (block: StagedBlock, firstLine: number) => void,
): Promise<void> {
  const size = statSync(file).size;
  const blocks = Math.ceil(size / BLOCK_BYTES);
  if (blocks === 0) return;
  const count = Math.max(1, Math.min(availableParallelism(), MAX_WORKERS, blocks));
  const window = count * 2;
  const data: StageWorkerData = { file, size, target, lenient: options.lenient, maxIssues: options.maxIssues };
  const workers = Array.from({ length: count }, () => new Worker(new URL('./stage-worker.js', import.meta.url), { workerData: data }));
  try {
    await new Promise<void>((resolve, reject) => {
      const results = new Map<number, StagedBlock>();
      const idle: Worker[] = [];
      const spares: ArrayBuffer[] = [];
      let next = 0;
      let written = 0;
      let lineBase = 0;
      let failed = false;
      const fail = (err: unknown) => {
        if (failed) return;
        failed = true;
        reject(err instanceof Error ? err : new SoftlogicError('INTERNAL', String(err)));
      };
      const dispatch = (worker: Worker) => {
        if (next >= blocks || next >= written + window) {
          idle.push(worker);
          return;
        }
        const block = next++;
        const job: StageJob = { block, start: block * BLOCK_BYTES, end: Math.min(size, (block + 1) * BLOCK_BYTES), spare: spares.pop() ?? null };
        worker.postMessage(job, job.spare ? [job.spare] : []);
      };
      for (const worker of workers) {
        worker.on('message', (result: StagedBlock) => {
          if (failed) return;
          results.set(result.block, result);
          try {
            for (let r = results.get(written); r !== undefined; r = results.get(written)) {
              results.delete(written);
              accept(r, lineBase + 1);
              // Written: its memory goes back to a worker with a next block.
              spares.push(r.staged.buffer as ArrayBuffer);
              lineBase += r.lines;
              written += 1;
            }
          } catch (err) {
            fail(err);
            return;
          }
          if (written === blocks) {
            resolve();
            return;
          }
          dispatch(worker);
          while (idle.length > 0 && next < blocks && next < written + window) dispatch(idle.pop() as Worker);
        });
        worker.on('error', fail);
        worker.on('exit', (code) => {
          if (code !== 0) fail(new SoftlogicError('INTERNAL', `a staging worker exited with code ${code}`));
        });
        dispatch(worker);
      }
    });
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
