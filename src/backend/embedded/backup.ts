import Database from 'better-sqlite3';
import { closeSync, existsSync, fstatSync, linkSync, lstatSync, mkdirSync, openSync, readdirSync, readSync, renameSync, rmSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { SoftlogicError, toSoftlogicError } from '../../core/errors.js';
import { isValidId } from '../../core/names.js';
import type { EmbeddedStore } from './embedded-store.js';
import { ContainerWriter, type MemberEntry } from '../backup-container.js';
import { decodeLine, checksumOk } from './log-format.js';
import { readBlock, SegmentMap } from './log-segments.js';
import { fsyncDir } from './fs-durable.js';
import { assertLogIntact } from './log-check.js';
import { killPoint } from './kill-point.js';
import { STORE_FORMAT_VERSION } from './layout.js';
import { StagedDigest } from '../../core/staged-digest.js';
import type { ContextCounts, BackupResult, BackupOptions } from '../maintenance.js';
import { fileTimestamp } from '../../core/file-stamp.js';
export type { ContextCounts, BackupResult, BackupOptions } from '../maintenance.js';

export interface BackupManifest {
  format: 'softlogic-backup';
  version: 1;
  created_at: string;
  store_format_version: number;
  source: string;
  contexts: ContextCounts[];
  workflows: Record<string, number>;
  /** staged files of unfinished workflows that were gone before they could be copied */
  pending_missing: string[];
  members: MemberEntry[];
}

const MAX_ATTEMPTS = 5;

interface SnapshotRow {
  ctx: number;
  name: string;
  parent: string | null;
  applied_seq: number;
  applied_off: number;
  compacting: number;
}

/** Counts per context in a (snapshot) database: what the manifest promises and restore checks. */
export function countsOf(db: Database.Database): { contexts: ContextCounts[]; workflows: Record<string, number> } {
  const rows = db.prepare('SELECT ctx, name, parent, applied_seq, applied_off, compacting FROM contexts ORDER BY name').all() as SnapshotRow[];
  const analogies = new Map<number, { active: number; deleted: number }>();
  for (const r of db.prepare('SELECT ctx, SUM(deleted_at IS NULL) AS active, SUM(deleted_at IS NOT NULL) AS deleted FROM analogies GROUP BY ctx').all() as Array<{ ctx: number; active: number; deleted: number }>) {
    analogies.set(r.ctx, { active: r.active, deleted: r.deleted });
  }
  const entities = new Map<number, Record<string, { active: number; deleted: number }>>();
  for (const r of db
    .prepare('SELECT ctx, kind, SUM(deleted_at IS NULL) AS active, SUM(deleted_at IS NOT NULL) AS deleted FROM entities GROUP BY ctx, kind')
    .all() as Array<{ ctx: number; kind: string; active: number; deleted: number }>) {
    const m = entities.get(r.ctx) ?? {};
    m[r.kind] = { active: r.active, deleted: r.deleted };
    entities.set(r.ctx, m);
  }
  const workflows: Record<string, number> = {};
  for (const w of db.prepare('SELECT status, COUNT(*) AS n FROM workflows GROUP BY status').all() as Array<{ status: string; n: number }>) workflows[w.status] = w.n;
  return {
    contexts: rows.map((r) => ({
      name: r.name,
      parent: r.parent,
      applied_seq: r.applied_seq,
      applied_off: r.applied_off,
      analogies: analogies.get(r.ctx) ?? { active: 0, deleted: 0 },
      entities: entities.get(r.ctx) ?? {},
    })),
    workflows,
  };
}

/** Whether the log's line ending at virtual offset `length` is the commit line of `seq`. */
function endsWithCommit(fd: number, map: SegmentMap, length: number, seq: number): boolean {
  if (length === 0) return seq === 0;
  let buf: Buffer;
  let span: number;
  const block = map.find(length - 1);
  if (block) {
    // Right after a compaction the last line is the last one of the last block.
    buf = readBlock(fd, block);
    span = length - block.v0;
  } else {
    span = Math.min(length - map.vTail, 4096);
    buf = Buffer.alloc(span);
    readSync(fd, buf, 0, span, map.toPhysical(length - span));
  }
  if (buf[span - 1] !== 10) return false;
  const start = buf.lastIndexOf(10, span - 2) + 1;
  const text = buf.toString('utf8', start, span - 1);
  if (!checksumOk(text)) return false;
  const line = decodeLine(text);
  return line !== null && line.type === 'commit' && line.last === seq;
}

/** Regular files of a context directory other than its log (metadata.json, embeddings.npz, indexes). */
function contextFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isFile() && !e.name.startsWith('.') && !e.name.includes('.tmp') && e.name !== 'log.jsonl' && e.name !== 'log.jsonl.compacting')
    .filter((e) => /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(e.name))
    .map((e) => e.name)
    .sort();
}

