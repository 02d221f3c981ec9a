import type { JsonObject, RecordKind, Workflow, WorkflowStatus, WorkflowType } from '../core/records.js';
import type { StoredVersion } from './write-batch.js';
import type { StagingTarget } from '../core/staged-put.js';

export type { StagingTarget };

/**
 * The workflow table and the staged items of each workflow (embedded: rows in SQLite and files
 * under workflows/pending/; PostgreSQL: rows, so that any replica can take a workflow over).
 * The status machine itself (which status may follow which) is the workflows' (src/workflows),
 * not the backend's: the table stores what it is told.
 */

/** A workflow with the bookkeeping columns only the engine reads. */
export interface StoredWorkflow extends Workflow {
  /** the staged items' digest, checked before processing (null: nothing staged) */
  staged_crc: string | null;
  /** a processor stops at its next chunk boundary when set */
  cancel_requested: boolean;
  /** the process processing it (or about to), null when none */
  owner_pid: number | null;
  /** who holds it, as this backend tells when it was read (see WorkflowHolder) */
  holder: WorkflowHolder;
}

/**
 * Who holds a workflow: `none` (no owner), `self` (this store connection: this process for the
 * embedded backend, this backend instance for PostgreSQL), `live` (another owner that is alive:
 * a running process, or a lease not yet expired) or `gone` (an owner that died: its pid is not
 * running, or its lease ran out without a heartbeat). A `gone` or `none` workflow that is
 * processing (or an import staged and not yet started) is for any process to take over.
 */
export type WorkflowHolder = 'none' | 'self' | 'live' | 'gone';

/** The one way of hiding the bookkeeping columns from callers (API, CLI, HTTP, exports). */
export function publicWorkflow(w: Workflow & Partial<Pick<StoredWorkflow, 'staged_crc' | 'cancel_requested' | 'owner_pid' | 'holder'>>): Workflow {
  const { staged_crc: _c, cancel_requested: _r, owner_pid: _o, holder: _h, ...rest } = w;
  return rest;
}

/** The statuses a workflow can be claimed in (those it may be processed from): a finished one is nobody's to take. */
export const CLAIMABLE_STATUSES: readonly WorkflowStatus[] = ['pending', 'processing', 'interrupted', 'failed'];

/** Whether a workflow row needs a new owner: processing, or an import staged to be processed at once, whose owner is gone. */
export function needsOwner(w: Pick<StoredWorkflow, 'status' | 'metadata' | 'holder'>): boolean {
  const unfinished = w.status === 'processing' || (w.status === 'pending' && w.metadata.auto_process === true);
  return unfinished && (w.holder === 'gone' || w.holder === 'none');
}

/** At most this many messages are kept in a workflow's error log (the rest are counted). */
export const ERROR_LOG_LIMIT = 100;

export interface NewWorkflow {
  workflow_id: string;
  workflow_type: WorkflowType;
  context: string;
  items_total: number;
  metadata: JsonObject;
  staged_crc: string | null;
  owner_pid?: number | null;
  /**
   * A row copied as it was from elsewhere (a legacy import): its status, counts, times and error
   * log. A new workflow leaves them out: pending, nothing processed, now.
   */
  copied?: {
    status: WorkflowStatus;
    created_at: string;
    updated_at: string;
    items_processed: number;
    error_count: number;
    error_log: string[];
  };
}

/** The insert columns of a new workflow row, in order, with their values (both backends). */
export const NEW_WORKFLOW_COLUMNS = 'workflow_id, workflow_type, status, context, created_at, updated_at, items_total, items_processed, error_count, metadata, error_log, staged_crc, owner_pid';

export function newWorkflowValues(w: NewWorkflow): unknown[] {
  const now = new Date().toISOString();
  const copied: NonNullable<NewWorkflow['copied']> = w.copied ?? { status: 'pending', created_at: now, updated_at: now, items_processed: 0, error_count: 0, error_log: [] };
  return [
    w.workflow_id,
    w.workflow_type,
    copied.status,
    w.context,
    copied.created_at,
    copied.updated_at,
    w.items_total,
    copied.items_processed,
    copied.error_count,
    JSON.stringify(w.metadata),
    JSON.stringify(copied.error_log.slice(0, ERROR_LOG_LIMIT)),
    w.staged_crc,
    w.owner_pid ?? null,
  ];
}

