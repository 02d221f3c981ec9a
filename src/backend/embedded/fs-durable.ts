import { closeSync, fdatasyncSync, fsyncSync, ftruncateSync, openSync, writeSync } from 'node:fs';

/** fsync a directory so that a rename or a new file inside it survives a crash. */
export function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Write a whole file so that a crash leaves either the old content or the new, never a mix (one writer for all: core/atomic-write.ts). */
export { atomicWriteFile as writeFileAtomic } from '../../core/atomic-write.js';

/**
 * Writes `data` at `position` and fdatasyncs it: one write and one flush for a whole batch of log
 * lines. On failure the partial tail is cut off (best effort) and the error rethrown.
 */
export function appendDurably(fd: number, data: Buffer, position: number): void {
  try {
    let written = 0;
    while (written < data.length) written += writeSync(fd, data, written, data.length - written, position + written);
    fdatasyncSync(fd);
  } catch (err) {
    try {
      ftruncateSync(fd, position);
    } catch {
      // The next writer truncates an uncommitted tail anyway.
    }
    throw err;
  }
}
