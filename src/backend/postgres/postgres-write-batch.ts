import type pg from 'pg';
import type { ContextInfo, LogOp, RecordKind } from '../../core/records.js';
import { SoftlogicError } from '../../core/errors.js';
import { entitySearchText } from '../../core/entity-search.js';
import { copyField, copyRows, copyTextArray } from './postgres-copy.js';
import { claimProgress, commitProgress } from './postgres-workflow-progress.js';
import { conceptVectorRow, writeConceptVectors } from './postgres-vector-table.js';
import type { BatchProgress, RecordRef, StoredVersion, WriteBatch } from '../write-batch.js';

/**
 * The write batch on PostgreSQL. `fn` is synchronous and PostgreSQL is not, so the batch works in
 * three steps inside one transaction: load and lock the versions `fn` will read (the prefetch
 * list, one query per table), run `fn` against that map collecting its changes, then write every
 * new version (each one a change-log row: op, version, prev) and move the `current` flag, all
 * committed with the workflow's progress.
 */

type Body = Record<string, unknown>;

export class PostgresVersion<T = Body> implements StoredVersion<T> {
  constructor(
    readonly kind: RecordKind,
    readonly id: string,
    readonly version: number,
    readonly deleted: boolean,
    readonly ref: RecordRef,
    private readonly body: Body,
  ) {}

  record(): T {
    return this.body as T;
  }
}

/** The row of a version as SELECTed by the readers and the prefetch. */
export interface VersionRow {
  kind?: RecordKind;
  id: string;
  version: number;
  seq: number;
  deleted_at: string | null;
  body: Body;
}

export const VERSION_COLUMNS = 'id, version, seq, deleted_at, body';

export function versionOfRow<T>(kind: RecordKind, row: VersionRow): StoredVersion<T> {
  return new PostgresVersion<T>(kind, row.id, row.version, row.deleted_at !== null, seqRef(row.seq), row.body);
}

export function seqRef(seq: number): RecordRef {
  return String(seq) as RecordRef;
}

function key(kind: RecordKind, id: string): string {
  return `${kind}\u0000${id}`;
}

/** A change of this batch, until it has its seq (its ref is a placeholder until then). */
interface Change {
  kind: RecordKind;
  id: string;
  op: LogOp;
  version: number;
  body: Body;
  json: string;
  prev: RecordRef | null;
  /** the version before it was a stored row (its `current` flag must be cleared) */
  supersedesRow: boolean;
}

const PENDING = 'pending:';

export class PostgresWriteBatch implements WriteBatch {
  readonly changes: Change[] = [];
  progress: BatchProgress | null = null;
  /** this batch's latest version of each record it changed */
  private readonly own = new Map<string, StoredVersion>();

  constructor(
    readonly context: ContextInfo,
    /** the prefetched versions: null for a record known to be absent */
    private readonly prefetched: ReadonlyMap<string, StoredVersion | null>,
  ) {}

  current<T = Body>(kind: RecordKind, id: string): StoredVersion<T> | undefined {
    const k = key(kind, id);
    const own = this.own.get(k);
    if (own) return own as StoredVersion<T>;
    const stored = this.prefetched.get(k);
    if (stored === undefined) {
      // A caller bug, not a user error: PostgreSQL cannot read inside fn, only serve the prefetch.
      throw new SoftlogicError('INTERNAL', `write batch: ${kind} ${id} was read but not listed in the prefetch`, { kind, id });
    }
    return (stored ?? undefined) as StoredVersion<T> | undefined;
  }

  change(kind: RecordKind, op: LogOp, record: object, prev: StoredVersion<unknown> | undefined, options: { fresh?: boolean; json?: string } = {}): void {
    const given = record as Body;
    const id = given.id;
    const version = given.version;
    if (typeof id !== 'string' || typeof version !== 'number') throw new SoftlogicError('INTERNAL', `write batch: a ${kind} change without id or version`);
    // A tombstone carries the changed fields only; the stored version is the whole record.
    const merged = op === 'delete' && prev !== undefined;
    const body = merged ? { ...(prev.record() as Body), ...given } : given;
    const json = !merged && options.json !== undefined ? options.json : JSON.stringify(body);
    const prevRef = prev?.ref ?? null;
    const change: Change = { kind, id, op, version, body, json, prev: prevRef, supersedesRow: prevRef !== null && !prevRef.startsWith(PENDING) };
    const ref = `${PENDING}${this.changes.length}` as RecordRef;
    this.changes.push(change);
    this.own.set(key(kind, id), new PostgresVersion(kind, id, version, body.deleted_at != null, ref, body));
  }

  setProgress(progress: BatchProgress): void {
    this.progress = progress;
  }

  get size(): number {
    return this.changes.length;
  }
}

/** How often a prefetch is tried again when other writers keep superseding what it locked (each round one of the contenders wins). */
const PREFETCH_TRIES = 100;

