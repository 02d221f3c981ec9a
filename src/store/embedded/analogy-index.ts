import type Database from 'better-sqlite3';
import type { Analogy, LogOp } from '../../core/records.js';

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

export class AnalogyIndex {
  private readonly upsertStmt: Database.Statement;
  private readonly byIdStmt: Database.Statement;
  private readonly wfKeyStmt: Database.Statement;
  private readonly wfInsertStmt: Database.Statement;
  private readonly wfCache = new Map<string, number>();

  constructor(private readonly db: Database.Database) {
    this.upsertStmt = db.prepare(
      `INSERT OR REPLACE INTO analogies(key, ctx, id, off, len, version, source_domain, target_domain, quality, created_at, deleted_at, wf, tags, frames)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.byIdStmt = db.prepare('SELECT key, ctx, id, off, len, version, deleted_at FROM analogies WHERE ctx = ? AND id = ?');
    this.wfKeyStmt = db.prepare('SELECT wf FROM workflow_keys WHERE workflow_id = ?').pluck();
    this.wfInsertStmt = db.prepare('INSERT INTO workflow_keys(workflow_id) VALUES (?)');
  }

  get(ctx: number, id: string): AnalogyRow | undefined {
    return this.byIdStmt.get(ctx, id) as AnalogyRow | undefined;
  }

  workflowKey(workflowId: string): number {
    const cached = this.wfCache.get(workflowId);
    if (cached !== undefined) return cached;
    let key = this.wfKeyStmt.get(workflowId) as number | undefined;
    if (key === undefined) key = Number(this.wfInsertStmt.run(workflowId).lastInsertRowid);
    this.wfCache.set(workflowId, key);
    return key;
  }

  /** Forget cached workflow keys (after a rolled-back transaction may have dropped new ones). */
  resetCache(): void {
    this.wfCache.clear();
  }

  apply(ctx: number, key: number, off: number, len: number, _op: LogOp, record: Analogy): void {
    const frames = Object.keys(record.frame_mappings);
    this.upsertStmt.run(
      key,
      ctx,
      record.id,
      off,
      len,
      record.version,
      record.source_domain,
      record.target_domain,
      record.quality_score,
      Date.parse(record.created_at),
      record.deleted_at === null ? null : Date.parse(record.deleted_at),
      record.workflow_id ? this.workflowKey(record.workflow_id) : null,
      record.tags.length > 0 ? JSON.stringify(record.tags) : null,
      frames.length > 0 ? JSON.stringify(frames) : null,
    );
  }
}
