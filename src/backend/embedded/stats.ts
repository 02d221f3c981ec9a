import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { EmbeddedStore } from './embedded-store.js';
import { findLeftovers } from './leftovers.js';
import type { StoreStats } from '../maintenance.js';
export type { StoreStats } from '../maintenance.js';

function filesUnder(dir: string, root: string, out: Record<string, number>): void {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) filesUnder(p, root, out);
    else if (entry.isFile()) out[relative(root, p)] = statSync(p).size;
  }
}

/** Counts per context / kind / status and the size of every file of the store. */
export function storeStats(store: EmbeddedStore): StoreStats {
  const files: Record<string, number> = {};
  filesUnder(store.layout.root, store.layout.root, files);
  const contexts = store.listContexts().map((c) => {
    const a = store.db
      .prepare('SELECT SUM(deleted_at IS NULL) AS active, SUM(deleted_at IS NOT NULL) AS deleted FROM analogies WHERE ctx = ?')
      .get(c.ctx) as { active: number | null; deleted: number | null };
    const entities: Record<string, { active: number; deleted: number }> = {};
    for (const e of store.db
      .prepare('SELECT kind, SUM(deleted_at IS NULL) AS active, SUM(deleted_at IS NOT NULL) AS deleted FROM entities WHERE ctx = ? GROUP BY kind')
      .all(c.ctx) as Array<{ kind: string; active: number; deleted: number }>) {
      entities[e.kind] = { active: e.active, deleted: e.deleted };
    }
    return {
      context: c.name,
      parent: c.parent,
      analogies: { active: a.active ?? 0, deleted: a.deleted ?? 0 },
      entities,
      log_bytes: files[relative(store.layout.root, store.layout.log(c.name))] ?? 0,
    };
  });
  const workflows: Record<string, number> = {};
  for (const w of store.db.prepare('SELECT status, COUNT(*) AS n FROM workflows GROUP BY status').all() as Array<{ status: string; n: number }>) workflows[w.status] = w.n;
  return { store: store.layout.root, contexts, workflows, files, total_bytes: Object.values(files).reduce((s, n) => s + n, 0), leftovers: findLeftovers(store) };
}