/**
 * Loads and locks (FOR UPDATE) the current versions of `keys`, one query per table; every key is
 * in the map, null when the record does not exist.
 *
 * READ COMMITTED makes one subtlety: a row that another writer superseded while this one waited
 * for its lock is re-checked after the wait, no longer `current`, and silently left out, while
 * the new version is invisible to the waiting statement. So a second statement (a fresh
 * snapshot, no lock) reads the current seqs again; if they differ from what was locked, the
 * prefetch is repeated, now locking the new versions. Two replicas updating one record thus
 * serialise instead of failing.
 */
export async function prefetchVersions(client: pg.ClientBase, ctx: number, keys: ReadonlyArray<readonly [RecordKind, string]>): Promise<Map<string, StoredVersion | null>> {
  const analogyIds: string[] = [];
  const entityKinds: string[] = [];
  const entityIds: string[] = [];
  for (const [kind, id] of keys) {
    if (kind === 'analogy') analogyIds.push(id);
    else {
      entityKinds.push(kind);
      entityIds.push(id);
    }
  }
  const queries: Array<{ kind: RecordKind | null; sql: string; check: string; args: unknown[] }> = [];
  if (analogyIds.length > 0) {
    const where = 'FROM analogies WHERE ctx = $1 AND current AND id = ANY($2::text[])';
    queries.push({ kind: 'analogy', sql: `SELECT ${VERSION_COLUMNS} ${where} FOR UPDATE`, check: `SELECT 'analogy' AS kind, id, seq ${where}`, args: [ctx, analogyIds] });
  }
  if (entityIds.length > 0) {
    const where = 'FROM entities WHERE ctx = $1 AND current AND (kind, id) IN (SELECT * FROM unnest($2::text[], $3::text[]))';
    queries.push({ kind: null, sql: `SELECT kind, ${VERSION_COLUMNS} ${where} FOR UPDATE`, check: `SELECT kind, id, seq ${where}`, args: [ctx, entityKinds, entityIds] });
  }
  for (let attempt = 1; ; attempt++) {
    const found = new Map<string, StoredVersion | null>();
    for (const [kind, id] of keys) found.set(key(kind, id), null);
    let stale = false;
    for (const q of queries) {
      const { rows } = await client.query<VersionRow>(q.sql, q.args);
      const locked = new Map<string, number>();
      for (const row of rows) {
        const kind = q.kind ?? (row.kind as RecordKind);
        found.set(key(kind, row.id), versionOfRow(kind, row));
        locked.set(key(kind, row.id), row.seq);
      }
      const now = await client.query<{ kind: RecordKind; id: string; seq: number }>(q.check, q.args);
      stale ||= now.rows.length !== locked.size || now.rows.some((r) => locked.get(key(r.kind, r.id)) !== r.seq);
    }
    if (!stale) return found;
    if (attempt >= PREFETCH_TRIES) throw staleWrite();
  }
}

export const COPY_ANALOGIES = 'COPY analogies(ctx, id, version, seq, op, prev, current, source_domain, target_domain, quality, created_ms, deleted_at, workflow_id, tags, frames, body)';
export const COPY_ENTITIES = 'COPY entities(ctx, kind, id, version, seq, op, prev, current, deleted_at, name, search, body)';

/** created_at as the embedded index keeps it (Date.parse: the filters compare milliseconds). */
function createdMs(body: Body): number {
  const ms = Date.parse(String(body.created_at));
  if (Number.isNaN(ms)) throw new SoftlogicError('INVALID_RECORD', `analogy ${String(body.id)} has no valid created_at`, { id: body.id });
  return ms;
}

/** Where a version sits in the change log: its seq, op, the seq it supersedes and whether it is current. */
export interface VersionPlace {
  id: string;
  version: number;
  seq: number;
  op: LogOp;
  prev: number | null;
  current: boolean;
}

/**
 * One version as a line of COPY_ANALOGIES or COPY_ENTITIES (by kind): the query columns computed
 * from the record, `json` its text as stored.
 */
export function versionCopyLine(ctx: number, kind: RecordKind, place: VersionPlace, body: Body, json: string): string {
  const head = [ctx, place.id, place.version, place.seq, place.op, place.prev, place.current];
  const deletedAt = typeof body.deleted_at === 'string' ? body.deleted_at : null;
  if (kind === 'analogy') {
    const b = body as { source_domain: string; target_domain: string; quality_score: number; workflow_id?: string | null; tags?: string[]; frame_mappings?: Record<string, string> };
    const fields = [...head, b.source_domain, b.target_domain, b.quality_score, createdMs(body), deletedAt, b.workflow_id ?? null].map(copyField);
    return `${fields.join('\t')}\t${copyTextArray(b.tags ?? [])}\t${copyTextArray(Object.keys(b.frame_mappings ?? {}))}\t${copyField(json)}`;
  }
  const [, ...rest] = head;
  return [ctx, kind, ...rest, deletedAt, typeof body.name === 'string' ? body.name : null, entitySearchText(body), json].map(copyField).join('\t');
}

/**
 * Writes a batch's changes: seqs for its versions (one query), the old current rows unflagged,
 * the new versions inserted (one statement per table), the workflow's journal and progress.
 */
