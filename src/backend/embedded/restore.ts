import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, rmdirSync, statSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { SoftlogicError } from '../../core/errors.js';
import { assertReadableFile } from '../../core/input-files.js';
import { EmbeddedStore } from './embedded-store.js';
import { invalid, openContainer, readMembers, type MemberEntry } from '../backup-container.js';
import { countsOf, type BackupManifest, type ContextCounts } from './backup.js';
import { fsyncDir, writeFileAtomic } from './fs-durable.js';
import { AuditLog } from './audit.js';
import { killPoint } from './kill-point.js';
import { finishInterruptedRestore, RESTORE_COMPLETE } from './leftovers.js';
import { assertIndexNames, assertManifestNames } from './backup-names.js';
import { insideDir } from '../../core/paths.js';
import { verifyStore, type VerifyReport } from './verify.js';
import type { RestoreOptions, RestoreResult } from '../maintenance.js';
import { fileTimestamp } from '../../core/file-stamp.js';
export type { RestoreOptions, RestoreResult } from '../maintenance.js';

function isEmptyDir(dir: string): boolean {
  return readdirSync(dir).length === 0;
}

function sameCounts(a: ContextCounts[], b: ContextCounts[]): string | null {
  const key = (c: ContextCounts) => JSON.stringify([c.name, c.applied_seq, c.applied_off, c.analogies, Object.entries(c.entities).sort()]);
  if (a.length !== b.length) return `${b.length} contexts restored, the manifest lists ${a.length}`;
  for (let i = 0; i < a.length; i++) if (key(a[i]) !== key(b[i])) return `context '${a[i].name}' restored as ${key(b[i])}, the manifest says ${key(a[i])}`;
  return null;
}

/**
 * Whether a restore into `target` replaces a store: false for an absent or empty directory, true
 * for a store with `force`; STORE_EXISTS without it, INVALID_INPUT for anything else.
 */
export function replacesStore(target: string, force: boolean): boolean {
  if (!existsSync(target)) return false;
  if (!statSync(target).isDirectory()) throw new SoftlogicError('INVALID_INPUT', `${target} exists and is not a directory`, { path: target });
  if (isEmptyDir(target)) return false;
  if (!existsSync(join(target, 'store.json'))) {
    throw new SoftlogicError('INVALID_INPUT', `${target} is not empty and holds no softlogic store; restore into an empty directory`, { path: target });
  }
  if (!force) throw new SoftlogicError('STORE_EXISTS', `a store already exists at ${target}; pass --force to replace it (it is kept aside)`, { store: target });
  return true;
}

/** Opens the restored directory, checks counts against the manifest and (optionally) verifies it. */
function check(dir: string, manifest: BackupManifest, full: boolean): Pick<VerifyReport, 'valid' | 'issues'> | null {
  const store = EmbeddedStore.open(dir);
  try {
    const mismatch = sameCounts(manifest.contexts, countsOf(store.db).contexts);
    if (mismatch) throw invalid(`restored store does not match the backup: ${mismatch}`, { member: 'knowledge.sqlite' });
    if (!full) {
      store.audit.record({ event: 'restored', counts_checked: true, verified: false });
      return null;
    }
    const report = verifyStore(store);
    if (!report.valid) {
      throw new SoftlogicError('INTEGRITY', `restored store fails verify: ${report.issues.map((i) => i.message).join('; ')}`, { issues: report.issues });
    }
    store.audit.record({ event: 'restored', counts_checked: true, verified: true });
    return { valid: report.valid, issues: report.issues };
  } finally {
    store.close();
  }
}

/**
 * Restores a backup into `dir`. Every member is streamed into a sibling staging directory and
 * checked against its SHA-256 as it goes; nothing touches `dir` until every checksum (and the
 * container's framing: magic, member headers, manifest, end marker) matched. Then the staging
 * directory is renamed into place: into an absent or empty `dir`, or, with `force`, over an
 * existing store that is first renamed aside to DIR.old-<timestamp>; if the new store then
 * fails its check, it is removed and the old one put back.
 */
