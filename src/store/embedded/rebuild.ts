import Database from 'better-sqlite3';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { AnalogyIndex } from './analogy-index.js';
import { EntityIndex, type EntityRecord } from './entity-index.js';
import { EmbeddedStore, type ContextRow } from './embedded-store.js';
import { fsyncDir } from './fs-durable.js';
import { replayContext } from './replay.js';
import { configureConnection, createQueryIndexes, createSchema } from './sqlite-schema.js';
import type { Analogy } from '../../core/records.js';

export interface RebuildReport {
  contexts: Array<{ context: string; records: number; batches: number; torn_bytes: number }>;
  seconds: number;
}

/** Tables that are not derived from the logs and are carried over from the old index. */
const CARRIED = ['workflows', 'workflow_keys', 'purged'] as const;

/**
 * Recreates knowledge.sqlite from the logs: a new database is built beside the old one, every
 * context's log is replayed into it from byte 0, and it replaces the old file by rename. The old
 * one is read (if it still opens) only for what the logs do not hold: context numbering,
 * workflows and the purge list. Run it with no other process using the store.
 */
export function rebuildStore(store: EmbeddedStore): { store: EmbeddedStore; report: RebuildReport } {
  const started = performance.now();
  const layout = store.layout;
  const target = `${layout.sqlite}.rebuild`;
  rmSync(target, { force: true });
  const db = new Database(target);
  configureConnection(db);
  createSchema(db);
  db.pragma('journal_mode = DELETE');
  const oldContexts = new Map(store.listContexts().map((c) => [c.name, c]));
  db.prepare('ATTACH DATABASE ? AS old').run(layout.sqlite);
  for (const table of CARRIED) db.exec(`INSERT INTO main.${table} SELECT * FROM old.${table}`);
  db.exec('DETACH DATABASE old');
  store.close();

  const names = existsSync(layout.contextsDir) ? readdirSync(layout.contextsDir).filter((n) => existsSync(layout.log(n))) : [];
  const insertCtx = db.prepare('INSERT INTO contexts(ctx, name, parent, description, created_at) VALUES (?, ?, ?, ?, ?)');
  let nextCtx = Math.max(0, ...[...oldContexts.values()].map((c) => c.ctx)) + 1;
  for (const name of names.sort()) {
    const old = oldContexts.get(name);
    const meta = existsSync(layout.contextMetadata(name))
      ? (JSON.parse(readFileSync(layout.contextMetadata(name), 'utf8')) as { parent?: string | null; description?: string | null; created_at?: string })
      : {};
    insertCtx.run(old?.ctx ?? nextCtx++, name, meta.parent ?? old?.parent ?? null, meta.description ?? old?.description ?? null, meta.created_at ?? old?.created_at ?? new Date().toISOString());
  }
  const analogies = new AnalogyIndex(db);
  const entities = new EntityIndex(db);
  const setProgress = db.prepare('UPDATE workflows SET items_processed = MAX(items_processed, ?) WHERE workflow_id = ?');
  const report: RebuildReport = { contexts: [], seconds: 0 };
  for (const row of db.prepare('SELECT * FROM contexts ORDER BY name').all() as ContextRow[]) {
    const result = db.transaction(() => {
      const r = replayContext(
        layout.log(row.name),
        { ...row, applied_seq: 0, applied_off: 0 },
        0,
        (kind, op, record, key, off, len) => {
          if (kind === 'analogy') analogies.apply(row.ctx, key, off, len, op, record as Analogy);
          else entities.apply(row.ctx, key, off, len, kind, op, record as EntityRecord);
        },
        (p) => setProgress.run(p.processedUpTo, p.workflowId),
      );
      db.prepare('UPDATE contexts SET applied_seq = ?, applied_off = ? WHERE ctx = ?').run(r.appliedSeq, r.appliedOff, row.ctx);
      return r;
    })();
    report.contexts.push({ context: row.name, records: result.records, batches: result.batches, torn_bytes: result.tornBytes });
  }
  // Built once from the loaded rows, which is faster than maintaining them during the replay.
  createQueryIndexes(db);
  db.close();
  for (const suffix of ['-wal', '-shm']) rmSync(`${layout.sqlite}${suffix}`, { force: true });
  renameSync(target, layout.sqlite);
  fsyncDir(layout.root);
  report.seconds = Math.round(performance.now() - started) / 1000;
  const reopened = EmbeddedStore.open(layout.root);
  reopened.audit.record({ event: 'rebuilt', contexts: report.contexts });
  return { store: reopened, report };
}