export async function commitChanges(client: pg.ClientBase, ctx: number, batch: PostgresWriteBatch): Promise<void> {
  const { changes } = batch;
  if (batch.progress) await claimProgress(client, batch.progress);
  if (changes.length > 0) {
    // A batch that changes concepts takes its context's row first, so that its seqs are drawn
    // (and committed) after those of every earlier concept batch of the context: a replica whose
    // index has seen vector seq N (the vector table's generation) has seen every one below it.
    if (changes.some((c) => c.kind === 'concept')) await client.query('SELECT 1 FROM contexts WHERE ctx = $1 FOR NO KEY UPDATE', [ctx]);
    const { rows } = await client.query<{ seq: number }>(`SELECT nextval('change_seq') AS seq FROM generate_series(1, $1)`, [changes.length]);
    const seqs = rows.map((r) => r.seq).sort((a, b) => a - b);
    const prevSeq = (ref: RecordRef | null): number | null => (ref === null ? null : ref.startsWith(PENDING) ? (seqs[Number(ref.slice(PENDING.length))] as number) : Number(ref));
    // Only the last change of a record in this batch stays current.
    const last = new Map<string, number>();
    changes.forEach((c, i) => last.set(key(c.kind, c.id), i));
    await unflagSuperseded(client, ctx, changes);
    // The new versions, COPY'd: each row's columns are computed here, from the record.
    const analogyRows: string[] = [];
    const entityRows: string[] = [];
    changes.forEach((c, i) => {
      const line = versionCopyLine(ctx, c.kind, { id: c.id, version: c.version, seq: seqs[i] as number, op: c.op, prev: prevSeq(c.prev), current: last.get(key(c.kind, c.id)) === i }, c.body, c.json);
      (c.kind === 'analogy' ? analogyRows : entityRows).push(line);
    });
    await copyRows(client, COPY_ANALOGIES, analogyRows);
    await copyRows(client, COPY_ENTITIES, entityRows);
    // The vectors of the concepts this batch leaves current, derived from their records.
    await writeConceptVectors(client, ctx, changes.flatMap((c, i) => (c.kind === 'concept' && last.get(key(c.kind, c.id)) === i ? [conceptVectorRow(c.body, seqs[i] as number)] : [])));
    if (batch.progress) await journal(client, ctx, batch.progress.workflowId, changes, seqs);
    await client.query('UPDATE contexts SET mark = mark + 1 WHERE ctx = $1', [ctx]);
  }
  if (batch.progress) await commitProgress(client, batch.progress);
}

/** Clears `current` on the stored versions this batch supersedes (rows the prefetch locked). */
async function unflagSuperseded(client: pg.ClientBase, ctx: number, changes: Change[]): Promise<void> {
  const analogySeqs: number[] = [];
  const entitySeqs: number[] = [];
  const analogyIds: string[] = [];
  const entityIds: string[] = [];
  const entityKinds: string[] = [];
  for (const c of changes) {
    if (!c.supersedesRow) continue;
    if (c.kind === 'analogy') {
      analogyIds.push(c.id);
      analogySeqs.push(Number(c.prev));
    } else {
      entityKinds.push(c.kind);
      entityIds.push(c.id);
      entitySeqs.push(Number(c.prev));
    }
  }
  if (analogyIds.length > 0) {
    const { rowCount } = await client.query(`UPDATE analogies SET current = false WHERE ctx = $1 AND current AND id = ANY($2::text[]) AND seq = ANY($3::bigint[])`, [ctx, analogyIds, analogySeqs]);
    if (rowCount !== analogyIds.length) throw staleWrite();
  }
  if (entityIds.length > 0) {
    const { rowCount } = await client.query(
      `UPDATE entities e SET current = false FROM unnest($2::text[], $3::text[], $4::bigint[]) AS t(kind, id, seq)
       WHERE e.ctx = $1 AND e.current AND e.kind = t.kind AND e.id = t.id AND e.seq = t.seq`,
      [ctx, entityKinds, entityIds, entitySeqs],
    );
    if (rowCount !== entityIds.length) throw staleWrite();
  }
}

function staleWrite(): SoftlogicError {
  return new SoftlogicError('CONFLICT', 'a record changed under this write (another writer superseded the version it read); retry', {});
}

/** What the workflow changed in this batch, for its rollback: one row per kind. */
async function journal(client: pg.ClientBase, ctx: number, workflowId: string, changes: Change[], seqs: number[]): Promise<void> {
  const byKind = new Map<RecordKind, { ids: string[]; seqs: number[] }>();
  changes.forEach((c, i) => {
    let entry = byKind.get(c.kind);
    if (!entry) byKind.set(c.kind, (entry = { ids: [], seqs: [] }));
    entry.ids.push(c.id);
    entry.seqs.push(seqs[i] as number);
  });
  for (const [kind, entry] of byKind) {
    await client.query(`INSERT INTO workflow_changes(workflow_id, ctx, kind, ids, seqs) VALUES ($1, $2, $3, $4, $5)`, [workflowId, ctx, kind, entry.ids, entry.seqs]);
  }
}

/** PostgreSQL's unique violation on a version row: another writer created the same record first. */
export function isUniqueViolation(err: unknown): boolean {
  return (err as { code?: string }).code === '23505';
}
