/**
 * The naive baseline the issue names: one better-sqlite3 transaction inserting every row into a
 * table with the same columns and indexes as ours (the full record kept as JSON), plus one
 * fsync'd JSONL append of every record. Same input file, same process.
 */
import Database from 'better-sqlite3';
import { closeSync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import { idHash, mintId } from '../src/core/id-hash.js';

export function baselineIngest(file: string, dir: string): number {
  const t0 = performance.now();
  const db = new Database(`${dir}/baseline.sqlite`);
  db.exec(`CREATE TABLE analogies(key INTEGER PRIMARY KEY, ctx INTEGER, idh INTEGER, id TEXT, off INTEGER, len INTEGER, version INTEGER,
    src INTEGER, tgt INTEGER, quality REAL, qb INTEGER, created_at INTEGER, deleted_at INTEGER, wf INTEGER, tags TEXT, frames TEXT);
    CREATE INDEX a_id ON analogies(ctx, idh);
    CREATE INDEX a_q ON analogies(ctx, qb, quality) WHERE deleted_at IS NULL;
    CREATE INDEX a_s ON analogies(ctx, src, qb, quality) WHERE deleted_at IS NULL;
    CREATE INDEX a_t ON analogies(ctx, tgt, qb, quality) WHERE deleted_at IS NULL;`);
  const insert = db.prepare('INSERT INTO analogies VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)');
  const domains = new Map<string, number>();
  const domain = (name: string) => domains.get(name) ?? (domains.set(name, domains.size + 1), domains.size);
  const lines = readFileSync(file, 'utf8').split('\n');
  const out: string[] = [];
  let off = 0;
  let n = 0;
  db.transaction(() => {
    for (const line of lines) {
      if (!line) continue;
      const r = JSON.parse(line) as { source_domain: string; target_domain: string; quality_score: number; tags: string[]; frame_mappings: Record<string, string> };
      const now = new Date().toISOString();
      const id = mintId();
      const rec = JSON.stringify({ id, ...r, created_at: now, updated_at: now, version: 1, deleted_at: null });
      n += 1;
      insert.run(n, 1, idHash(id), id, off, rec.length, 1, domain(r.source_domain), domain(r.target_domain), r.quality_score, Math.floor(r.quality_score * 1000), Date.now(), null, 1, JSON.stringify(r.tags), JSON.stringify(Object.keys(r.frame_mappings)));
      out.push(rec);
      off += rec.length + 1;
    }
  })();
  const fd = openSync(`${dir}/baseline.jsonl`, 'w');
  writeSync(fd, out.join('\n') + '\n');
  fsyncSync(fd);
  closeSync(fd);
  db.close();
  return (performance.now() - t0) / 1000;
}
