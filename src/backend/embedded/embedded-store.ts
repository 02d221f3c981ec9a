import Database from 'better-sqlite3';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { SoftlogicError, toSoftlogicError } from '../../core/errors.js';
import { assertContextName, DEFAULT_CONTEXT } from '../../core/names.js';
import type { Analogy, AnalogyTombstone, LogOp, RecordKind } from '../../core/records.js';
import { AuditLog } from './audit.js';
import { AnalogyIndex } from './analogy-index.js';
import { ContextLog, corruptRecordError } from './context-log.js';
import { EntityIndex, type EntityRecord } from './entity-index.js';
import { fsyncDir, writeFileAtomic } from './fs-durable.js';
import { storeLayout, STORE_FORMAT_VERSION, type StoreLayout } from './layout.js';
import { checksumOk, LineBuffer, seqOf } from './log-format.js';
import { LIMITS } from '../../core/schemas.js';
import { replayContext } from './replay.js';
import { configureConnection, createSchema, rowKey } from './sqlite-schema.js';
import { finishInterruptedCompaction } from './compact.js';
import { ensureQueryIndexes } from './bulk-load.js';
import { LogAppendThread } from './log-append-thread.js';
import { rebuildMissingIndex, type RebuildReport } from './rebuild.js';
import { removeLeftovers } from './leftovers.js';
import { completeInterruptedRestore } from './restore.js';
import type { BatchProgress } from '../write-batch.js';
import { commitProgress } from './embedded-workflow-table.js';

/** Context directories that hold a log.jsonl. */
export function contextsWithLogs(layout: StoreLayout): string[] {
  return existsSync(layout.contextsDir) ? readdirSync(layout.contextsDir).filter((n) => existsSync(layout.log(n))).sort() : [];
}

export interface ContextRow {
  ctx: number;
  name: string;
  parent: string | null;
  description: string | null;
  created_at: string;
  applied_seq: number;
  applied_off: number;
  compacting: number;
}

export interface StoreFile {
  format_version: number;
  created_at: string;
  settings: Record<string, unknown>;
}

export type { BatchProgress };

export interface AppendOptions {
  /** the caller minted this id in this batch, so no earlier row can exist */
  fresh?: boolean;
  /** the record already serialised (written to the log byte for byte) */
  json?: string;
  /** the key of the row this line supersedes, when the caller has it (saves an index search) */
  rowKey?: number;
}

/** What a write callback may do inside one batch: every call becomes one log line. */
export interface WriteBatch {
  readonly context: ContextRow;
  append(kind: RecordKind, op: LogOp, record: Analogy | AnalogyTombstone | EntityRecord, prev: number | null, options?: AppendOptions): number;
  /**
   * Appends a line whose record the caller has only as JSON text; `applyRow` fills the index
   * row from what the caller knows (the key, offset and length of the new line are given).
   */
  appendLine(kind: RecordKind, op: LogOp, recordJson: string, prev: number | null, applyRow: (key: number, off: number, len: number) => void): number;
  setProgress(progress: BatchProgress): void;
  readonly size: number;
}

const BUSY_TIMEOUT_MS = 15_000;

/**
 * The embedded backend: a directory of per-context JSONL logs indexed by one SQLite database.
 * Every write is one batch: BEGIN IMMEDIATE (SQLite's write lock, which also serialises log
 * appends across processes), catch the context's log up, apply rows, append + fsync the batch's
 * lines and its commit line, advance the watermark, COMMIT.
 */
export class EmbeddedStore {
  readonly layout: StoreLayout;
  readonly db: Database.Database;
  readonly audit: AuditLog;
  readonly analogies: AnalogyIndex;
  readonly entities: EntityIndex;
  private readonly logs = new Map<string, ContextLog>();
  private readonly contextByName: Database.Statement;
  private readonly contextById: Database.Statement;
  private readonly setWatermark: Database.Statement;
  private readonly setProgressStmt: Database.Statement;
  private closed = false;
  /** the store generation this process's cached log state belongs to (sqlite-schema.ts) */
  private generation: number;
  private readonly generationStmt: Database.Statement;
  private readonly sqliteIno: number;
  private appendThread: LogAppendThread | null = null;
  /** Lines of the batch being built, by offset: readable before they reach the file. */
  private pendingLines: { context: string; startOff: number; lines: LineBuffer } | null = null;

  /** A line of the batch being built (its log offset is at or past the batch's start). */
  private pendingLine(context: string, off: number): string | undefined {
    const pending = this.pendingLines;
    if (pending?.context !== context || off < pending.startOff) return undefined;
    return pending.lines.lineAt(off - pending.startOff);
  }

