/**
 * The naive baseline the issues name: one better-sqlite3 transaction inserting every row into a
 * table with the same columns and indexes as ours (the full record kept as JSON), plus one
 * fsync'd JSONL append of every record. Same input file, same process.
 * - Lines without ids get minted ones (issue 2's baseline).
 * - Lines with ids (issue 16): the ids are the table's primary key.
 * - `update`: the rows are inserted first (not timed), then the timed pass upserts the same rows
 *   (`INSERT ... ON CONFLICT(id) DO UPDATE`, version + 1), as a second import of the file.
 */
import Database from 'better-sqlite3';
import { closeSync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import { idHash, mintId } from '../src/core/id-hash.js';

/** The table's columns: the given ids, or else the row key, as primary key. */
function columns(givenIds: boolean): string {
  const [key, id] = givenIds ? ['key INTEGER', 'id TEXT PRIMARY KEY'] : ['key INTEGER PRIMARY KEY', 'id TEXT'];
  return `${key}, ctx INTEGER, idh INTEGER, ${id}, off INTEGER, len INTEGER, version INTEGER, src INTEGER, tgt INTEGER, quality REAL, qb INTEGER, created_at INTEGER, deleted_at INTEGER, wf INTEGER, tags TEXT, frames TEXT`;
}

export function baselineIngest(file: string, dir: string, options: { givenIds?: boolean; update?: boolean } = {}): number {
  const db = new Database(`${dir}/baseline.sqlite`);
  db.exec(`CREATE TABLE analogies(${columns(options.givenIds ?? false)});
    CREATE INDEX a_id ON analogies(ctx, idh);
    CREATE INDEX a_q ON analogies(ctx, qb, quality) WHERE deleted_at IS NULL;
    CREATE INDEX a_s ON analogies(ctx, src, qb, quality) WHERE deleted_at IS NULL;
    CREATE INDEX a_t ON analogies(ctx, tgt, qb, quality) WHERE deleted_at IS NULL;`);
  if (options.update) pass(db, file, dir, false);
  const t0 = performance.now();
  pass(db, file, dir, options.update ?? false);
  const seconds = (performance.now() - t0) / 1000;
  db.close();
  return seconds;
}

function pass(db: Database.Database, file: string, dir: string, upsert: boolean): void {
  const values = '(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)';
  const insert = db.prepare(
    upsert
      ? `INSERT INTO analogies VALUES ${values} ON CONFLICT(id) DO UPDATE SET key = excluded.key, off = excluded.off, len = excluded.len, version = version + 1,
         src = excluded.src, tgt = excluded.tgt, quality = excluded.quality, qb = excluded.qb, tags = excluded.tags, frames = excluded.frames`
      : `INSERT INTO analogies VALUES ${values}`,
  );
  const domains = new Map<string, number>();
  const domain = (name: string) => domains.get(name) ?? (domains.set(name, domains.size + 1), domains.size);
  const lines = readFileSync(file, 'utf8').split('\n');
  const out: string[] = [];
  let off = 0;
  let n = 0;
  db.transaction(() => {
    for (const line of lines) {
      if (!line) continue;
      const r = JSON.parse(line) as { id?: string; source_domain: string; target_domain: string; quality_score: number; tags: string[]; frame_mappings: Record<string, string> };
      const now = new Date().toISOString();
      const id = r.id ?? mintId();
      const rec = JSON.stringify({ ...r, id, created_at: now, updated_at: now, version: 1, deleted_at: null });
      n += 1;
      insert.run(n, 1, idHash(id), id, off, rec.length, 1, domain(r.source_domain), domain(r.target_domain), r.quality_score, Math.floor(r.quality_score * 1000), Date.now(), null, 1, JSON.stringify(r.tags), JSON.stringify(Object.keys(r.frame_mappings)));
      out.push(rec);
      off += rec.length + 1;
    }
  })();
  const fd = openSync(`${dir}/baseline.jsonl`, upsert ? 'a' : 'w');
  writeSync(fd, out.join('\n') + '\n');
  fsyncSync(fd);
  closeSync(fd);
}
