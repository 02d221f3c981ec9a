import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { SoftlogicError } from '../../core/errors.js';
import { assertId } from '../../core/names.js';
import type { JsonObject, RecordKind, Workflow, WorkflowStatus } from '../../core/records.js';
import { StagedDigest } from '../../core/staged-digest.js';
import { encodeStagedLine } from '../../core/staged-lines.js';
import { dropStagedPages, hasStagedPages, PageStagingWriter, pageItems, readStagedPages } from './postgres-staging.js';
import { addErrorsIn, workflowNotFound as notFound } from './postgres-workflow-progress.js';
import { CLAIMABLE_STATUSES, NEW_WORKFLOW_COLUMNS, needsOwner, newWorkflowValues, publicWorkflow, type NewWorkflow, type RecordChange, type StagedItem, type StagingWriter, type StoredWorkflow, type WorkflowChanges, type WorkflowTable } from '../workflow-table.js';
import type { PostgresContexts } from './postgres-contexts.js';
import { REPEATABLE } from './postgres-connection.js';
import { isUniqueViolation, VERSION_COLUMNS, versionOfRow, type VersionRow } from './postgres-write-batch.js';

/** How long a replica's claim on a workflow lasts without a heartbeat, by default (seconds). */
export const LEASE_SECONDS = 20;

export const WORKFLOW_COLUMNS = `workflow_id, workflow_type, status, context, created_at, updated_at, items_total, items_processed, error_count,
  metadata, error_log, error_log_omitted, staged_crc, cancel_requested, owner_pid`;
/** The holder of a row as seen by the replica `$me` (see WorkflowHolder), judged by the database's clock. */
const HOLDER = (me: string) => `CASE WHEN owner IS NULL THEN 'none' WHEN owner = ${me} THEN 'self' WHEN lease_until > now() THEN 'live' ELSE 'gone' END AS holder`;

