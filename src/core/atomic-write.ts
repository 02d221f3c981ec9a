/**
 * Crash-safe file replacement: write a sibling temp file, fsync it, rename over the target, fsync
 * the directory. A reader therefore sees either the old file or the complete new one, never a
 * half-written cache, index or export. The one writer of whole files: the embedded backend's
 * metadata and the user's exports (NPZ, caches) both go through it.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { randomBytes } from 'node:crypto';

export function atomicWriteFile(path: string, chunks: readonly Uint8Array[] | string | Uint8Array): void {
  if (typeof chunks === 'string') chunks = [Buffer.from(chunks)];
  else if (chunks instanceof Uint8Array) chunks = [chunks];
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const fd = openSync(tmp, 'w', 0o644);
  try {
    for (const chunk of chunks) {
      let off = 0;
      while (off < chunk.byteLength) off += writeSync(fd, chunk, off, chunk.byteLength - off);
    }
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
  closeSync(fd);
  try {
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  syncDirectory(dir);
}

/** Makes the rename itself durable; some platforms refuse to open directories, which is harmless. */
export function syncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Directory fsync is best effort (not supported everywhere).
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