/**
 * Writes a workflow's staged items, in order. Items are buffered: `settled` waits for what was
 * handed over so far to be written (an importer's back-pressure); `finish` makes every item
 * durable and answers their digest, recorded with the workflow; `abort` discards them.
 */
export interface StagingWriter {
  readonly count: number;
  add(item: unknown): void;
  /** an item already serialised: staged byte for byte */
  addJson(json: string): void;
  /** `count` items already encoded as staged lines (core/staged-lines.ts), in order */
  addEncoded(lines: Uint8Array, count: number): void;
  settled(): Promise<void>;
  finish(): Promise<string>;
  abort(): Promise<void>;
}

/** One staged item: its index (0-based) and JSON text. */
export interface StagedItem {
  index: number;
  json: string;
}

/**
 * What one workflow changed in its context, one entry per record, for a rollback: the version
 * before its first change (null: the workflow created it) and the version its last change left.
 */
export interface RecordChange {
  kind: RecordKind;
  id: string;
  before: StoredVersion | null;
  after: StoredVersion;
}

export interface WorkflowChanges {
  /** in the order of each record's first change */
  changes: RecordChange[];
  /**
   * false when the history a rollback needs is gone (the embedded backend's compaction drops the
   * versions its rewrite supersedes): the rollback is then refused
   */
  complete: boolean;
}

export interface WorkflowTable {
  /**
   * How long a claim lasts without `renew` (seconds): an owner renews it several times within
   * that (its heartbeat). 0 when ownership needs no heartbeat (the embedded backend: an owner is
   * alive as long as its process runs).
   */
  readonly leaseSeconds: number;
  /**
   * Takes the workflow for this store connection unless another live owner holds it or it is
   * finished (not in CLAIMABLE_STATUSES); true when taken. Of several processes claiming one
   * workflow at once, exactly one wins.
   */
  claim(workflowId: string): Promise<boolean>;
  /** The heartbeat: extends this connection's claim; false when it holds the workflow no longer (taken over). */
  renew(workflowId: string): Promise<boolean>;
  /** The workflows another process may take over (see needsOwner), oldest first. */
  expired(): Promise<StoredWorkflow[]>;
  find(workflowId: string): Promise<StoredWorkflow | undefined>;
  /** WORKFLOW_NOT_FOUND when missing */
  get(workflowId: string): Promise<StoredWorkflow>;
  /** newest first */
  list(status?: WorkflowStatus, limit?: number): Promise<Workflow[]>;
  /** CONFLICT when the id is taken */
  insert(workflow: NewWorkflow): Promise<void>;
  /**
   * Sets the status (and the metadata, when given) and the owner: this process (its pid; the
   * caller claimed it first) or null to release it.
   */
  transition(workflowId: string, status: WorkflowStatus, owner: number | null, extra?: { metadata?: JsonObject }): Promise<void>;
  /** asks the processor to stop at its next chunk boundary */
  requestCancel(workflowId: string): Promise<void>;
  /**
   * Adds `count` errors (default: one per message), keeping at most ERROR_LOG_LIMIT messages and
   * counting the ones left out.
   */
  addErrors(workflowId: string, messages: string[], count?: number): Promise<void>;
  /** marks `interrupted` (no owner) every pending or processing workflow `pid` owns; answers them */
  interruptOwnedBy(pid: number): Promise<StoredWorkflow[]>;
  /** the staged items of a new workflow (written before it is inserted) */
  stage(workflowId: string): StagingWriter;
  /** pages of staged items from index `from` (0-based), each item's own checksum checked */
  readStaged(workflowId: string, from: number): AsyncIterable<StagedItem[]>;
  /** the digest of the staged items as `finish` answered it, computed again (null when none are left) */
  stagedDigest(workflowId: string, expected: string | null): Promise<string | null>;
  /** whether staged items are kept for this workflow */
  hasStaged(workflowId: string): Promise<boolean>;
  /** drops the staged items (processed, cancelled or rolled back) */
  dropStaged(workflowId: string): Promise<void>;
  /** what the workflow's committed batches changed in its context */
  changes(workflow: StoredWorkflow): Promise<WorkflowChanges>;
  /**
   * Where a context stands before a workflow starts, recorded in its metadata as `start_seq`
   * (embedded: the log's sequence number), so that `changes` can tell whether the history after
   * it is still complete. Creates the context if missing.
   */
  startMark(context: string): Promise<number>;
}