/**
 * One consistent snapshot of the store in one file. The database is copied with SQLite's
 * online backup API (whose result is a state the database was in: a write by another
 * connection mid-copy restarts it); the watermarks are then read from that copy, and each log
 * is copied up to its watermark, since logs only grow past a committed watermark. A compaction
 * that replaces a log during the copy is detected (inode change, or the bytes at the watermark
 * are not that batch's commit line) and the backup starts over. Staged files of unfinished
 * workflows are hard-linked before the snapshot so that a workflow finishing meanwhile cannot
 * take them away.
 */
export async function backupStore(store: EmbeddedStore, options: BackupOptions = {}): Promise<BackupResult> {
  store.assertOpen();
  const out = resolve(options.out ?? join(store.layout.backupsDir, `backup-${fileTimestamp()}.slbak`));
  if (existsSync(out)) throw new SoftlogicError('INVALID_INPUT', `${out} already exists; choose another --out`, { path: out });
  if (out.startsWith(store.layout.root + '/') && !out.startsWith(store.layout.backupsDir + '/')) {
    throw new SoftlogicError('INVALID_INPUT', `a backup inside the store must go under ${store.layout.backupsDir}`, { path: out });
  }
  mkdirSync(dirname(out), { recursive: true });
  const t0 = performance.now();
  for (let attempt = 1; ; attempt++) {
    try {
      const result = await backupOnce(store, out);
      return { ...result, seconds: (performance.now() - t0) / 1000, attempts: attempt };
    } catch (err) {
      const e = toSoftlogicError(err);
      if (e.code !== 'CONFLICT' || attempt >= MAX_ATTEMPTS) throw e;
      await new Promise((r) => setTimeout(r, 50 * attempt));
    }
  }
}

