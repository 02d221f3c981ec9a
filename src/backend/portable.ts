import type { ContextInfo, LogOp, RecordKind } from '../core/records.js';
import type { AuditEntry } from './audit-trail.js';
import type { BackendKind } from './backend.js';
import type { ContextCounts, RestoreOptions, RestoreResult } from './maintenance.js';
import type { VectorSettings } from './vector-table.js';
import type { StoredWorkflow } from './workflow-table.js';

/**
 * A whole store in backend-neutral terms: what moves a store from one backend to the other
 * (a PostgreSQL backup, a restore of either backend's backup into the other). No log offsets, row
 * keys or seqs: records are versions in change order, each with its op and the workflow whose
 * batch wrote it (the rollback journal of both backends is rebuilt from that); workflows are
 * their rows; staged items their JSON texts; files their bytes; the audit trail its entries.
 *
 * A backend folder exports a snapshot (a consistent view of an open store, read once) and a
 * loader (a snapshot into a new store of that backend); open-backend.ts pairs them.
 */

/**
 * One version of a record. `json` is the whole record as JSON text (a deleted analogy merged with
 * what it deletes), carried as text so that no backend parses or serialises it more than it must.
 */
export interface PortableVersion {
  kind: RecordKind;
  id: string;
  version: number;
  op: LogOp;
  /** the workflow whose batch wrote this version, null when none did */
  workflow_id: string | null;
  /** the version is a tombstone (op 'delete': the record carries deleted_at) */
  deleted: boolean;
  json: string;
}

const RECORD_KEY = ',"json":';

/**
 * A version as one line: its head fields, then the record's JSON text as is. Ids and workflow ids
 * are plain names (no quotes), so the first `,"json":` ends the head.
 */
export function encodeVersionLine(v: PortableVersion): string {
  return `{"kind":"${v.kind}","id":${JSON.stringify(v.id)},"version":${v.version},"op":"${v.op}","workflow_id":${JSON.stringify(v.workflow_id)},"deleted":${v.deleted}${RECORD_KEY}${v.json}}`;
}

/** The line back (its head parsed, the record's text sliced out); null when it is not one. */
export function decodeVersionLine(line: string): PortableVersion | null {
  const at = line.indexOf(RECORD_KEY);
  if (at < 0 || !line.endsWith('}')) return null;
  const head = JSON.parse(`${line.slice(0, at)}}`) as Partial<PortableVersion>;
  if (typeof head.kind !== 'string' || typeof head.id !== 'string' || typeof head.version !== 'number' || typeof head.op !== 'string' || typeof head.deleted !== 'boolean') return null;
  return { kind: head.kind, id: head.id, version: head.version, op: head.op, workflow_id: typeof head.workflow_id === 'string' ? head.workflow_id : null, deleted: head.deleted, json: line.slice(at + RECORD_KEY.length, -1) };
}

export interface PurgedRecord {
  kind: RecordKind;
  id: string;
  purged_at: string;
}

export interface PortableContext extends ContextInfo {
  /** deleted records whose history compaction removed (a restore of one answers PURGED) */
  purged: PurgedRecord[];
  vector_settings: VectorSettings | null;
}

/** A file of a context (ContextFiles), sidecars under their own names (`vectors.index.meta.json`). */
export interface PortableFile {
  name: string;
  data: Buffer;
}

export interface PortableSnapshot {
  readonly backend: BackendKind | 'backup';
  /** where it was read from, for messages (a directory, a URL without password, a backup file) */
  readonly source: string;
  /** parents before their children */
  readonly contexts: PortableContext[];
  /** every workflow row, oldest first */
  readonly workflows: StoredWorkflow[];
  /** every version still stored in the context, in change order, in pages */
  versions(context: string): AsyncIterable<PortableVersion[]>;
  /** the staged items (JSON texts, in order) of a workflow that still has them */
  staged(workflowId: string): AsyncIterable<string[]>;
  files(context: string): Promise<PortableFile[]>;
  /** the audit trail, oldest first */
  audit(): AsyncIterable<AuditEntry[]>;
  close(): Promise<void>;
}

/** What a loader reports and checks: the backup file and the counts its manifest promises. */
export interface LoadOptions extends RestoreOptions {
  backup: string;
  bytes: number;
  members: number;
  expected: ContextCounts[];
}

/**
 * Loads a snapshot into a new store at `location` (empty or absent, or replaced with `force`),
 * then checks its counts against `expected` (and runs verify with force or `verify`).
 */
export type LoadPortable = (snapshot: PortableSnapshot, location: string, options: LoadOptions) => Promise<RestoreResult>;

/** Contexts with parents before children (a parent must exist when its child is created). */
export function parentsFirst<T extends ContextInfo>(contexts: readonly T[]): T[] {
  const byName = new Map(contexts.map((c) => [c.name, c]));
  const out: T[] = [];
  const seen = new Set<string>();
  const visit = (c: T, depth: number): void => {
    if (seen.has(c.name) || depth > 64) return;
    const parent = c.parent ? byName.get(c.parent) : undefined;
    if (parent) visit(parent, depth + 1);
    seen.add(c.name);
    out.push(c);
  };
  for (const c of contexts) visit(c, 0);
  return out;
}
