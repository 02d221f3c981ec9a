import { existsSync } from 'node:fs';
import { unlink } from 'node:fs/promises';
import type Database from 'better-sqlite3';
import { SoftlogicError } from '../../core/errors.js';
import { assertId } from '../../core/names.js';
import type { JsonObject, Workflow, WorkflowStatus } from '../../core/records.js';
import { stagedDigestOfFile } from '../../core/staged-digest.js';
import { pidAlive } from '../../core/pid-alive.js';
import { CLAIMABLE_STATUSES, ERROR_LOG_LIMIT, NEW_WORKFLOW_COLUMNS, needsOwner, newWorkflowValues, publicWorkflow, type NewWorkflow, type StagedItem, type StoredWorkflow, type WorkflowChanges, type WorkflowHolder, type WorkflowTable } from '../workflow-table.js';
import type { EmbeddedStore } from './embedded-store.js';
import type { BatchProgress } from '../write-batch.js';
import { FileStagingWriter, StagedSpanReader, type StagedProgress } from './embedded-staging.js';
import { embeddedWorkflowChanges } from './embedded-workflow-changes.js';

/** The workflows table as SQLite holds it. */
interface WorkflowRow extends Omit<Workflow, 'metadata' | 'error_log'> {
  metadata: string;
  error_log: string;
  staged_crc: string | null;
  cancel_requested: number;
  owner_pid: number | null;
  seqno: number | null;
}

/** An owner is its process: alive while its pid runs (one machine: the store is a directory). */
function holderOf(pid: number | null): WorkflowHolder {
  if (pid === null) return 'none';
  if (pid === process.pid) return 'self';
  return pidAlive(pid) ? 'live' : 'gone';
}

function toWorkflow(row: WorkflowRow): StoredWorkflow {
  const { seqno: _s, ...rest } = row;
  return {
    ...rest,
    metadata: JSON.parse(row.metadata) as JsonObject,
    error_log: JSON.parse(row.error_log) as string[],
    cancel_requested: row.cancel_requested === 1,
    holder: holderOf(row.owner_pid),
  };
}

/** Inside an open transaction: see WorkflowTable.addErrors. */
function addErrorsIn(db: Database.Database, workflowId: string, messages: string[], count: number): void {
  const row = db.prepare('SELECT error_log FROM workflows WHERE workflow_id = ?').get(workflowId) as { error_log: string } | undefined;
  if (!row) throw new SoftlogicError('WORKFLOW_NOT_FOUND', `workflow ${workflowId} not found`, { workflow_id: workflowId });
  const log = JSON.parse(row.error_log) as string[];
  const room = Math.max(0, ERROR_LOG_LIMIT - log.length);
  const kept = [...log, ...messages.slice(0, room)];
  db.prepare('UPDATE workflows SET error_count = error_count + ?, error_log = ?, error_log_omitted = error_log_omitted + ? WHERE workflow_id = ?').run(
    count,
    JSON.stringify(kept),
    count - (kept.length - log.length),
    workflowId,
  );
}

/** Staged items handed out per page: a chunk of 50,000 costs a dozen awaits. */
const STAGED_PAGE = 4096;

/**
 * The embedded workflow table: rows in knowledge.sqlite (read and written only through here and
 * the write path's progress statement), staged items in workflows/pending/<id>.jsonl.
 * Synchronous inside; the promises are the interface's.
 */
export class EmbeddedWorkflowTable implements WorkflowTable {
  private readonly db: Database.Database;
  /** An owner's process is checked directly: nothing to renew. */
  readonly leaseSeconds = 0;

  constructor(private readonly store: EmbeddedStore) {
    this.db = store.db;
  }

  findNow(workflowId: string): StoredWorkflow | undefined {
    const row = this.db.prepare('SELECT * FROM workflows WHERE workflow_id = ?').get(workflowId) as WorkflowRow | undefined;
    return row ? toWorkflow(row) : undefined;
  }

  getNow(workflowId: string): StoredWorkflow {
    assertId(workflowId, 'workflow id');
    const wf = this.findNow(workflowId);
    if (!wf) throw new SoftlogicError('WORKFLOW_NOT_FOUND', `workflow ${workflowId} not found`, { workflow_id: workflowId });
    return wf;
  }

  async find(workflowId: string): Promise<StoredWorkflow | undefined> {
    return this.findNow(workflowId);
  }

  async get(workflowId: string): Promise<StoredWorkflow> {
    return this.getNow(workflowId);
  }

  async claim(workflowId: string): Promise<boolean> {
    return this.store.transaction(() => {
      const wf = this.findNow(workflowId);
      if (!wf || wf.holder === 'live' || !CLAIMABLE_STATUSES.includes(wf.status)) return false;
      this.db.prepare('UPDATE workflows SET owner_pid = ? WHERE workflow_id = ?').run(process.pid, workflowId);
      return true;
    });
  }

  async renew(workflowId: string): Promise<boolean> {
    return this.findNow(workflowId)?.holder === 'self';
  }

  async expired(): Promise<StoredWorkflow[]> {
    const rows = this.db.prepare(`SELECT * FROM workflows WHERE status IN ('pending', 'processing') ORDER BY created_at, seqno`).all() as WorkflowRow[];
    return rows.map(toWorkflow).filter(needsOwner);
  }

  async list(status?: WorkflowStatus, limit = 1000): Promise<Workflow[]> {
    const rows = (
      status
        ? this.db.prepare('SELECT * FROM workflows WHERE status = ? ORDER BY created_at DESC, seqno DESC LIMIT ?').all(status, limit)
        : this.db.prepare('SELECT * FROM workflows ORDER BY created_at DESC, seqno DESC LIMIT ?').all(limit)
    ) as WorkflowRow[];
    return rows.map((r) => publicWorkflow(toWorkflow(r)));
  }