  private constructor(layout: StoreLayout) {
    this.layout = layout;
    this.audit = new AuditLog(layout.audit);
    this.db = new Database(layout.sqlite, { timeout: BUSY_TIMEOUT_MS });
    configureConnection(this.db);
    // The id index is built by ensureQueryIndexes below, unless a live bulk load dropped it.
    try {
      createSchema(this.db, { idIndex: false });
    } catch (err) {
      this.db.close();
      throw err;
    }
    this.analogies = new AnalogyIndex(this.db);
    this.entities = new EntityIndex(this.db);
    this.contextByName = this.db.prepare('SELECT * FROM contexts WHERE name = ?');
    this.contextById = this.db.prepare('SELECT * FROM contexts WHERE ctx = ?');
    this.setWatermark = this.db.prepare('UPDATE contexts SET applied_seq = ?, applied_off = ? WHERE ctx = ?');
    this.setProgressStmt = this.db.prepare(
      `UPDATE workflows SET items_processed = MAX(items_processed, ?), updated_at = ? WHERE workflow_id = ?`,
    );
    this.sqliteIno = statSync(layout.sqlite).ino;
    this.generationStmt = this.db.prepare(`SELECT value FROM meta WHERE key = 'generation'`).pluck();
    this.generation = this.readGeneration();
    ensureQueryIndexes(this);
  }

  /** The store generation this process last saw (checkGeneration). */
  get storeGeneration(): number {
    return this.generation;
  }

  private readGeneration(): number {
    const value = this.generationStmt.get() as string | undefined;
    return value === undefined ? 0 : Number(value);
  }

  /**
   * Another process compacted, rebuilt or restored the store when its generation moved: the
   * open log files, block maps and caches of this process then belong to replaced logs, so they
   * are dropped and read again. One indexed read of the meta table; run before every read and
   * write that uses log offsets.
   */
  checkGeneration(): void {
    // A restore (or a rebuild that had to write a new file) replaces knowledge.sqlite itself:
    // this connection then reads a file that is no longer the store's, so say so.
    let ino = -1;
    try {
      ino = statSync(this.layout.sqlite).ino;
    } catch {
      // gone: the same as replaced
    }
    if (ino !== this.sqliteIno) {
      throw new SoftlogicError('CONFLICT', `the store at ${this.layout.root} was replaced by another process (restore or rebuild); reopen it`, { store: this.layout.root });
    }
    const now = this.readGeneration();
    if (now === this.generation) return;
    this.generation = now;
    this.closeLogs();
  }

  /** Closes every open log file (reopened on the next read). */
  closeLogs(): void {
    for (const log of this.logs.values()) log.close();
    this.logs.clear();
    this.analogies.resetCache();
  }

  static init(dir: string): EmbeddedStore {
    const layout = storeLayout(dir);
    if (existsSync(layout.storeJson)) throw new SoftlogicError('STORE_EXISTS', `a store already exists at ${layout.root}`, { store: layout.root });
    for (const d of [layout.root, layout.contextsDir, layout.pendingDir, layout.backupsDir]) mkdirSync(d, { recursive: true });
    const file: StoreFile = { format_version: STORE_FORMAT_VERSION, created_at: new Date().toISOString(), settings: {} };
    const store = new EmbeddedStore(layout);
    writeFileAtomic(layout.storeJson, JSON.stringify(file, null, 2) + '\n');
    store.ensureContext(DEFAULT_CONTEXT);
    return store;
  }

  /** What open rebuilt because knowledge.sqlite was missing (null when it was there). */
  rebuiltOnOpen: RebuildReport | null = null;