export function restoreStore(file: string, dir: string, options: RestoreOptions = {}): RestoreResult {
  const t0 = performance.now();
  assertReadableFile(file);
  const target = resolve(dir);
  completeInterruptedRestore(target);
  const replacing = replacesStore(target, options.force === true);
  const container = openContainer(file);
  const manifest = container.manifest as unknown as BackupManifest;
  try {
    assertManifestNames(manifest.contexts);
  } catch (err) {
    closeSync(container.fd);
    throw err;
  }
  const staging = `${target}.restoring-${process.pid}-${fileTimestamp()}`;
  let current: { entry: MemberEntry; fd: number } | null = null;
  try {
    mkdirSync(staging, { recursive: true });
    const dirs = new Set<string>();
    readMembers(
      container,
      (entry, chunk) => {
        if (!current || current.entry !== entry) {
          const path = insideDir(staging, entry.name);
          const parent = dirname(path);
          if (!dirs.has(parent)) {
            mkdirSync(parent, { recursive: true });
            dirs.add(parent);
          }
          current = { entry, fd: openSync(path, 'wx') };
        }
        let off = 0;
        while (off < chunk.length) off += writeSync(current.fd, chunk, off, chunk.length - off);
      },
      (entry) => {
        if (!current || current.entry !== entry) {
          const path = insideDir(staging, entry.name);
          mkdirSync(dirname(path), { recursive: true });
          current = { entry, fd: openSync(path, 'wx') }; // an empty member
        }
        fsyncSync(current.fd);
        closeSync(current.fd);
        current = null;
      },
    );
    for (const d of ['contexts', 'workflows/pending', 'backups']) mkdirSync(join(staging, d), { recursive: true });
    if (!existsSync(join(staging, 'store.json')) || !existsSync(join(staging, 'knowledge.sqlite'))) {
      throw invalid('backup lacks store.json or knowledge.sqlite', { member: existsSync(join(staging, 'store.json')) ? 'knowledge.sqlite' : 'store.json' });
    }
    assertIndexNames(join(staging, 'knowledge.sqlite'));
    for (const c of manifest.contexts) {
      const ctxDir = insideDir(join(staging, 'contexts'), c.name);
      mkdirSync(ctxDir, { recursive: true });
      if (!existsSync(join(ctxDir, 'log.jsonl'))) closeSync(openSync(join(ctxDir, 'log.jsonl'), 'w'));
    }
    // Complete and checked: from here a killed restore is finished by the next open or restore.
    writeFileAtomic(join(staging, RESTORE_COMPLETE), JSON.stringify(manifest));
  } catch (err) {
    const open = current as { fd: number } | null;
    if (open) closeSync(open.fd);
    closeSync(container.fd);
    rmSync(staging, { recursive: true, force: true });
    throw err;
  }
  closeSync(container.fd);

  let aside: string | null = null;
  try {
    if (replacing) {
      aside = `${target}.old-${fileTimestamp()}`;
      renameSync(target, aside);
      killPoint('restore-between-renames');
    } else if (existsSync(target)) {
      rmdirSync(target);
    }
    renameSync(staging, target);
    fsyncDir(dirname(target));
  } catch (err) {
    if (aside && !existsSync(target)) renameSync(aside, target);
    rmSync(staging, { recursive: true, force: true });
    throw err;
  }
  let verify: RestoreResult['verify'];
  try {
    verify = check(target, manifest, options.verify === true || replacing);
  } catch (err) {
    rmSync(target, { recursive: true, force: true });
    if (aside) renameSync(aside, target);
    throw err;
  }
  rmSync(join(target, RESTORE_COMPLETE), { force: true });
  return {
    store: target,
    backup: resolve(file),
    bytes: container.size,
    members: manifest.members.length + 1,
    seconds: (performance.now() - t0) / 1000,
    contexts: manifest.contexts,
    previous_store: aside,
    verify,
  };
}

/**
 * Finishes a `restore --force` that was killed between its renames (leftovers.ts): the complete
 * new store is moved into place and checked against its manifest like any restore. Run by every
 * open and restore; a no-op when there is nothing to finish.
 */
export function completeInterruptedRestore(root: string): boolean {
  const finished = finishInterruptedRestore(root);
  if (!finished) return false;
  check(root, finished.manifest as BackupManifest, true);
  rmSync(join(root, RESTORE_COMPLETE), { force: true });
  new AuditLog(join(root, 'audit.jsonl')).record({ event: 'restore_finished', from: basename(finished.staging) });
  return true;
}
