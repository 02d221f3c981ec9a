/**
 * Worker thread of a parallel import (stage-parallel.ts): stages the blocks of the file it is
 * sent, one at a time, with the stager module it is given (stage-block.ts for an analogy
 * import), and posts each result back with its bytes transferred.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import type { StagingTarget } from '../../core/staged-put.js';
import type { BlockResult } from './stage-parallel.js';

export interface StageWorkerData {
  /** the file whose byte ranges jobs name; null when jobs carry their blocks */
  file: string | null;
  size: number;
  target: StagingTarget;
  /** passed to the stager as is */
  options: object;
  /** the URL of the module whose stageBlock stages a block */
  stager: string;
}

/** What a stager module exports. */
export interface Stager {
  stageBlock(block: number, lines: Buffer, target: StagingTarget, options: object, spare: ArrayBuffer | null): BlockResult;
}

export interface StageJob {
  block: number;
  start: number;
  end: number;
  /** the block's lines themselves (start and end unused) */
  data: Uint8Array | null;
  /** the memory of a block already written, handed back for reuse */
  spare: ArrayBuffer | null;
}

const SLACK = 64 * 1024;

function readFully(fd: number, buf: Buffer, position: number): number {
  let got = 0;
  while (got < buf.length) {
    const n = readSync(fd, buf, got, buf.length - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return got;
}

/**
 * The lines that start in [start, end): the line running into `start` belongs to the block
 * before, and the last line is read past `end` to its newline.
 */
// The read buffer, reused from block to block (a block's lines are staged before the next read).
let readBuffer = Buffer.alloc(0);

export function readBlockLines(fd: number, start: number, end: number, size: number): Buffer {
  const lead = start > 0 ? 1 : 0;
  // Read a little past the end: the block's last line usually ends there (no second read, no copy).
  const slack = Math.min(SLACK, size - end);
  if (readBuffer.length < end - start + lead + slack) readBuffer = Buffer.allocUnsafeSlow(end - start + lead + SLACK);
  const whole = readBuffer.subarray(0, end - start + lead + slack);
  const got = readFully(fd, whole, start - lead);
  const head = whole.subarray(0, Math.min(got, end - start + lead));
  let from = 0;
  if (lead) {
    const nl = head.indexOf(10);
    if (nl < 0 || nl >= head.length - 1) return Buffer.alloc(0);
    from = nl + 1;
  }
  if (head[head.length - 1] !== 10 && slack > 0) {
    const nl = whole.indexOf(10, head.length);
    if (nl >= 0 && nl < got) return whole.subarray(from, nl + 1);
  }
  const pieces = [head.subarray(from)];
  let position = end;
  let last = head[head.length - 1];
  while (last !== 10 && position < size) {
    const more = Buffer.allocUnsafe(Math.min(64 * 1024, size - position));
    const n = readFully(fd, more, position);
    const nl = more.subarray(0, n).indexOf(10);
    pieces.push(more.subarray(0, nl < 0 ? n : nl + 1));
    position += n;
    if (nl >= 0 || n === 0) break;
    last = more[n - 1];
  }
  return pieces.length === 1 ? pieces[0] : Buffer.concat(pieces);
}

if (parentPort) {
  const port = parentPort;
  const data = workerData as StageWorkerData;
  const fd = data.file === null ? -1 : openSync(data.file, 'r');
  // Loaded once; jobs arriving meanwhile wait for it, in order.
  const stager = import(data.stager) as Promise<Stager>;
  port.on('message', (job: StageJob | null) => {
    if (job === null) {
      if (fd >= 0) closeSync(fd);
      port.close();
      return;
    }
    void stager.then(({ stageBlock }) => {
      const lines = job.data ? Buffer.from(job.data.buffer, job.data.byteOffset, job.data.byteLength) : readBlockLines(fd, job.start, job.end, data.size);
      const result = stageBlock(job.block, lines, data.target, data.options, job.spare);
      port.postMessage(result, [result.staged.buffer as ArrayBuffer]);
    });
  });
}
