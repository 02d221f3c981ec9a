import { SoftlogicError } from './errors.js';

/**
 * A file still being written by another thread (the service's upload, staged while its body
 * arrives): the writer publishes how far the file holds whole lines (just past its last newline
 * written) and, at the end, its length; readers in any thread wait for those. The state is shared
 * memory, so it crosses threads in a message as it is: [0] bytes of whole lines written, [1] the
 * file's length once complete (-1 while arriving, -2 when the writing failed).
 */
export interface ArrivingFile {
  state: BigInt64Array;
  /** the length announced before the bytes (an upload's content-length) */
  size: number;
}

const ARRIVING = -1n;
const BROKEN = -2n;
/** How often a waiting reader looks again (a 4 MB block arrives in tens of milliseconds). */
const POLL_MS = 5;

export function arrivingFile(size: number): ArrivingFile {
  const state = new BigInt64Array(new SharedArrayBuffer(16));
  state[1] = ARRIVING;
  return { state, size };
}

/** Writer: the file holds whole lines up to `linesEnd` (bytes). */
export function linesWritten(file: ArrivingFile, linesEnd: number): void {
  Atomics.store(file.state, 0, BigInt(linesEnd));
}

/** Writer: every byte is written; the file is `length` bytes long. */
export function fileComplete(file: ArrivingFile, length: number): void {
  Atomics.store(file.state, 0, BigInt(length));
  Atomics.store(file.state, 1, BigInt(length));
}

/** Writer: the file will not be completed. */
export function fileBroken(file: ArrivingFile): void {
  Atomics.store(file.state, 1, BROKEN);
}

/**
 * Reader: waits until the file holds whole lines up to `wanted` bytes or is complete; returns
 * how far it holds whole lines (every byte once complete) and whether it is complete. A file
 * whose writing failed is an INVALID_INPUT (the writer reports its own cause to its caller).
 */
export async function waitForLines(file: ArrivingFile, wanted: number): Promise<{ end: number; complete: boolean }> {
  for (;;) {
    const length = Atomics.load(file.state, 1);
    if (length === BROKEN) throw new SoftlogicError('INVALID_INPUT', 'the input stopped arriving before its end', { field: 'body' });
    if (length >= 0n) return { end: Number(length), complete: true };
    const end = Number(Atomics.load(file.state, 0));
    if (end >= wanted) return { end, complete: false };
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** Reader: waits until the file is complete. */
export async function waitForFile(file: ArrivingFile): Promise<void> {
  await waitForLines(file, Infinity);
}
