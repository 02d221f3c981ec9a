import type { Analogy, AnalogyTombstone, ContextInfo, LogOp, RecordKind } from '../../core/records.js';
import type { BatchProgress, ChangeOptions, RecordRef, StoredVersion, WriteBatch } from '../write-batch.js';
import type { EmbeddedStore, WriteBatch as LogBatch } from './embedded-store.js';
import type { EntityRecord } from './entity-index.js';
import { contextInfo } from './embedded-contexts.js';
import { readAnalogy, readEntity, type LocatedRow } from './record-lines.js';

/** What an index row (analogies or entities) says of the current version of a record. */
export interface VersionRow extends LocatedRow {
  version: number;
  deleted_at: number | null;
}

/**
 * The embedded RecordRef: the log offset of the version's line (what a later line's `prev`
 * holds) and its version number, which tells two versions apart even across a compaction that
 * moved the lines.
 */
export function refOf(off: number, version: number): RecordRef {
  return `${off}.${version}` as RecordRef;
}

export function offsetOfRef(ref: RecordRef): number {
  return Number(ref.slice(0, ref.indexOf('.')));
}

/** A current version read through the index row; the record itself is read from the log on demand. */
export class EmbeddedVersion<T> implements StoredVersion<T> {
  constructor(
    private readonly store: EmbeddedStore,
    private readonly contextName: string,
    readonly kind: RecordKind,
    readonly id: string,
    readonly row: VersionRow,
  ) {}

  get version(): number {
    return this.row.version;
  }

  get deleted(): boolean {
    return this.row.deleted_at !== null;
  }

  get ref(): RecordRef {
    return refOf(this.row.off, this.row.version);
  }

  record(): T {
    const { store, contextName, row } = this;
    return (this.kind === 'analogy' ? readAnalogy(store, contextName, { ...row, id: this.id }, false) : readEntity(store, contextName, row, false)) as T;
  }
}

/** The current version of a record in one context from its index row, or undefined. */
export function currentVersion<T>(store: EmbeddedStore, ctx: { ctx: number; name: string }, kind: RecordKind, id: string): EmbeddedVersion<T> | undefined {
  const row = kind === 'analogy' ? store.analogies.get(ctx.ctx, id) : store.entities.get(ctx.ctx, kind, id);
  return row ? new EmbeddedVersion<T>(store, ctx.name, kind, id, row) : undefined;
}

/**
 * The interface's write batch over the embedded store's log batch (embedded-store.ts): every
 * change is one log line whose index row is applied at once inside the open SQLite transaction,
 * so `current` sees the batch's own changes; all of it commits with the log's fsync or not at all.
 */
export class EmbeddedWriteBatch implements WriteBatch {
  readonly context: ContextInfo;

  constructor(
    readonly store: EmbeddedStore,
    /** the log batch underneath, for the embedded-only fast paths (prepared import chunks) */
    readonly log: LogBatch,
  ) {
    this.context = contextInfo(log.context);
  }

  current<T = Record<string, unknown>>(kind: RecordKind, id: string): StoredVersion<T> | undefined {
    return currentVersion<T>(this.store, this.log.context, kind, id);
  }

  change(kind: RecordKind, op: LogOp, record: object, prev: StoredVersion<unknown> | undefined, options: ChangeOptions = {}): void {
    let prevOff: number | null = null;
    let rowKey: number | undefined;
    if (prev instanceof EmbeddedVersion) {
      prevOff = prev.row.off;
      // A tombstone keeps its row: updating it by key saves the search by id.
      if (kind === 'analogy' && op === 'delete') rowKey = prev.row.key;
    } else if (prev) {
      prevOff = offsetOfRef(prev.ref);
    }
    this.log.append(kind, op, record as Analogy | AnalogyTombstone | EntityRecord, prevOff, { fresh: options.fresh, json: options.json, rowKey });
  }

  setProgress(progress: BatchProgress): void {
    this.log.setProgress(progress);
  }

  get size(): number {
    return this.log.size;
  }
}

/** The embedded batch behind an interface batch (only the embedded backend hands these out). */
export function embeddedBatch(batch: WriteBatch): EmbeddedWriteBatch {
  if (!(batch instanceof EmbeddedWriteBatch)) throw new Error('not a batch of the embedded backend');
  return batch;
}
