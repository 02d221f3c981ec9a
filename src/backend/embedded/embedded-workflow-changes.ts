import { closeSync, openSync } from 'node:fs';
import type { RecordKind } from '../../core/records.js';
import { SoftlogicError } from '../../core/errors.js';
import type { RecordRef, StoredVersion } from '../write-batch.js';
import type { StoredWorkflow, WorkflowChanges } from '../workflow-table.js';
import type { EmbeddedStore } from './embedded-store.js';
import { checksumOk, decodeLine } from './log-format.js';
import { readLines } from './log-reader.js';
import { SegmentMap } from './log-segments.js';
import { recordOfLine } from './record-lines.js';
import { refOf } from './embedded-write-batch.js';

/**
 * What one workflow changed in its context, read back from the change log: every batch a
 * workflow commits carries its id in the commit line (`"wf":...`), and every record line points
 * at the version it superseded (`prev`). So the log itself is the undo journal.
 */
interface LineChange {
  kind: RecordKind;
  id: string;
  /** the line of the version before the workflow's first change; null when the workflow created it */
  before: number | null;
  /** the line of the workflow's last change to it */
  after: number;
}

interface LogChanges {
  /** in log order of each record's first change */
  changes: LineChange[];
  /** the highest seq a compaction rewrote (0 if never compacted): history up to it is gone */
  compactedThrough: number;
}

interface PendingLine {
  offset: number;
  text: string;
}

/** The virtual offset where the compacted log's compressed blocks end (0 when none). */
function compactedEnd(path: string): number {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
  try {
    return SegmentMap.scan(fd).vTail;
  } finally {
    closeSync(fd);
  }
}

function logChanges(store: EmbeddedStore, context: string, workflowId: string): LogChanges {
  const path = store.layout.log(context);
  const blocksEnd = compactedEnd(path);
  const byRecord = new Map<string, LineChange>();
  let batch: PendingLine[] = [];
  let compactedThrough = 0;
  for (const line of readLines(path)) {
    if (!line.text.startsWith('{"op":"commit"')) {
      batch.push({ offset: line.offset, text: line.text });
      continue;
    }
    const commit = checksumOk(line.text) ? decodeLine(line.text) : null;
    if (!commit || commit.type !== 'commit') throw new SoftlogicError('CORRUPT_LOG', `commit line at byte ${line.offset} of context '${context}' fails its checksum`, { context, offset: line.offset });
    if (line.offset < blocksEnd) compactedThrough = Math.max(compactedThrough, commit.last);
    if (commit.wf === workflowId) {
      for (const l of batch) {
        const decoded = checksumOk(l.text) ? decodeLine(l.text) : null;
        if (!decoded || decoded.type !== 'record') throw new SoftlogicError('CORRUPT_LOG', `record line at byte ${l.offset} of context '${context}' fails its checksum`, { context, offset: l.offset });
        const { id } = JSON.parse(decoded.recordJson) as { id: string };
        const key = `${decoded.kind}\u0000${id}`;
        const seen = byRecord.get(key);
        if (seen) seen.after = l.offset;
        else byRecord.set(key, { kind: decoded.kind, id, before: decoded.prev, after: l.offset });
      }
    }
    batch = [];
  }
  return { changes: [...byRecord.values()], compactedThrough };
}

interface Versioned {
  version: number;
  deleted_at: string | null;
}

/**
 * The version stored at `off`, read when first asked (a rollback of a million records holds a
 * million of these, not a million records).
 */
class VersionAtOffset<T> implements StoredVersion<T> {
  private cached: Record<string, unknown> | undefined;

  constructor(
    private readonly store: EmbeddedStore,
    private readonly context: string,
    readonly kind: RecordKind,
    readonly id: string,
    private readonly off: number,
  ) {}

  /** The full record (a tombstone merged with the version it deletes). */
  private read(): Record<string, unknown> {
    this.cached ??= recordOfLine<Record<string, unknown>>(this.store, this.context, this.store.readLogLineAt(this.context, this.off), false).record;
    return this.cached;
  }

  get ref(): RecordRef {
    return refOf(this.off, this.version);
  }

  get version(): number {
    return (this.read() as unknown as Versioned).version;
  }

  get deleted(): boolean {
    const deletedAt = (this.read() as unknown as Versioned).deleted_at;
    return deletedAt !== null && deletedAt !== undefined;
  }

  record(): T {
    const record = this.read();
    this.cached = undefined;
    return record as T;
  }
}

export function versionAtOffset<T = Record<string, unknown>>(store: EmbeddedStore, context: string, kind: RecordKind, id: string, off: number): StoredVersion<T> {
  return new VersionAtOffset<T>(store, context, kind, id, off);
}

/**
 * What the workflow changed, from its context's log; incomplete when a compaction after the
 * workflow started (its metadata's start_seq) rewrote the versions a rollback would need.
 */
export function embeddedWorkflowChanges(store: EmbeddedStore, workflow: StoredWorkflow): WorkflowChanges {
  const row = store.context(workflow.context);
  if (!row) return { changes: [], complete: true };
  store.transaction(() => store.catchUp(row));
  const { changes, compactedThrough } = logChanges(store, row.name, workflow.workflow_id);
  const startSeq = typeof workflow.metadata.start_seq === 'number' ? workflow.metadata.start_seq : 0;
  const complete = !(compactedThrough > startSeq && workflow.items_processed > 0);
  return {
    complete,
    changes: changes.map((c) => ({
      kind: c.kind,
      id: c.id,
      before: c.before === null ? null : versionAtOffset(store, row.name, c.kind, c.id, c.before),
      after: versionAtOffset(store, row.name, c.kind, c.id, c.after),
    })),
  };
}