async function backupOnce(store: EmbeddedStore, out: string): Promise<Omit<BackupResult, 'seconds' | 'attempts'>> {
  const layout = store.layout;
  const work = join(layout.backupsDir, `.backup-${process.pid}-${fileTimestamp()}`);
  mkdirSync(work, { recursive: true });
  const partial = `${out}.partial-${process.pid}`;
  const logFds = new Map<string, { fd: number; ino: number }>();
  let writer: ContainerWriter | null = null;
  try {
    // 1. Before the snapshot: hold every log open (a compaction's rename cannot pull the file
    //    away) and hard-link staged workflow files.
    for (const row of store.listContexts()) {
      const fd = openSync(layout.log(row.name), 'r');
      logFds.set(row.name, { fd, ino: fstatSync(fd).ino });
    }
    const linked = new Map<string, string>();
    if (existsSync(layout.pendingDir)) {
      for (const name of readdirSync(layout.pendingDir)) {
        if (!name.endsWith('.jsonl') || !isValidId(name.slice(0, -6))) continue;
        const target = join(work, name);
        try {
          linkSync(join(layout.pendingDir, name), target);
          linked.set(name.slice(0, -6), target);
        } catch {
          // finished meanwhile, or links unsupported: copied after the snapshot if still needed
        }
      }
    }
    // 2. The snapshot.
    const snapPath = join(work, 'knowledge.sqlite');
    await store.db.backup(snapPath, { progress: () => 1 << 30 });
    const snap = new Database(snapPath);
    let counts: ReturnType<typeof countsOf>;
    let compacting: string[];
    let unfinished: Array<{ workflow_id: string; staged_crc: string | null }>;
    try {
      counts = countsOf(snap);
      compacting = (snap.prepare('SELECT name FROM contexts WHERE compacting = 1').pluck().all() as string[]);
      unfinished = snap.prepare(`SELECT workflow_id, staged_crc FROM workflows WHERE status IN ('pending', 'processing')`).all() as Array<{ workflow_id: string; staged_crc: string | null }>;
      snap.pragma('journal_mode = DELETE');
    } finally {
      snap.close();
    }
    if (compacting.length > 0) throw new SoftlogicError('CONFLICT', `context(s) ${compacting.join(', ')} were being compacted at the snapshot`);
    // 3. The container.
    writer = new ContainerWriter(partial);
    writer.addFile('store.json', layout.storeJson);
    writer.addFile('knowledge.sqlite', snapPath);
    killPoint('backup-mid-container');
    for (const c of counts.contexts) {
      let held = logFds.get(c.name);
      if (!held) {
        const fd = openSync(layout.log(c.name), 'r');
        held = { fd, ino: fstatSync(fd).ino };
        logFds.set(c.name, held);
      }
      // Offsets are virtual; the copy is of the file's bytes up to the watermark.
      const map = SegmentMap.scan(held.fd);
      if (map.toVirtual(fstatSync(held.fd).size) < c.applied_off || c.applied_off < map.vTail || !endsWithCommit(held.fd, map, c.applied_off, c.applied_seq)) {
        throw new SoftlogicError('CONFLICT', `the log of '${c.name}' changed under the snapshot (compaction); retrying`, { context: c.name });
      }
      // A damaged log is refused rather than carried into the backup as if it were good.
      assertLogIntact(held.fd, map, c.applied_off, c.name);
      writer.addFd(`contexts/${c.name}/log.jsonl`, held.fd, map.toPhysical(c.applied_off));
      for (const f of contextFiles(layout.contextDir(c.name))) writer.addFile(`contexts/${c.name}/${f}`, join(layout.contextDir(c.name), f));
    }
    // A log replaced after it was opened: we cannot tell whether before or after the snapshot.
    for (const c of counts.contexts) {
      const held = logFds.get(c.name);
      if (held && statSync(layout.log(c.name)).ino !== held.ino) {
        throw new SoftlogicError('CONFLICT', `the log of '${c.name}' was replaced during the backup; retrying`, { context: c.name });
      }
    }
    const pendingMissing: string[] = [];
    for (const wf of unfinished) {
      const source = linked.get(wf.workflow_id) ?? layout.pending(wf.workflow_id);
      if (!isValidId(wf.workflow_id) || !existsSync(source) || !lstatSync(source).isFile()) {
        pendingMissing.push(wf.workflow_id);
        continue;
      }
      const digest = new StagedDigest(wf.staged_crc);
      writer.addFile(`workflows/pending/${wf.workflow_id}.jsonl`, source, (data) => digest.update(data));
      if (wf.staged_crc && digest.value() !== wf.staged_crc) throw new SoftlogicError('CONFLICT', `staged items of workflow ${wf.workflow_id} were still being written`);
    }
    if (existsSync(layout.audit)) writer.addFile('audit.jsonl', layout.audit);
    const manifest: Omit<BackupManifest, 'members'> = {
      format: 'softlogic-backup',
      version: 1,
      created_at: new Date().toISOString(),
      store_format_version: STORE_FORMAT_VERSION,
      source: layout.root,
      contexts: counts.contexts,
      workflows: counts.workflows,
      pending_missing: pendingMissing,
    };
    writer.finish(manifest as unknown as Record<string, unknown>);
    const bytes = writer.bytes;
    const members = writer.members.length + 1;
    writer = null;
    renameSync(partial, out);
    fsyncDir(dirname(out));
    store.audit.record({ event: 'backup_created', file: out, bytes, contexts: counts.contexts.length, pending_missing: pendingMissing });
    return { file: out, bytes: statSync(out).size, members, contexts: counts.contexts, workflows: counts.workflows };
  } catch (err) {
    writer?.abort();
    rmSync(partial, { force: true });
    throw err;
  } finally {
    for (const { fd } of logFds.values()) closeSync(fd);
    rmSync(work, { recursive: true, force: true });
  }
}

/** SHA-256 of a file, for callers that check a member they wrote (tests, restore). */
export function sha256File(path: string): string {
  const hash = createHash('sha256');
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(8 * 1024 * 1024);
    let pos = 0;
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, pos);
      if (n <= 0) break;
      hash.update(buf.subarray(0, n));
      pos += n;
    }
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}
