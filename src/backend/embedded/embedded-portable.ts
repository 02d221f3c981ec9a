import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { SoftlogicError } from '../../core/errors.js';
import type { LogOp, RecordKind } from '../../core/records.js';
import type { AuditEntry } from '../audit-trail.js';
import { CONTEXT_FILE_SIDECARS, type ContextFileName } from '../context-files.js';
import type { ContextCounts, RestoreResult } from '../maintenance.js';
import { invalid } from '../backup-container.js';
import { assertRestoredCounts } from '../portable-backup.js';
import { parentsFirst, type LoadPortable, type PortableContext, type PortableFile, type PortableSnapshot, type PortableVersion } from '../portable.js';
import type { StoredWorkflow } from '../workflow-table.js';
import type { WriteBatch } from '../write-batch.js';
import { EmbeddedBackend } from './embedded-backend.js';
import { fsyncDir, writeFileAtomic } from './fs-durable.js';
import { checksumOk, decodeLine, recordJsonOf, type RecordLine } from './log-format.js';
import { readLines } from './log-reader.js';
import { replacesStore, restoreStore } from './restore.js';
import { verifyStore } from './verify.js';
import { storeStats } from './stats.js';
import { fileTimestamp } from '../../core/file-stamp.js';

const PAGE = 5000;

/** The files of a context that travel with it: the ContextFiles names and their sidecars. */
const CONTEXT_FILE_NAMES = new Set(Object.entries(CONTEXT_FILE_SIDECARS).flatMap(([name, sidecars]) => [name, ...sidecars.map((s) => `${name}${s}`)]));

interface WorkflowRow extends Omit<StoredWorkflow, 'metadata' | 'error_log' | 'cancel_requested'> {
  metadata: string;
  error_log: string;
  cancel_requested: number;
}

/**
 * A quiescent embedded store (a backup restored into a scratch directory) as a portable snapshot:
 * each context's log read front to back, record lines grouped by their batch so that each takes
 * the workflow its commit line names; a deleted analogy's tombstone merged with the line it
 * deletes (read by its prev offset), as the readers merge it.
 */
export async function snapshotEmbedded(backend: EmbeddedBackend): Promise<PortableSnapshot> {
  const store = backend.store;
  const contexts: PortableContext[] = store.listContexts().map((c) => ({
    name: c.name,
    parent: c.parent,
    description: c.description,
    created_at: c.created_at,
    purged: store.db.prepare('SELECT kind, id, purged_at FROM purged WHERE ctx = ? ORDER BY kind, id').all(c.ctx) as PortableContext['purged'],
    vector_settings: null,
  }));
  for (const c of contexts) c.vector_settings = (await backend.vectors.settings(c.name)) ?? null;
  const workflows = (store.db.prepare('SELECT * FROM workflows ORDER BY seqno, created_at').all() as WorkflowRow[]).map(
    (r): StoredWorkflow => ({
      workflow_id: r.workflow_id,
      workflow_type: r.workflow_type,
      status: r.status,
      context: r.context,
      created_at: r.created_at,
      updated_at: r.updated_at,
      items_total: r.items_total,
      items_processed: r.items_processed,
      error_count: r.error_count,
      metadata: JSON.parse(r.metadata) as StoredWorkflow['metadata'],
      error_log: JSON.parse(r.error_log) as string[],
      error_log_omitted: r.error_log_omitted,
      staged_crc: r.staged_crc,
      cancel_requested: r.cancel_requested === 1,
      owner_pid: null,
      holder: 'none',
    }),
  );
  return {
    backend: 'embedded',
    source: backend.location,
    contexts: parentsFirst(contexts),
    workflows,
    async *versions(context) {
      let batch: RecordLine[] = [];
      let page: PortableVersion[] = [];
      for (const raw of readLines(store.layout.log(context))) {
        if (!checksumOk(raw.text)) throw new SoftlogicError('CORRUPT_LOG', `line at byte ${raw.offset} of the log of '${context}' fails its checksum`, { context, offset: raw.offset });
        const line = decodeLine(raw.text);
        if (line === null) continue;
        if (line.type === 'record') {
          batch.push(line);
          continue;
        }
        for (const r of batch) {
          let record = JSON.parse(r.recordJson) as Record<string, unknown>;
          let json = r.recordJson;
          if (r.kind === 'analogy' && r.op === 'delete' && r.prev !== null) {
            record = { ...(JSON.parse(recordJsonOf(store.readLogLineAt(context, r.prev))) as Record<string, unknown>), ...record };
            json = JSON.stringify(record);
          }
          page.push({ kind: r.kind as RecordKind, id: String(record.id), version: Number(record.version), op: r.op as LogOp, workflow_id: line.wf, deleted: record.deleted_at != null, json });
        }
        batch = [];
        if (page.length >= PAGE) {
          yield page;
          page = [];
        }
      }
      if (page.length > 0) yield page;
    },
    async *staged(workflowId) {
      if (!(await backend.workflows.hasStaged(workflowId))) return;
      for await (const page of backend.workflows.readStaged(workflowId, 0)) yield page.map((item) => item.json);
    },
    async files(context) {
      const dir = store.layout.contextDir(context);
      if (!existsSync(dir)) return [];
      return readdirSync(dir)
        .filter((name) => CONTEXT_FILE_NAMES.has(name) && statSync(join(dir, name)).isFile())
        .sort()
        .map((name): PortableFile => ({ name, data: readFileSync(join(dir, name)) }));
    },
    async *audit() {
      let page: AuditEntry[] = [];
      for (const raw of readLines(store.layout.audit)) {
        try {
          page.push(JSON.parse(raw.text) as AuditEntry);
        } catch {
          continue; // a torn last line of a killed append
        }
        if (page.length >= PAGE) {
          yield page;
          page = [];
        }
      }
      if (page.length > 0) yield page;
    },
    async close() {
      await backend.close();
    },
  };
}

