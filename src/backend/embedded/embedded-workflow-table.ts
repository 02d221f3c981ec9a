import type Database from 'better-sqlite3';
import { SoftlogicError } from '../core/errors.js';
import { assertId } from '../core/names.js';
import type { JsonObject, Workflow, WorkflowStatus, WorkflowType } from '../core/records.js';

/** The workflows table, read and written only through here. */
interface WorkflowRow extends Omit<Workflow, 'metadata' | 'error_log'> {
  metadata: string;
  error_log: string;
  staged_crc: string | null;
  cancel_requested: number;
  owner_pid: number | null;
  seqno: number | null;
}

export type StoredWorkflow = Workflow & { staged_crc: string | null; cancel_requested: boolean; owner_pid: number | null };

export const ERROR_LOG_LIMIT = 100;

/**
 * The status machine: which status may follow which. `interrupted`: the user stopped it (Ctrl-C);
 * it is never resumed on its own, only by `workflows resume ID` / `process ID`. `failed` keeps
 * its staged items, so it too may be processed again once its cause is fixed (a full disk).
 * Whatever a workflow committed can be rolled back from every status it can stop in.
 */
const TRANSITIONS: Record<WorkflowStatus, WorkflowStatus[]> = {
  pending: ['processing', 'cancelled', 'failed'],
  processing: ['processing', 'interrupted', 'completed', 'failed', 'cancelled'],
  interrupted: ['processing', 'cancelled', 'rolled_back'],
  completed: ['rolled_back'],
  failed: ['processing', 'cancelled', 'rolled_back'],
  cancelled: ['rolled_back'],
  rolled_back: [],
};

export function assertTransition(workflow: Workflow, to: WorkflowStatus, action: string): void {
  if (!TRANSITIONS[workflow.status].includes(to)) {
    throw new SoftlogicError('ILLEGAL_TRANSITION', `cannot ${action} workflow ${workflow.workflow_id}: it is ${workflow.status}`, {
      workflow_id: workflow.workflow_id,
      status: workflow.status,
      to,
    });
  }
}

function toWorkflow(row: WorkflowRow): StoredWorkflow {
  const { seqno: _s, ...rest } = row;
  return {
    ...rest,
    metadata: JSON.parse(row.metadata) as JsonObject,
    error_log: JSON.parse(row.error_log) as string[],
    cancel_requested: row.cancel_requested === 1,
  };
}

export class WorkflowRepo {
  constructor(private readonly db: Database.Database) {}

  find(workflowId: string): StoredWorkflow | undefined {
    const row = this.db.prepare('SELECT * FROM workflows WHERE workflow_id = ?').get(workflowId) as WorkflowRow | undefined;
    return row ? toWorkflow(row) : undefined;
  }

  get(workflowId: string): StoredWorkflow {
    assertId(workflowId, 'workflow id');
    const wf = this.find(workflowId);
    if (!wf) throw new SoftlogicError('WORKFLOW_NOT_FOUND', `workflow ${workflowId} not found`, { workflow_id: workflowId });
    return wf;
  }

  list(status?: WorkflowStatus, limit = 1000): Workflow[] {
    const rows = (
      status
        ? this.db.prepare('SELECT * FROM workflows WHERE status = ? ORDER BY created_at DESC, seqno DESC LIMIT ?').all(status, limit)
        : this.db.prepare('SELECT * FROM workflows ORDER BY created_at DESC, seqno DESC LIMIT ?').all(limit)
    ) as WorkflowRow[];
    return rows.map((r) => publicWorkflow(toWorkflow(r)));
  }

  insert(w: { workflow_id: string; workflow_type: WorkflowType; context: string; items_total: number; metadata: JsonObject; staged_crc: string | null; owner_pid?: number | null }): void {
    const now = new Date().toISOString();
    try {
      this.db
        .prepare(
          `INSERT INTO workflows(workflow_id, workflow_type, status, context, created_at, updated_at, items_total, metadata, staged_crc, owner_pid, seqno)
           VALUES (?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?, (SELECT COALESCE(MAX(seqno), 0) + 1 FROM workflows))`,
        )
        .run(w.workflow_id, w.workflow_type, w.context, now, now, w.items_total, JSON.stringify(w.metadata), w.staged_crc, w.owner_pid ?? null);
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
        throw new SoftlogicError('CONFLICT', `workflow ${w.workflow_id} already exists`, { workflow_id: w.workflow_id });
      }
      throw err;
    }
  }

  setStatus(workflowId: string, status: WorkflowStatus, extra: { metadata?: JsonObject } = {}): void {
    const now = new Date().toISOString();
    if (extra.metadata) {
      this.db.prepare('UPDATE workflows SET status = ?, updated_at = ?, metadata = ? WHERE workflow_id = ?').run(status, now, JSON.stringify(extra.metadata), workflowId);
    } else {
      this.db.prepare('UPDATE workflows SET status = ?, updated_at = ? WHERE workflow_id = ?').run(status, now, workflowId);
    }
  }

  setOwner(workflowId: string, pid: number | null): void {
    this.db.prepare('UPDATE workflows SET owner_pid = ? WHERE workflow_id = ?').run(pid, workflowId);
  }

  processedCount(workflowId: string): number {
    return this.db.prepare('SELECT items_processed FROM workflows WHERE workflow_id = ?').pluck().get(workflowId) as number;
  }

  /**
   * Marks `interrupted` every workflow this process owns that is pending or processing (a user
   * quitting at once): between two chunk commits, so items_processed is what was committed.
   */
  interruptOwnedBy(pid: number): StoredWorkflow[] {
    const ids = this.db.prepare(`SELECT workflow_id FROM workflows WHERE owner_pid = ? AND status IN ('pending', 'processing')`).pluck().all(pid) as string[];
    const now = new Date().toISOString();
    for (const id of ids) this.db.prepare(`UPDATE workflows SET status = 'interrupted', owner_pid = NULL, updated_at = ? WHERE workflow_id = ?`).run(now, id);
    return ids.map((id) => this.get(id));
  }

  requestCancel(workflowId: string): void {
    this.db.prepare('UPDATE workflows SET cancel_requested = 1, updated_at = ? WHERE workflow_id = ?').run(new Date().toISOString(), workflowId);
  }

  /**
   * Adds `count` errors (default: one per message), keeping at most ERROR_LOG_LIMIT messages and
   * counting the ones left out.
   */
  addErrors(workflowId: string, messages: string[], count = messages.length): void {
    if (count === 0) return;
    const wf = this.get(workflowId);
    const room = Math.max(0, ERROR_LOG_LIMIT - wf.error_log.length);
    const kept = [...wf.error_log, ...messages.slice(0, room)];
    this.db
      .prepare('UPDATE workflows SET error_count = error_count + ?, error_log = ?, error_log_omitted = error_log_omitted + ? WHERE workflow_id = ?')
      .run(count, JSON.stringify(kept), count - (kept.length - wf.error_log.length), workflowId);
  }
}

/** What callers see of a workflow (internal bookkeeping columns left out). */
export function publicWorkflow(w: Workflow & { staged_crc?: string | null; cancel_requested?: boolean; owner_pid?: number | null }): Workflow {
  const { staged_crc: _c, cancel_requested: _r, owner_pid: _o, ...rest } = w;
  return rest;
}
