import { existsSync, lstatSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { pidAlive as ownerAlive } from '../../core/pid-alive.js';
import { fsyncDir } from './fs-durable.js';
import type { EmbeddedStore } from './embedded-store.js';
import type { LeftoverKind, Leftover } from '../maintenance.js';
export type { LeftoverKind, Leftover } from '../maintenance.js';

export const STAGED_GRACE_MS = 10 * 60 * 1000;
const FINISHED = new Set(['completed', 'cancelled', 'rolled_back']);
/** Written into a restore's staging directory once every member is in and checked. */
export const RESTORE_COMPLETE = 'restore-complete.json';

export { trackPartialOutput } from '../../core/partial-output.js';

function bytesOf(path: string): number {
  const st = lstatSync(path);
  if (!st.isDirectory()) return st.size;
  let n = 0;
  for (const name of readdirSync(path)) n += bytesOf(join(path, name));
  return n;
}

function pidIn(name: string, pattern: RegExp): number | null {
  const m = pattern.exec(name);
  return m ? Number(m[1]) : null;
}

/** Restore staging directories of `root` (siblings named ROOT.restoring-PID-TIME). */
export function restoreStagings(root: string): string[] {
  const parent = dirname(root);
  const prefix = `${basename(root)}.restoring-`;
  return existsSync(parent) ? readdirSync(parent).filter((n) => n.startsWith(prefix)).map((n) => join(parent, n)) : [];
}

export function findLeftovers(store: EmbeddedStore): Leftover[] {
  const layout = store.layout;
  const out: Leftover[] = [];
  const add = (kind: LeftoverKind, path: string, owner: number | null, removable: boolean) =>
    out.push({ kind, path: relative(layout.root, path), bytes: bytesOf(path), owner_pid: owner, removable });

  if (existsSync(layout.pendingDir)) {
    const status = store.db.prepare('SELECT status FROM workflows WHERE workflow_id = ?').pluck();
    for (const name of readdirSync(layout.pendingDir)) {
      if (!name.endsWith('.jsonl')) continue;
      const path = join(layout.pendingDir, name);
      const row = status.get(name.slice(0, -'.jsonl'.length)) as string | undefined;
      if (row !== undefined && !FINISHED.has(row)) continue;
      const idle = Date.now() - statSync(path).mtimeMs > STAGED_GRACE_MS;
      add('staged_orphan', path, null, row !== undefined || idle);
    }
  }
  if (existsSync(layout.backupsDir)) {
    for (const name of readdirSync(layout.backupsDir)) {
      const work = pidIn(name, /^\.backup-(\d+)-/);
      if (work !== null) add('backup_work', join(layout.backupsDir, name), work, !ownerAlive(work));
      const partial = pidIn(name, /\.partial-(\d+)$/);
      if (partial !== null) add('backup_partial', join(layout.backupsDir, name), partial, !ownerAlive(partial));
    }
  }
  for (const path of restoreStagings(layout.root)) {
    const owner = pidIn(basename(path), /\.restoring-(\d+)-/);
    add('restore_staging', path, owner, !ownerAlive(owner));
  }
  const compacting = new Map(store.listContexts().map((c) => [c.name, c.compacting]));
  if (existsSync(layout.contextsDir)) {
    for (const name of readdirSync(layout.contextsDir)) {
      // A set flag means the compaction committed: the next writer renames the file in.
      if (existsSync(layout.compactingLog(name)) && !compacting.get(name)) add('compacting_log', layout.compactingLog(name), null, true);
      const salvage = `${layout.log(name)}.salvage`;
      if (existsSync(salvage)) add('salvage_log', salvage, null, true);
    }
  }
  for (const name of readdirSync(layout.root)) {
    const owner = pidIn(name, /^knowledge\.sqlite\.rebuild-(\d+)$/);
    if (owner !== null) add('rebuild_index', join(layout.root, name), owner, !ownerAlive(owner));
  }
  const tmp = join(layout.root, 'tmp');
  for (const name of existsSync(tmp) ? readdirSync(tmp) : []) {
    // A gzip'd import's decompressed copy, as versions before 2026-11-27 wrote (none is written now).
    const gunzipOwner = pidIn(name, /^gunzip-(\d+)-/);
    if (gunzipOwner !== null) add('import_temp', join(tmp, name), gunzipOwner, !ownerAlive(gunzipOwner));
    if (name.startsWith('output-') && name.endsWith('.json')) {
      const marker = join(tmp, name);
      let partial: unknown;
      try {
        partial = (JSON.parse(readFileSync(marker, 'utf8')) as { partial?: unknown }).partial;
      } catch {
        partial = undefined;
      }
      const owner = pidIn(name, /^output-(\d+)-/);
      const removable = !ownerAlive(owner);
      if (typeof partial === 'string' && partial.includes('.partial-') && existsSync(partial)) add('export_partial', partial, owner, removable);
      add('export_partial', marker, owner, removable);
    }
  }
  return out;
}

/**
 * Removes every removable leftover (under the write lock, so no compaction or salvage is
 * writing its file meanwhile) and records what went in the audit log.
 */
export function removeLeftovers(store: EmbeddedStore): Leftover[] {
  // Looked for without the lock first: most opens find nothing and need not wait for a writer.
  if (!findLeftovers(store).some((l) => l.removable)) return [];
  return store.transaction(() => {
    const removed = findLeftovers(store).filter((l) => l.removable);
    for (const l of removed) rmSync(join(store.layout.root, l.path), { recursive: true, force: true });
    if (removed.length > 0) store.audit.record({ event: 'leftovers_removed', leftovers: removed });
    return removed;
  });
}

/**
 * A `restore --force` killed between its two renames leaves no store at `root`, the old one at
 * ROOT.old-TIME and the complete new one at ROOT.restoring-PID-TIME (with RESTORE_COMPLETE in
 * it). This finishes the swap: the complete staging directory is renamed into place (its
 * manifest is returned, for the caller to check the restored store against). Returns null when
 * there is nothing to finish.
 */
export function finishInterruptedRestore(root: string): { staging: string; manifest: unknown } | null {
  if (existsSync(join(root, 'store.json'))) return null;
  if (existsSync(root) && readdirSync(root).length > 0) return null;
  const complete = restoreStagings(root)
    .filter((dir) => existsSync(join(dir, RESTORE_COMPLETE)))
    .sort()
    .pop();
  if (!complete) return null;
  const manifest = JSON.parse(readFileSync(join(complete, RESTORE_COMPLETE), 'utf8')) as unknown;
  if (existsSync(root)) rmSync(root, { recursive: true });
  renameSync(complete, root);
  fsyncDir(dirname(root));
  return { staging: complete, manifest };
}

