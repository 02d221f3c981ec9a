import Database from 'better-sqlite3';

/**
 * Every row of the named tables of a foreign SQLite file (an input, such as the original
 * system's concepts.sqlite), read-only; a missing table has no rows. Input reading, not storage:
 * no backend is involved.
 */
export function readSqliteTables(path: string, tables: readonly string[]): Record<string, Array<Record<string, unknown>>> {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const exists = db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`);
    return Object.fromEntries(tables.map((t) => [t, exists.get(t) ? (db.prepare(`SELECT * FROM "${t.replace(/"/g, '""')}"`).all() as Array<Record<string, unknown>>) : []]));
  } finally {
    db.close();
  }
}