  async insert(w: NewWorkflow): Promise<void> {
    this.store.transaction(() => {
      if (this.findNow(w.workflow_id)) throw new SoftlogicError('CONFLICT', `workflow ${w.workflow_id} already exists`, { workflow_id: w.workflow_id });
      this.db
        .prepare(
          `INSERT INTO workflows(${NEW_WORKFLOW_COLUMNS}, seqno) VALUES (${NEW_WORKFLOW_COLUMNS.split(',').map(() => '?').join(', ')}, (SELECT COALESCE(MAX(seqno), 0) + 1 FROM workflows))`,
        )
        .run(...newWorkflowValues(w));
    });
  }

  async transition(workflowId: string, status: WorkflowStatus, owner: number | null, extra: { metadata?: JsonObject } = {}): Promise<void> {
    const now = new Date().toISOString();
    this.store.transaction(() => {
      if (extra.metadata) {
        this.db.prepare('UPDATE workflows SET status = ?, updated_at = ?, owner_pid = ?, metadata = ? WHERE workflow_id = ?').run(status, now, owner, JSON.stringify(extra.metadata), workflowId);
      } else {
        this.db.prepare('UPDATE workflows SET status = ?, updated_at = ?, owner_pid = ? WHERE workflow_id = ?').run(status, now, owner, workflowId);
      }
    });
  }

  async requestCancel(workflowId: string): Promise<void> {
    this.store.transaction(() => this.db.prepare('UPDATE workflows SET cancel_requested = 1, updated_at = ? WHERE workflow_id = ?').run(new Date().toISOString(), workflowId));
  }

  async addErrors(workflowId: string, messages: string[], count = messages.length): Promise<void> {
    if (count === 0) return;
    this.store.transaction(() => addErrorsIn(this.db, workflowId, messages, count));
  }

  /** Between two chunk commits, so items_processed is what was committed. */
  async interruptOwnedBy(pid: number): Promise<StoredWorkflow[]> {
    const ids = this.store.transaction(() => {
      const owned = this.db.prepare(`SELECT workflow_id FROM workflows WHERE owner_pid = ? AND status IN ('pending', 'processing')`).pluck().all(pid) as string[];
      const now = new Date().toISOString();
      for (const id of owned) this.db.prepare(`UPDATE workflows SET status = 'interrupted', owner_pid = NULL, updated_at = ? WHERE workflow_id = ?`).run(now, id);
      return owned;
    });
    return ids.map((id) => this.getNow(id));
  }

  /** `progress`: told of every write, for a reader on another thread (the prepared import's). */
  stage(workflowId: string, progress: StagedProgress | null = null): FileStagingWriter {
    return new FileStagingWriter(this.store.layout.pending(workflowId), progress);
  }

  /** Where the staged items of a workflow are (the prepared import reads them on its own threads). */
  stagedPath(workflowId: string): string {
    return this.store.layout.pending(workflowId);
  }

  async *readStaged(workflowId: string, from: number): AsyncGenerator<StagedItem[]> {
    const path = this.stagedPath(workflowId);
    if (!existsSync(path)) throw new SoftlogicError('STAGED_CORRUPT', `staged items of workflow ${workflowId} are missing (${path})`, { path });
    const reader = new StagedSpanReader(path, from);
    try {
      for (;;) {
        const page: StagedItem[] = [];
        for (let span = reader.next(); span; span = page.length < STAGED_PAGE ? reader.next() : null) {
          page.push({ index: span.index, json: span.data.toString('utf8', span.start, span.end) });
        }
        if (page.length === 0) return;
        yield page;
        // Lets timers and requests run between pages.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    } finally {
      reader.close();
    }
  }

  async stagedDigest(workflowId: string, expected: string | null): Promise<string | null> {
    const path = this.stagedPath(workflowId);
    return existsSync(path) ? stagedDigestOfFile(path, expected) : null;
  }

  async hasStaged(workflowId: string): Promise<boolean> {
    return existsSync(this.stagedPath(workflowId));
  }

  async dropStaged(workflowId: string): Promise<void> {
    try {
      // On the I/O thread pool: a large file takes a while to unlink.
      await unlink(this.stagedPath(workflowId));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }

  async changes(workflow: StoredWorkflow): Promise<WorkflowChanges> {
    return embeddedWorkflowChanges(this.store, workflow);
  }

  async startMark(context: string): Promise<number> {
    return this.store.ensureContext(context).applied_seq;
  }
}

/**
 * Commits a batch's workflow progress inside the batch's transaction (the write path's): refused
 * with CONFLICT when another processor moved the workflow since the batch began, so that two
 * processors never apply the same chunk; the batch's refused items go to its error log.
 */
export function commitProgress(store: EmbeddedStore, progress: BatchProgress): void {
  const db = store.db;
  if (progress.processedFrom !== undefined) {
    const current = db.prepare('SELECT items_processed FROM workflows WHERE workflow_id = ?').pluck().get(progress.workflowId) as number | undefined;
    if (current !== progress.processedFrom) {
      throw new SoftlogicError('CONFLICT', `workflow ${progress.workflowId} is being processed elsewhere (at ${current}, expected ${progress.processedFrom})`);
    }
  }
  db.prepare('UPDATE workflows SET items_processed = MAX(items_processed, ?), updated_at = ? WHERE workflow_id = ?').run(progress.processedUpTo, new Date().toISOString(), progress.workflowId);
  if (progress.errors && progress.errors.length > 0) addErrorsIn(db, progress.workflowId, progress.errors, progress.errors.length);
}
