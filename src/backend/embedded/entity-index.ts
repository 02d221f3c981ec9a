import type Database from 'better-sqlite3';
import type { EntityRecord, LogOp, RecordKind } from '../../core/records.js';

export type { EntityRecord };

/**
 * The entities table: every record kind other than analogies (concepts, frames, instances,
 * clusters, fields) indexed by (context, kind, id) with a name and a search text.
 */
export interface EntityRow {
  key: number;
  ctx: number;
  kind: RecordKind;
  id: string;
  off: number;
  len: number;
  version: number;
  deleted_at: number | null;
}

/** Text a `search` matches: the record's name, description, gloss and disambiguation. */
function searchText(record: EntityRecord): string | null {
  const parts = [record.name, record.description, record.disambiguation, record.definition, record.gloss].filter(
    (v): v is string => typeof v === 'string' && v.length > 0,
  );
  return parts.length > 0 ? parts.join('\n').toLowerCase() : null;
}

export class EntityIndex {
  private readonly upsertStmt: Database.Statement;
  private readonly byIdStmt: Database.Statement;

  constructor(db: Database.Database) {
    this.upsertStmt = db.prepare(
      `INSERT OR REPLACE INTO entities(key, ctx, kind, id, off, len, version, deleted_at, name, search)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.byIdStmt = db.prepare('SELECT key, ctx, kind, id, off, len, version, deleted_at FROM entities WHERE ctx = ? AND kind = ? AND id = ?');
  }

  get(ctx: number, kind: RecordKind, id: string): EntityRow | undefined {
    return this.byIdStmt.get(ctx, kind, id) as EntityRow | undefined;
  }

  apply(ctx: number, key: number, off: number, len: number, kind: RecordKind, _op: LogOp, record: EntityRecord): void {
    this.upsertStmt.run(
      key,
      ctx,
      kind,
      record.id,
      off,
      len,
      record.version,
      record.deleted_at === null ? null : Date.parse(record.deleted_at),
      typeof record.name === 'string' ? record.name : null,
      searchText(record),
    );
  }
}