  /**
   * Opens a store. A store whose contexts have logs but whose knowledge.sqlite is gone gets its
   * index rebuilt from the logs (audited, and a warning on stderr), never shown as empty;
   * `repair` skips that (rebuild --salvage opens a store whose logs cannot be replayed as they are)
   * and the quiet removal of leftovers (doctor reports them).
   */
  static open(dir: string, options: { create?: boolean; repair?: boolean } = {}): EmbeddedStore {
    const layout = storeLayout(dir);
    // A restore killed between its renames is finished first (restore.ts).
    completeInterruptedRestore(layout.root);
    if (!existsSync(layout.storeJson)) {
      if (options.create) return EmbeddedStore.init(dir);
      throw new SoftlogicError('STORE_NOT_FOUND', `no softlogic store at ${layout.root} (run 'softlogic init' or pass --store DIR)`, {
        store: layout.root,
      });
    }
    const file = JSON.parse(readFileSync(layout.storeJson, 'utf8')) as StoreFile;
    if (file.format_version !== STORE_FORMAT_VERSION) {
      throw new SoftlogicError('STORE_FORMAT', `store format ${file.format_version} is not supported (expected ${STORE_FORMAT_VERSION})`);
    }
    const rebuilt = !options.repair && !existsSync(layout.sqlite) && contextsWithLogs(layout).length > 0 ? rebuildMissingIndex(layout) : null;
    const store = new EmbeddedStore(layout);
    if (rebuilt) {
      store.rebuiltOnOpen = rebuilt;
      store.audit.record({ event: 'index_rebuilt', reason: 'knowledge.sqlite was missing', contexts: rebuilt.contexts, workflows_lost: rebuilt.workflows_lost });
      const records = rebuilt.contexts.reduce((n, c) => n + c.active_after, 0);
      const lost = rebuilt.workflows_lost.length > 0 ? `; the records of ${rebuilt.workflows_lost.length} workflow(s) are lost (${rebuilt.workflows_lost.map((w) => w.workflow_id).join(', ')}): their batches stay` : '';
      process.emitWarning(`knowledge.sqlite was missing: rebuilt it from the logs of ${rebuilt.contexts.length} context(s), ${records} active records${lost}`, { code: 'SOFTLOGIC_INDEX_REBUILT' });
    }
    store.recover();
    try {
      if (!options.repair) removeLeftovers(store);
    } catch (err) {
      // Another writer holds the lock: the files stay for the next open or `softlogic doctor`.
      if (toSoftlogicError(err).code !== 'STORE_BUSY') {
        store.close();
        throw err;
      }
    }
    store.ensureDefaultContext();
    return store;
  }

  /**
   * Every command that names no context uses 'default', so a store always has it (stores made
   * before init created it get it on open). Another writer holding the lock creates it itself.
   */
  private ensureDefaultContext(): void {
    if (this.context(DEFAULT_CONTEXT)) return;
    try {
      this.ensureContext(DEFAULT_CONTEXT);
    } catch (err) {
      if (toSoftlogicError(err).code !== 'STORE_BUSY') throw err;
    }
  }

  /** Finish interrupted compactions and replay every context's log tail, if we get the lock. */
  private recover(): void {
    try {
      for (const row of this.listContexts()) {
        this.transaction(() => {
          this.catchUp(this.contextById.get(row.ctx) as ContextRow);
        });
      }
    } catch (err) {
      const e = toSoftlogicError(err);
      // Another writer holds the lock and will catch up itself; corruption is for verify to report.
      if (e.code !== 'STORE_BUSY' && e.code !== 'CORRUPT_LOG') throw e;
    }
  }