/** One backend instance among the replicas: the lease owner it writes (host, pid, and a random part for the instance). */
function newReplicaId(): string {
  return `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
}

/**
 * The lease length: $SOFTLOGIC_LEASE_SECONDS (tests shorten it) or LEASE_SECONDS. A replica takes
 * over a workflow within about 1.25 times this after its owner's last heartbeat (see the service's
 * takeover loop).
 */
export function leaseSecondsFromEnv(): number {
  const raw = process.env.SOFTLOGIC_LEASE_SECONDS;
  if (raw === undefined || raw === '') return LEASE_SECONDS;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0.2 || n > 3600) throw new SoftlogicError('INVALID_INPUT', `SOFTLOGIC_LEASE_SECONDS must be a number of seconds in [0.2, 3600], got '${raw}'`, { field: 'SOFTLOGIC_LEASE_SECONDS' });
  return n;
}

interface WorkflowRow extends Omit<StoredWorkflow, 'metadata' | 'error_log'> {
  metadata: JsonObject;
  error_log: string[];
}

/**
 * The workflow table in PostgreSQL, shared by every replica: staged items are rows, and the
 * replica running a workflow holds a lease (owner, lease_until, heartbeat) besides owner_pid.
 */
export class PostgresWorkflowTable implements WorkflowTable {
  /** This instance's name in the lease columns. */
  readonly replicaId = newReplicaId();

  constructor(
    private readonly pool: pg.Pool,
    private readonly contexts: PostgresContexts,
    readonly leaseSeconds: number = LEASE_SECONDS,
  ) {}

  async find(workflowId: string): Promise<StoredWorkflow | undefined> {
    const { rows } = await this.pool.query<WorkflowRow>(`SELECT ${WORKFLOW_COLUMNS}, ${HOLDER('$2')} FROM workflows WHERE workflow_id = $1`, [workflowId, this.replicaId]);
    return rows[0];
  }

  /**
   * One statement: of several replicas claiming at once, the row lock lets one update it; the
   * others see its new lease when they re-check the condition, and update nothing.
   */
  async claim(workflowId: string): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `UPDATE workflows SET owner = $2, owner_pid = $3, lease_until = now() + make_interval(secs => $4), heartbeat = now()
       WHERE workflow_id = $1 AND status = ANY($5::text[]) AND (owner IS NULL OR owner = $2 OR lease_until IS NULL OR lease_until < now())`,
      [workflowId, this.replicaId, process.pid, this.leaseSeconds, CLAIMABLE_STATUSES],
    );
    return rowCount === 1;
  }

  async renew(workflowId: string): Promise<boolean> {
    const { rowCount } = await this.pool.query(`UPDATE workflows SET lease_until = now() + make_interval(secs => $3), heartbeat = now() WHERE workflow_id = $1 AND owner = $2`, [
      workflowId,
      this.replicaId,
      this.leaseSeconds,
    ]);
    return rowCount === 1;
  }

  async expired(): Promise<StoredWorkflow[]> {
    const { rows } = await this.pool.query<WorkflowRow>(
      `SELECT ${WORKFLOW_COLUMNS}, ${HOLDER('$1')} FROM workflows
       WHERE (status = 'processing' OR (status = 'pending' AND metadata->>'auto_process' = 'true')) AND (owner IS NULL OR lease_until IS NULL OR lease_until < now())
       ORDER BY created_at, seqno`,
      [this.replicaId],
    );
    return rows.filter(needsOwner);
  }

  async get(workflowId: string): Promise<StoredWorkflow> {
    assertId(workflowId, 'workflow id');
    const wf = await this.find(workflowId);
    if (!wf) throw notFound(workflowId);
    return wf;
  }

  async list(status?: WorkflowStatus, limit = 1000): Promise<Workflow[]> {
    const { rows } = status
      ? await this.pool.query<WorkflowRow>(`SELECT ${WORKFLOW_COLUMNS} FROM workflows WHERE status = $1 ORDER BY created_at DESC, seqno DESC LIMIT $2`, [status, limit])
      : await this.pool.query<WorkflowRow>(`SELECT ${WORKFLOW_COLUMNS} FROM workflows ORDER BY created_at DESC, seqno DESC LIMIT $1`, [limit]);
    return rows.map((r) => publicWorkflow(r));
  }

  /** A workflow inserted with an owner (an import processed at once) is leased to this replica in the same statement. */
  async insert(w: NewWorkflow): Promise<void> {
    const values = newWorkflowValues(w);
    const n = values.length;
    try {
      await this.pool.query(
        `INSERT INTO workflows(${NEW_WORKFLOW_COLUMNS}, owner, lease_until, heartbeat)
         VALUES (${values.map((_, i) => `$${i + 1}`).join(', ')}, CASE WHEN $${n}::integer IS NULL THEN NULL ELSE $${n + 1} END,
                 CASE WHEN $${n}::integer IS NULL THEN NULL ELSE now() + make_interval(secs => $${n + 2}) END, CASE WHEN $${n}::integer IS NULL THEN NULL ELSE now() END)`,
        [...values, this.replicaId, this.leaseSeconds],
      );
    } catch (err) {
      if (isUniqueViolation(err)) throw new SoftlogicError('CONFLICT', `workflow ${w.workflow_id} already exists`, { workflow_id: w.workflow_id });
      throw err;
    }
  }

  async transition(workflowId: string, status: WorkflowStatus, owner: number | null, extra: { metadata?: JsonObject } = {}): Promise<void> {
    // An owner takes the lease for this replica; releasing it clears the lease.
    await this.pool.query(
      `${REPEATABLE}UPDATE workflows SET status = $2, updated_at = $3, owner_pid = $4, metadata = COALESCE($5::json, metadata),
         owner = CASE WHEN $4::integer IS NULL THEN NULL ELSE $6 END,
         lease_until = CASE WHEN $4::integer IS NULL THEN NULL ELSE now() + make_interval(secs => $7) END,
         heartbeat = CASE WHEN $4::integer IS NULL THEN NULL ELSE now() END
       WHERE workflow_id = $1`,
      [workflowId, status, new Date().toISOString(), owner, extra.metadata ? JSON.stringify(extra.metadata) : null, this.replicaId, this.leaseSeconds],
    );
  }

  async requestCancel(workflowId: string): Promise<void> {
    await this.pool.query(`${REPEATABLE}UPDATE workflows SET cancel_requested = true, updated_at = $2 WHERE workflow_id = $1`, [workflowId, new Date().toISOString()]);
  }

  async addErrors(workflowId: string, messages: string[], count = messages.length): Promise<void> {
    if (count === 0) return;
    await addErrorsIn(this.pool, workflowId, messages, count);
  }

  /** The workflows this replica's process `pid` runs: another replica's with the same pid are not its. */
  async interruptOwnedBy(pid: number): Promise<StoredWorkflow[]> {
    const { rows } = await this.pool.query<WorkflowRow>(
      `UPDATE workflows SET status = 'interrupted', owner_pid = NULL, owner = NULL, lease_until = NULL, heartbeat = NULL, updated_at = $3
       WHERE owner_pid = $1 AND owner = $2 AND status IN ('pending', 'processing') RETURNING ${WORKFLOW_COLUMNS}, 'none' AS holder`,
      [pid, this.replicaId, new Date().toISOString()],
    );
    return rows;
  }

  stage(workflowId: string): StagingWriter {
    return new PageStagingWriter(this.pool, workflowId);
  }

  async *readStaged(workflowId: string, from: number): AsyncIterable<StagedItem[]> {
    if (!(await this.hasStaged(workflowId))) throw new SoftlogicError('STAGED_CORRUPT', `staged items of workflow ${workflowId} are missing`, { workflow_id: workflowId });
    for await (const page of readStagedPages(this.pool, workflowId, from)) {
      const start = Math.max(from, page.first);
      yield pageItems(page, start).map((json, i) => ({ index: start + i, json }));
    }
  }

  async stagedDigest(workflowId: string, expected: string | null): Promise<string | null> {
    const digest = new StagedDigest(expected);
    let any = false;
    for await (const page of this.readStagedIfAny(workflowId)) {
      any = true;
      for (const item of page) digest.update(Buffer.from(encodeStagedLine(item.json)));
    }
    return any ? digest.value() : null;
  }

  private async *readStagedIfAny(workflowId: string): AsyncIterable<StagedItem[]> {
    if (await this.hasStaged(workflowId)) yield* this.readStaged(workflowId, 0);
  }

  async hasStaged(workflowId: string): Promise<boolean> {
    return hasStagedPages(this.pool, workflowId);
  }

  async dropStaged(workflowId: string): Promise<void> {
    await dropStagedPages(this.pool, workflowId);
  }

  /**
   * From the journal of the workflow's batches (workflow_changes): per record, the version before
   * its first change (that change's prev) and the one its last change left. Incomplete when a
   * compaction dropped one of those versions (the rollback is then refused).
   */
  async changes(workflow: StoredWorkflow): Promise<WorkflowChanges> {
    const ctx = await this.contexts.row(workflow.context);
    if (!ctx) return { changes: [], complete: true };
    const { rows } = await this.pool.query<{ kind: RecordKind; id: string; first_seq: number; last_seq: number }>(
      `SELECT kind, id, min(seq) AS first_seq, max(seq) AS last_seq
       FROM (SELECT c.kind, u.id, u.seq FROM workflow_changes c, unnest(c.ids, c.seqs) AS u(id, seq) WHERE c.workflow_id = $1 AND c.ctx = $2) j
       GROUP BY kind, id ORDER BY min(seq)`,
      [workflow.workflow_id, ctx.ctx],
    );
    const changes: RecordChange[] = [];
    for (const row of rows) {
      const table = row.kind === 'analogy' ? 'analogies' : 'entities';
      const kindClause = row.kind === 'analogy' ? '' : ' AND kind = $4';
      const args = row.kind === 'analogy' ? [ctx.ctx, row.id, [row.first_seq, row.last_seq]] : [ctx.ctx, row.id, [row.first_seq, row.last_seq], row.kind];
      const versions = await this.pool.query<VersionRow & { prev: number | null }>(`SELECT ${VERSION_COLUMNS}, prev FROM ${table} WHERE ctx = $1 AND id = $2 AND seq = ANY($3::bigint[])${kindClause}`, args);
      const first = versions.rows.find((v) => v.seq === row.first_seq);
      const last = versions.rows.find((v) => v.seq === row.last_seq);
      // Compaction dropped versions this workflow wrote: its rollback is refused, as on the embedded store.
      if (!first || !last) return { changes: [], complete: false };
      let before: RecordChange['before'] = null;
      if (first.prev !== null) {
        const prev = await this.pool.query<VersionRow>(`SELECT ${VERSION_COLUMNS} FROM ${table} WHERE ctx = $1 AND id = $2 AND seq = $3${row.kind === 'analogy' ? '' : ' AND kind = $4'}`, row.kind === 'analogy' ? [ctx.ctx, row.id, first.prev] : [ctx.ctx, row.id, first.prev, row.kind]);
        if (!prev.rows[0]) return { changes: [], complete: false };
        before = versionOfRow(row.kind, prev.rows[0]);
      }
      changes.push({ kind: row.kind, id: row.id, before, after: versionOfRow(row.kind, last) });
    }
    return { changes, complete: true };
  }

  /** The context's commit counter (nothing is compacted here, so any mark serves). */
  async startMark(context: string): Promise<number> {
    const ctx = await this.contexts.ensureRow(context);
    const { rows } = await this.pool.query<{ mark: number }>('SELECT mark FROM contexts WHERE ctx = $1', [ctx.ctx]);
    return rows[0]?.mark ?? 0;
  }
}