/** The fields an analogy's tombstone line holds (the readers merge it with the line it deletes). */
function tombstoneOf(record: Record<string, unknown>): Record<string, unknown> {
  const { id, context, version, updated_at, deleted_at } = record;
  return { id, context, version, updated_at, deleted_at };
}

/**
 * Writes one run of versions (all of one workflow, or of none) as one batch. A version whose
 * record has no earlier version here although it is not its first had its history compacted at
 * the source: its workflow is added to `truncated`.
 */
function writeRun(batch: WriteBatch, run: PortableVersion[], truncated: Set<string>): void {
  for (const v of run) {
    const prev = batch.current(v.kind, v.id);
    if (prev === undefined && v.version > 1 && v.workflow_id) truncated.add(v.workflow_id);
    const record = JSON.parse(v.json) as Record<string, unknown>;
    const tombstone = v.kind === 'analogy' && v.op === 'delete';
    batch.change(v.kind, v.op, tombstone ? tombstoneOf(record) : record, prev, { fresh: prev === undefined, json: tombstone ? undefined : v.json });
  }
  const workflowId = run[0]?.workflow_id;
  // The commit line names the workflow (the rollback journal); its progress is the row's own.
  if (workflowId) batch.setProgress({ workflowId, processedUpTo: 0 });
}

/** Loads the snapshot into a new embedded store at `dir` (created by the caller's init). */
async function loadInto(backend: EmbeddedBackend, snapshot: PortableSnapshot): Promise<void> {
  const store = backend.store;
  const truncated = new Set<string>();
  for await (const page of snapshot.audit()) appendFileSync(store.layout.audit, page.map((e) => JSON.stringify(e) + '\n').join(''));
  for (const c of snapshot.contexts) {
    await backend.contexts.ensure(c.name, { parent: c.parent, description: c.description });
    store.db.prepare('UPDATE contexts SET created_at = ? WHERE name = ?').run(c.created_at, c.name);
    writeFileAtomic(store.layout.contextMetadata(c.name), JSON.stringify({ name: c.name, parent: c.parent, description: c.description, created_at: c.created_at }, null, 2) + '\n');
    for await (const page of snapshot.versions(c.name)) {
      for (let start = 0; start < page.length; ) {
        let end = start + 1;
        while (end < page.length && page[end]?.workflow_id === page[start]?.workflow_id) end++;
        const run = page.slice(start, end);
        await backend.write(c.name, (batch) => writeRun(batch, run, truncated));
        start = end;
      }
    }
    const ctx = store.requireContext(c.name).ctx;
    const purge = store.db.prepare('INSERT OR IGNORE INTO purged(ctx, kind, id, purged_at) VALUES (?, ?, ?, ?)');
    for (const p of c.purged) purge.run(ctx, p.kind, p.id, p.purged_at);
    if (c.vector_settings) await backend.vectors.recordSettings(c.name, c.vector_settings);
    for (const f of await snapshot.files(c.name)) {
      const name = f.name as ContextFileName;
      if (!CONTEXT_FILE_NAMES.has(name)) throw invalid(`backup names an unknown context file ${JSON.stringify(f.name)}`, { context: c.name });
      writeFileAtomic(join(store.layout.contextDir(c.name), name), f.data);
    }
  }
  const insert = store.db.prepare(
    `INSERT INTO workflows(workflow_id, workflow_type, status, context, created_at, updated_at, items_total, items_processed, error_count, metadata, error_log, error_log_omitted, staged_crc, cancel_requested, owner_pid, seqno)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)`,
  );
  let seqno = 0;
  for (const w of snapshot.workflows) {
    const writer = backend.workflows.stage(w.workflow_id);
    for await (const page of snapshot.staged(w.workflow_id)) for (const json of page) writer.addJson(json);
    if (writer.count > 0) {
      const digest = await writer.finish();
      if (w.staged_crc && digest !== w.staged_crc) throw invalid(`the staged items of workflow ${w.workflow_id} do not match their digest`, { workflow_id: w.workflow_id });
    } else {
      await writer.abort();
    }
    // start_seq is a mark in the source's change log (a PostgreSQL row seq, or another log's
    // sequence), meaningless in the logs written here: every restored workflow began before
    // anything of this store, so before any compaction it will see (0: a later compaction makes
    // its rollback incomplete, as on the source). One whose history was compacted at the source
    // began before a compaction already (-1): its rollback is refused as it was there.
    const metadata = { ...w.metadata, start_seq: truncated.has(w.workflow_id) ? -1 : 0 };
    insert.run(w.workflow_id, w.workflow_type, w.status, w.context, w.created_at, w.updated_at, w.items_total, w.items_processed, w.error_count, JSON.stringify(metadata), JSON.stringify(w.error_log), w.error_log_omitted ?? 0, w.staged_crc, w.cancel_requested ? 1 : 0, ++seqno);
  }
}