  /**
   * A separate read-only connection for long reads (streams): its WAL snapshot stays consistent
   * for as long as it is read, and it never holds the main connection busy, so writes go on.
   */
  openReader(): Database.Database {
    this.assertOpen();
    const reader = new Database(this.layout.sqlite, { readonly: true, fileMustExist: true, timeout: BUSY_TIMEOUT_MS });
    reader.pragma('cache_size = -16384');
    return reader;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const log of this.logs.values()) log.close();
    this.logs.clear();
    void this.appendThread?.close();
    this.appendThread = null;
    this.db.close();
  }

  assertOpen(): void {
    if (this.closed) throw new SoftlogicError('STORE_CLOSED');
  }

  log(context: string): ContextLog {
    let log = this.logs.get(context);
    if (!log) {
      log = new ContextLog(this.layout.log(context));
      this.logs.set(context, log);
    }
    return log;
  }

  private readonly statements = new Map<string, Database.Statement>();

  /**
   * A prepared statement for SQL built at run time (filters), kept for reuse: preparing a
   * query costs more than running it. Bounded: the cache is dropped when it grows past 512.
   */
  statement(sql: string): Database.Statement {
    let stmt = this.statements.get(sql);
    if (!stmt) {
      if (this.statements.size >= 512) this.statements.clear();
      stmt = this.db.prepare(sql);
      this.statements.set(sql, stmt);
    }
    return stmt;
  }

  /** Reads the line at (off, len) of a context's log, including lines of the open batch. */
  readLogLine(context: string, off: number, len: number, seq: number): string {
    if (!this.db.inTransaction) this.checkGeneration();
    const pending = this.pendingLine(context, off);
    if (pending !== undefined) return pending;
    return this.log(context).readLine(off, len, seq);
  }

  /** Reads the line starting at `off` when its length is not known (a `prev` pointer). */
  readLogLineAt(context: string, off: number): string {
    if (!this.db.inTransaction) this.checkGeneration();
    const pending = this.pendingLine(context, off);
    if (pending !== undefined) return pending;
    // A line is at most a record (LIMITS.recordBytes) plus its wrapper.
    const text = this.log(context).readAt(off, LIMITS.recordBytes + 4096);
    const nl = text.indexOf('\n');
    const line = nl >= 0 ? text.slice(0, nl) : text;
    if (!checksumOk(line)) throw corruptRecordError(this.layout.log(context), off, seqOf(line), 'an earlier version fails its checksum');
    return line;
  }

  listContexts(): ContextRow[] {
    return this.db.prepare('SELECT * FROM contexts ORDER BY name').all() as ContextRow[];
  }

  context(name: string): ContextRow | undefined {
    return this.contextByName.get(name) as ContextRow | undefined;
  }

  contextById_(ctx: number): ContextRow | undefined {
    return this.contextById.get(ctx) as ContextRow | undefined;
  }

  requireContext(name: string): ContextRow {
    const row = this.context(assertContextName(name));
    if (!row) throw new SoftlogicError('CONTEXT_NOT_FOUND', `context '${name}' does not exist`, { context: name });
    return row;
  }

  /** The context and its ancestors, nearest first (lookups fall back along this chain). */
  contextChain(name: string): ContextRow[] {
    const chain: ContextRow[] = [];
    let row: ContextRow | undefined = this.requireContext(name);
    while (row && chain.length < 64) {
      chain.push(row);
      row = row.parent ? this.context(row.parent) : undefined;
    }
    return chain;
  }

  /** Creates a context (directory, metadata.json, row) unless it exists; needs the write lock. */
  ensureContext(name: string, options: { parent?: string | null; description?: string | null } = {}): ContextRow {
    assertContextName(name);
    const existing = this.context(name);
    if (existing) return existing;
    if (options.parent) {
      assertContextName(options.parent);
      if (!this.context(options.parent)) {
        throw new SoftlogicError('CONTEXT_NOT_FOUND', `parent context '${options.parent}' does not exist`, { context: options.parent });
      }
    }
    return this.transaction(() => {
      const again = this.context(name);
      if (again) return again;
      const dir = this.layout.contextDir(name);
      mkdirSync(dir, { recursive: true });
      const created_at = new Date().toISOString();
      const meta = { name, parent: options.parent ?? null, description: options.description ?? null, created_at };
      writeFileAtomic(this.layout.contextMetadata(name), JSON.stringify(meta, null, 2) + '\n');
      this.log(name).size(); // creates log.jsonl
      fsyncDir(dir);
      this.db
        .prepare('INSERT INTO contexts(name, parent, description, created_at) VALUES (?, ?, ?, ?)')
        .run(name, meta.parent, meta.description, created_at);
      this.audit.record({ event: 'context_created', context: name, parent: meta.parent });
      return this.context(name) as ContextRow;
    });
  }

  /** Runs fn inside BEGIN IMMEDIATE (or inside the already-open transaction). */
  transaction<T>(fn: () => T): T {
    this.assertOpen();
    if (this.db.inTransaction) return fn();
    try {
      return this.db.transaction(() => {
        this.checkGeneration();
        return fn();
      }).immediate();
    } catch (err) {
      this.analogies.resetCache();
      throw toSoftlogicError(err);
    }
  }

  /** Applies any committed log tail past the watermark (a writer that died before COMMIT). */
  catchUp(current: ContextRow): ContextRow {
    const row = current.compacting ? finishInterruptedCompaction(this, current) : current;
    const log = this.log(row.name);
    log.refresh();
    const size = log.size();
    if (size === row.applied_off) return row;
    if (size < row.applied_off) {
      throw new SoftlogicError(
        'CORRUPT_LOG',
        `log of context '${row.name}' is shorter (${size} B) than its applied watermark (${row.applied_off} B, seq ${row.applied_seq}): committed lines are missing; ` +
          `run 'softlogic rebuild --salvage' to keep every line whose checksum passes`,
        { context: row.name, offset: size, seq: row.applied_seq },
      );
    }
    const result = replayContext(log.path, row, row.applied_off, (kind, op, record, key, off, len) => this.applyRow(row.ctx, kind, op, record, key, off, len), (p) =>
      this.setProgressStmt.run(p.processedUpTo, new Date().toISOString(), p.workflowId),
    );
    if (result.tornBytes > 0) {
      log.truncate(result.appliedOff);
      this.audit.record({
        event: 'torn_tail_truncated',
        context: row.name,
        offset: result.appliedOff,
        bytes: result.tornBytes,
        lines: result.tornLines,
        reason: result.tornReason,
      });
    }
    this.setWatermark.run(result.appliedSeq, result.appliedOff, row.ctx);
    return { ...row, applied_seq: result.appliedSeq, applied_off: result.appliedOff };
  }

  applyRow(ctx: number, kind: RecordKind, op: LogOp, record: Analogy | AnalogyTombstone | EntityRecord, key: number, off: number, len: number, options: AppendOptions = {}): void {
    if (kind === 'analogy') this.analogies.apply(ctx, key, off, len, op, record as Analogy | AnalogyTombstone, { replaces: !options.fresh, rowKey: options.rowKey });
    else this.entities.apply(ctx, key, off, len, kind, op, record as EntityRecord);
  }

  /**
   * Commits a batch whose lines were encoded elsewhere (another thread) for a log standing at
   * (baseSeq, baseOff): its record lines and commit line as bytes. If the log has moved since
   * (another writer), nothing is written and false is returned; the caller encodes it again.
   * Inside the same transaction `check` may refuse the batch before anything is written, then
   * `applyRows` fills the rows. The batch's memory is handed to the log writer thread.
   */
  writePrepared(
    contextName: string,
    batch: { baseSeq: number; baseOff: number; count: number; data: Buffer; progress: BatchProgress },
    applyRows: (row: ContextRow) => void,
  ): boolean {
    const ctxRow = this.context(contextName) ?? this.ensureContext(contextName);
    return this.transaction(() => {
      const row = this.catchUp(this.contextById.get(ctxRow.ctx) as ContextRow);
      if (row.applied_seq !== batch.baseSeq || row.applied_off !== batch.baseOff) return false;
      // Refused (CONFLICT) before anything is written when another processor moved the workflow.
      commitProgress(this, batch.progress);
      const log = this.log(row.name);
      const length = batch.data.length;
      // The lines are written and fdatasync'd on another thread while the rows go in (we hold
      // the write lock since BEGIN IMMEDIATE); the commit waits for them to be durable.
      this.appendThread ??= new LogAppendThread();
      const append = this.appendThread.start(log.path, log.segments().toPhysical(row.applied_off), batch.data);
      try {
        applyRows(row);
      } catch (err) {
        append.wait();
        // The rows roll back: so must the lines, or a replay would apply them.
        log.truncate(row.applied_off);
        throw err;
      }
      append.wait();
      this.setWatermark.run(batch.baseSeq + batch.count, row.applied_off + length, row.ctx);
      return true;
    });
  }

  /**
   * One durable batch in one context. `fn` looks up current rows and appends lines; rows are
   * applied as lines are appended (inside the open SQLite transaction), the log is written and
   * fsync'd once, then the transaction commits. Any failure rolls back both.
   */
  write<T>(contextName: string, fn: (batch: WriteBatch) => T): T {
    const ctxRow = this.context(contextName) ?? this.ensureContext(contextName);
    return this.transaction(() => {
      const row = this.catchUp(this.contextById.get(ctxRow.ctx) as ContextRow);
      const log = this.log(row.name);
      const lines = new LineBuffer();
      let seq = row.applied_seq;
      let off = row.applied_off;
      let progress: BatchProgress | null = null;
      this.pendingLines = { context: row.name, startOff: row.applied_off, lines };
      const appendLine: WriteBatch['appendLine'] = (kind, op, recordJson, prev, applyRow) => {
        seq += 1;
        const len = lines.addRecord(seq, op, kind, recordJson, prev);
        applyRow(rowKey(row.ctx, seq), off, len);
        const at = off;
        off += len;
        return at;
      };
      const batch: WriteBatch = {
        context: row,
        appendLine,
        append: (kind, op, record, prev, options = {}) =>
          appendLine(kind, op, options.json ?? JSON.stringify(record), prev, (key, at, len) => this.applyRow(row.ctx, kind, op, record, key, at, len, options)),
        setProgress: (p) => {
          progress = p;
        },
        get size() {
          return lines.lines;
        },
      };
      let result: T;
      try {
        result = fn(batch);
      } finally {
        this.pendingLines = null;
      }
      const p = progress as BatchProgress | null;
      if (lines.lines === 0) {
        // Nothing to log (every item of the chunk was refused): progress alone is committed.
        if (p) commitProgress(this, p);
        return result;
      }
      // Refused (CONFLICT) before anything is written when another processor moved the workflow.
      if (p) commitProgress(this, p);
      lines.addCommit(seq, lines.lines, p);
      const data = lines.bytes();
      log.append(data, row.applied_off);
      this.setWatermark.run(seq, row.applied_off + data.length, row.ctx);
      return result;
    });
  }
}
