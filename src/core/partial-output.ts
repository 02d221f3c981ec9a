import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * An output a process writes outside the store (an export's `<out>.partial-PID`) is named by a
 * marker under <workDir>/tmp/ (the store's directory for the embedded backend, whose leftovers
 * check reads them) while it is written, so a killed run's partial file can still be
 * found, listed and removed. Returns the function that drops the marker once the output is done.
 */
export function trackPartialOutput(workDir: string, partial: string): () => void {
  const dir = join(workDir, 'tmp');
  mkdirSync(dir, { recursive: true });
  const marker = join(dir, `output-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2, 10)}.json`);
  writeFileSync(marker, JSON.stringify({ partial, pid: process.pid }));
  return () => rmSync(marker, { force: true });
}

