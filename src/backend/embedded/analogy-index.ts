import type Database from 'better-sqlite3';
import type { Analogy, AnalogyTombstone, LogOp } from '../../core/records.js';
import { idHash } from '../../core/id-hash.js';
import { qualityBucket } from './sqlite-schema.js';
import { TieredById } from './analogy-tiers.js';
import { analogyIndexColumns, type AnalogyIndexColumns } from '../../core/analogy-columns.js';

/**
 * The analogies table: maps an analogy record (at a log position) onto its index row. Used by
 * the write path, by replay and by rebuild alike, so all three produce identical rows.
 */
export interface AnalogyRow {
  key: number;
  ctx: number;
  id: string;
  off: number;
  len: number;
  version: number;
  deleted_at: number | null;
}

export { analogyIndexColumns, timeMs, type AnalogyIndexColumns, type IndexedFields } from '../../core/analogy-columns.js';

/** Columns of the analogies table but `tier`, and rows per multi-row INSERT (insertMany). */
export const ROW_COLUMNS = 16;
const INSERT_COLUMNS = 'key, ctx, idh, id, off, len, version, src, tgt, quality, qb, created_at, deleted_at, wf, tags, frames';
const INSERT_ROWS = 50;

export class AnalogyIndex {
  private readonly upsertStmt: Database.Statement;
  private readonly insertManyStmt: Database.Statement;
  private readonly insertOneStmt: Database.Statement;
  /** The tier a tiered bulk load writes its rows into, with its context (bulk-load.ts). */
  private tierOfLoad: { ctx: number; tier: number } | null = null;
  private readonly deleteByKeyStmt: Database.Statement;
  private readonly tombstoneByKeyStmt: Database.Statement;
  private readonly byKeyStmt: Database.Statement;
  private readonly byId: TieredById<AnalogyRow>;
  private readonly wfKeyStmt: Database.Statement;
  private readonly wfInsertStmt: Database.Statement;
  private readonly domainStmt: Database.Statement;
  private readonly domainInsertStmt: Database.Statement;
  private readonly wfCache = new Map<string, number>();
  private readonly domainCache = new Map<string, number>();

