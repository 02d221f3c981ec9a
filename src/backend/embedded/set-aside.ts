import { closeSync, fsyncSync, mkdirSync, openSync, readSync, writeSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fsyncDir } from './fs-durable.js';
import type { StoreLayout } from './layout.js';
import type { AsideFile, AsidePiece } from '../maintenance.js';
import { fileTimestamp } from '../../core/file-stamp.js';
export type { AsideFile, AsidePiece } from '../maintenance.js';

/**
 * Copies pieces of a context's log into `salvaged/<context>-<time>.damaged` (the pieces one after
 * another, in order) and fsyncs it, before anything is cut from the log: damaged bytes are
 * moved aside, never thrown away.
 */
export function setAside(layout: StoreLayout, context: string, logPath: string, pieces: AsidePiece[]): AsideFile | null {
  if (pieces.length === 0) return null;
  mkdirSync(layout.salvagedDir, { recursive: true });
  const path = join(layout.salvagedDir, `${context}-${fileTimestamp()}-${process.pid}.damaged`);
  const src = openSync(logPath, 'r');
  const out = openSync(path, 'wx');
  let bytes = 0;
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (const piece of pieces) {
      for (let done = 0; done < piece.length; ) {
        const n = readSync(src, buf, 0, Math.min(buf.length, piece.length - done), piece.offset + done);
        if (n <= 0) break;
        writeSync(out, buf, 0, n);
        done += n;
        bytes += n;
      }
    }
    fsyncSync(out);
  } finally {
    closeSync(out);
    closeSync(src);
  }
  fsyncDir(layout.salvagedDir);
  return { file: relative(layout.root, path), bytes };
}