/**
 * Restores a snapshot of another backend (or a portable backup) into a directory: built in a
 * sibling staging directory through the embedded write path (each version one log line, in
 * change order, batches carrying their workflow), then renamed into place as an embedded
 * restore is: into an absent or empty directory, or with `force` over an existing store renamed
 * aside to DIR.old-<timestamp>. Counts are checked against the backup's, verify runs with
 * --force or --verify; on a failure the new store goes and the old one comes back.
 */
export const loadEmbedded: LoadPortable = async (snapshot, dir, options) => {
  const t0 = performance.now();
  const target = resolve(dir);
  const replacing = replacesStore(target, options.force === true);
  const staging = `${target}.restoring-${process.pid}-${fileTimestamp()}`;
  const backend = EmbeddedBackend.init(staging);
  try {
    await loadInto(backend, snapshot);
    await backend.close();
  } catch (err) {
    await backend.close();
    rmSync(staging, { recursive: true, force: true });
    throw err;
  }
  let aside: string | null = null;
  if (replacing) {
    aside = `${target}.old-${fileTimestamp()}`;
    renameSync(target, aside);
  } else if (existsSync(target)) {
    rmSync(target, { recursive: true });
  }
  renameSync(staging, target);
  fsyncDir(dirname(target));
  let verify: RestoreResult['verify'] = null;
  try {
    const restored = EmbeddedBackend.open(target);
    try {
      assertRestoredCounts(options.expected, storeStats(restored.store));
      if (options.verify === true || replacing) {
        const report = verifyStore(restored.store);
        if (!report.valid) throw new SoftlogicError('INTEGRITY', `restored store fails verify: ${report.issues.map((i) => i.message).join('; ')}`, { issues: report.issues });
        verify = { valid: report.valid, issues: report.issues };
      }
      restored.store.audit.record({ event: 'restored', backup: options.backup, from: snapshot.backend, counts_checked: true, verified: verify !== null });
    } finally {
      await restored.close();
    }
  } catch (err) {
    rmSync(target, { recursive: true, force: true });
    if (aside) renameSync(aside, target);
    throw err;
  }
  return { store: target, backup: options.backup, bytes: options.bytes, members: options.members, seconds: (performance.now() - t0) / 1000, contexts: options.expected, previous_store: aside, verify };
};

/**
 * An embedded backup read as a portable snapshot: restored (checksums, counts) into a scratch
 * directory under the system's temporary directory, read from there, removed on close.
 */
export async function readEmbeddedBackup(file: string): Promise<{ snapshot: PortableSnapshot; expected: ContextCounts[]; bytes: number; members: number }> {
  const scratch = mkdtempSync(join(tmpdir(), 'softlogic-convert-'));
  try {
    const restored = restoreStore(file, join(scratch, 'store'));
    const inner = await snapshotEmbedded(EmbeddedBackend.open(join(scratch, 'store')));
    const snapshot: PortableSnapshot = {
      ...inner,
      versions: (c) => inner.versions(c),
      staged: (w) => inner.staged(w),
      files: (c) => inner.files(c),
      audit: () => inner.audit(),
      close: async () => {
        await inner.close();
        rmSync(scratch, { recursive: true, force: true });
      },
    };
    return { snapshot, expected: restored.contexts, bytes: restored.bytes, members: restored.members };
  } catch (err) {
    rmSync(scratch, { recursive: true, force: true });
    throw err;
  }
}