  constructor(db: Database.Database) {
    this.upsertStmt = db.prepare(
      `INSERT INTO analogies(key, ctx, idh, id, off, len, version, src, tgt, quality, qb, created_at, deleted_at, wf, tags, frames)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.insertManyStmt = db.prepare(`INSERT INTO analogies(${INSERT_COLUMNS}, tier) VALUES ${Array(INSERT_ROWS).fill(`(${Array(ROW_COLUMNS + 1).fill('?').join(',')})`).join(',')}`);
    this.insertOneStmt = db.prepare(`INSERT INTO analogies(${INSERT_COLUMNS}, tier) VALUES (${Array(ROW_COLUMNS + 1).fill('?').join(',')})`);
    this.deleteByKeyStmt = db.prepare('DELETE FROM analogies WHERE key = ?');
    // The row keeps its key (moving a row costs a delete and an insert in every index); only
    // active rows need key == the seq of their line, for streams in log order.
    this.tombstoneByKeyStmt = db.prepare('UPDATE analogies SET off = ?, len = ?, version = ?, deleted_at = ? WHERE key = ? AND id = ?');
    this.byKeyStmt = db.prepare('SELECT key, ctx, id, off, len, version, deleted_at FROM analogies WHERE key = ?');
    // By id: a probe of the id index of no tier and of each tier of the context.
    this.byId = new TieredById(db, 'key, ctx, id, off, len, version, deleted_at');
    this.wfKeyStmt = db.prepare('SELECT wf FROM workflow_keys WHERE workflow_id = ?').pluck();
    this.wfInsertStmt = db.prepare('INSERT INTO workflow_keys(workflow_id) VALUES (?)');
    this.domainStmt = db.prepare('SELECT dom FROM domains WHERE name = ?').pluck();
    this.domainInsertStmt = db.prepare('INSERT INTO domains(name) VALUES (?)');
  }

  get(ctx: number, id: string): AnalogyRow | undefined {
    return this.byId.get(ctx, idHash(id), id);
  }

  /** The row with this key (a rowid lookup, cheaper than by id). */
  getRowByKey(key: number): AnalogyRow | undefined {
    return this.byKeyStmt.get(key) as AnalogyRow | undefined;
  }

  workflowKey(workflowId: string): number {
    const cached = this.wfCache.get(workflowId);
    if (cached !== undefined) return cached;
    let key = this.wfKeyStmt.get(workflowId) as number | undefined;
    if (key === undefined) key = Number(this.wfInsertStmt.run(workflowId).lastInsertRowid);
    this.wfCache.set(workflowId, key);
    return key;
  }

  domainKey(name: string): number {
    const cached = this.domainCache.get(name);
    if (cached !== undefined) return cached;
    let key = this.domainStmt.get(name) as number | undefined;
    if (key === undefined) key = Number(this.domainInsertStmt.run(name).lastInsertRowid);
    this.domainCache.set(name, key);
    return key;
  }

  /** Rows insertMany writes into context `ctx` go to `tier` until setLoadTier(null). */
  setLoadTier(ctx: number | null, tier?: number): void {
    this.tierOfLoad = ctx === null || tier === undefined ? null : { ctx, tier };
  }

  /** The tier of a running tiered bulk load into this context, or null. */
  loadTier(ctx: number): number | null {
    return this.tierOfLoad?.ctx === ctx ? this.tierOfLoad.tier : null;
  }

  /** Forget cached keys (a rolled-back transaction may have dropped new ones). */
  resetCache(): void {
    this.wfCache.clear();
    this.domainCache.clear();
  }

  /**
   * The row for the record's new line. `replaces` says the id may already have a row (any
   * version after the first, or a first version whose id the caller did not mint itself).
   */
  apply(ctx: number, key: number, off: number, len: number, op: LogOp, record: Analogy | AnalogyTombstone, options: { replaces?: boolean; rowKey?: number } = {}): void {
    const replaces = options.replaces ?? true;
    if (!('source_domain' in record)) {
      // A tombstone: the row keeps its columns and points at the tombstone's line.
      const deletedAt = Date.parse(record.deleted_at ?? record.updated_at);
      const rowKey = options.rowKey ?? this.get(ctx, record.id)?.key;
      const changed = rowKey === undefined ? 0 : this.tombstoneByKeyStmt.run(off, len, record.version, deletedAt, rowKey, record.id).changes;
      if (changed !== 1) throw new Error(`${op} of analogy ${record.id}, which has no row`);
      return;
    }
    if (replaces) {
      const current = this.get(ctx, record.id);
      if (current) this.deleteByKeyStmt.run(current.key);
    }
    this.insert(ctx, key, off, len, analogyIndexColumns(record), record.deleted_at === null ? null : Date.parse(record.deleted_at));
  }

  /** Inserts the row of a new line from its columns (a fresh id: no earlier row to replace). */
  insert(ctx: number, key: number, off: number, len: number, columns: AnalogyIndexColumns, deletedAt: number | null = null): void {
    const [id, version, source, target, quality, createdAt, workflowId, tags, frames] = columns;
    const row = [key, ctx, idHash(id), id, off, len, version, this.domainKey(source), this.domainKey(target), quality, qualityBucket(quality), createdAt, deletedAt, workflowId ? this.workflowKey(workflowId) : null, tags, frames];
    this.upsertStmt.run(row);
  }

  /** Deletes the rows with these keys (rows superseded by new versions); each must exist. */
  deleteKeys(keys: number[]): void {
    for (const key of keys) if (this.deleteByKeyStmt.run(key).changes !== 1) throw new Error(`the row with key ${key} to replace does not exist`);
  }

  /**
   * Inserts many new rows, INSERT_ROWS per statement: a multi-row INSERT costs far less per
   * row than one statement run per row. `fill(i, out, at)` writes row i's ROW_COLUMNS values
   * (in table order) into out[at...]; see rowValues for what they are.
   */
  insertMany(count: number, fill: (i: number, out: unknown[], at: number) => void, tier: number | null = null): void {
    const stride = ROW_COLUMNS + 1;
    const values = new Array<unknown>(INSERT_ROWS * stride);
    let i = 0;
    for (; i + INSERT_ROWS <= count; i += INSERT_ROWS) {
      for (let r = 0; r < INSERT_ROWS; r++) {
        fill(i + r, values, r * stride);
        values[r * stride + ROW_COLUMNS] = tier;
      }
      this.insertManyStmt.run(values);
    }
    const one = new Array<unknown>(stride);
    for (; i < count; i++) {
      fill(i, one, 0);
      one[ROW_COLUMNS] = tier;
      this.insertOneStmt.run(one);
    }
  }
}
