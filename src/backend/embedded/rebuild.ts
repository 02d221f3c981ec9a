import Database from 'better-sqlite3';
import { existsSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { isSoftlogicError, SoftlogicError } from '../../core/errors.js';
import { AnalogyIndex } from './analogy-index.js';
import { EntityIndex, type EntityRecord } from './entity-index.js';
import { contextsWithLogs, EmbeddedStore, type ContextRow } from './embedded-store.js';
import { fsyncDir } from './fs-durable.js';
import type { StoreLayout } from './layout.js';
import { ContextLog } from './context-log.js';
import { replayContext, type DamagedTail } from './replay.js';
import { salvageLogs } from './salvage.js';
import { setAside } from './set-aside.js';
import { forgetTiers } from './analogy-tiers.js';
import { ANALOGY_QUERY_INDEXES, bumpGeneration, configureConnection, createQueryIndexes, createSchema, dropQueryIndexes, upgradeIdIndex } from './sqlite-schema.js';
import type { Analogy } from '../../core/records.js';
import type { RebuildOptions, CutTail, LostWorkflow, RebuildReport } from '../maintenance.js';
export type { RebuildOptions, CutTail, LostWorkflow, RebuildReport } from '../maintenance.js';

/** Where a new index is built (per process: two processes may find the index missing at once). */
function rebuildTarget(layout: StoreLayout): string {
  return `${layout.sqlite}.rebuild-${process.pid}`;
}

/** Tables that are not derived from the logs and are carried over from the old index. */
const CARRIED = ['workflows', 'workflow_keys', 'purged'] as const;

interface Built {
  report: RebuildReport;
  damaged: Array<{ context: string; tail: DamagedTail }>;
}

/** Registers every context directory that has a log (numbering and metadata kept where known). */
function registerContexts(db: Database.Database, layout: StoreLayout, oldContexts: Map<string, ContextRow>): void {
  const names = contextsWithLogs(layout);
  const keep = new Set(names);
  for (const old of oldContexts.values()) if (!keep.has(old.name)) db.prepare('DELETE FROM contexts WHERE ctx = ?').run(old.ctx);
  const insertCtx = db.prepare(
    `INSERT INTO contexts(ctx, name, parent, description, created_at) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT(ctx) DO UPDATE SET parent = excluded.parent, description = excluded.description, applied_seq = 0, applied_off = 0, compacting = 0`,
  );
  let nextCtx = Math.max(0, ...[...oldContexts.values()].map((c) => c.ctx)) + 1;
  for (const name of names) {
    const old = oldContexts.get(name);
    const meta = existsSync(layout.contextMetadata(name))
      ? (JSON.parse(readFileSync(layout.contextMetadata(name), 'utf8')) as { parent?: string | null; description?: string | null; created_at?: string })
      : {};
    insertCtx.run(old?.ctx ?? nextCtx++, name, meta.parent ?? old?.parent ?? null, meta.description ?? old?.description ?? null, meta.created_at ?? old?.created_at ?? new Date().toISOString());
  }
}

/**
 * Replays every context's log from byte 0 into `db`, whose analogy and entity tables are empty
 * and whose contexts are registered. A damaged line stops it (CORRUPT_LOG) unless `cut` is asked.
 */
function replayAll(db: Database.Database, layout: StoreLayout, cut: boolean): Built {
  const analogies = new AnalogyIndex(db);
  const entities = new EntityIndex(db);
  const setProgress = db.prepare('UPDATE workflows SET items_processed = MAX(items_processed, ?) WHERE workflow_id = ?');
  const seenWorkflows = new Map<string, LostWorkflow>();
  const built: Built = { report: { contexts: [], cut: [], salvaged: [], workflows_lost: [], seconds: 0 }, damaged: [] };
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
        (p) => {
          setProgress.run(p.processedUpTo, p.workflowId);
          const seen = seenWorkflows.get(p.workflowId);
          seenWorkflows.set(p.workflowId, { workflow_id: p.workflowId, context: row.name, items_processed: Math.max(seen?.items_processed ?? 0, p.processedUpTo) });
        },
        cut ? 'cut' : 'refuse',
      );
      db.prepare('UPDATE contexts SET applied_seq = ?, applied_off = ? WHERE ctx = ?').run(r.appliedSeq, r.appliedOff, row.ctx);
      return r;
    })();
    if (result.damaged) built.damaged.push({ context: row.name, tail: result.damaged });
    built.report.contexts.push({ context: row.name, records: result.records, batches: result.batches, torn_bytes: result.tornBytes, active_before: null, active_after: 0 });
  }
  const known = db.prepare('SELECT 1 FROM workflows WHERE workflow_id = ?').pluck();
  built.report.workflows_lost = [...seenWorkflows.values()].filter((w) => known.get(w.workflow_id) === undefined);
  return built;
}

/**
 * Builds a new index file from the logs, for a store whose knowledge.sqlite is missing or does
 * not open; the old one (if it opens) gives what the logs do not hold: workflows, the purge list.
 */
function buildIndexFile(layout: StoreLayout, oldContexts: Map<string, ContextRow>, cut: boolean): Built {
  const target = rebuildTarget(layout);
  rmSync(target, { force: true });
  const db = new Database(target);
  try {
    configureConnection(db);
    createSchema(db);
    db.pragma('journal_mode = DELETE');
    if (existsSync(layout.sqlite)) {
      db.prepare('ATTACH DATABASE ? AS old').run(layout.sqlite);
      for (const table of CARRIED) db.exec(`INSERT INTO main.${table} SELECT * FROM old.${table}`);
      db.exec('DETACH DATABASE old');
    }
    registerContexts(db, layout, oldContexts);
    const built = replayAll(db, layout, cut);
    // Built once from the loaded rows, which is faster than maintaining them during the replay.
    createQueryIndexes(db);
    bumpGeneration(db);
    db.close();
    return built;
  } catch (err) {
    if (db.open) db.close();
    rmSync(target, { force: true });
    throw err;
  }
}

/**
 * Rebuilds the index inside the open database, in one write transaction: other processes keep
 * their connections and see the new rows and a new generation when it commits (a new file
 * renamed into place would leave them reading the old one). A damaged line rolls it all back.
 */
function rebuildInPlace(store: EmbeddedStore, cut: boolean): Built {
  const db = store.db;
  const oldContexts = new Map(store.listContexts().map((c) => [c.name, c]));
  return store.transaction(() => {
    dropQueryIndexes(db);
    // Every row is written again, in no tier.
    forgetTiers(db);
    db.exec('DELETE FROM analogies; DELETE FROM entities;');
    registerContexts(db, store.layout, oldContexts);
    const built = replayAll(db, store.layout, cut);
    for (const index of ANALOGY_QUERY_INDEXES) db.exec(`CREATE INDEX IF NOT EXISTS ${index.name} ${index.sql}`);
    upgradeIdIndex(db);
    bumpGeneration(db);
    return built;
  });
}

/** Moves the new index into place (the old one's WAL goes with it). */
function swapIndex(layout: StoreLayout): void {
  for (const suffix of ['-wal', '-shm']) rmSync(`${layout.sqlite}${suffix}`, { force: true });
  renameSync(rebuildTarget(layout), layout.sqlite);
  fsyncDir(layout.root);
}

/** Cuts each damaged tail off its log, after copying its bytes aside. */
function cutTails(layout: StoreLayout, damaged: Built['damaged']): CutTail[] {
  return damaged.map(({ context, tail }) => {
    const log = new ContextLog(layout.log(context));
    try {
      const map = log.segments();
      if (tail.offset < map.vTail) {
        throw new SoftlogicError('CORRUPT_LOG', `the damage in context '${context}' lies in its compacted part; use 'softlogic rebuild --salvage'`, { context, offset: tail.offset });
      }
      const physical = map.toPhysical(tail.offset);
      const aside = setAside(layout, context, log.path, [{ offset: physical, length: tail.bytes, reason: tail.damage.reason }]);
      log.truncate(tail.offset);
      return { context, ...tail, aside };
    } finally {
      log.close();
    }
  });
}

/** Active records (analogies and entities) per context name. */
function activeCounts(db: Database.Database): Map<string, number> {
  const rows = db
    .prepare(
      `SELECT c.name AS name, (SELECT COUNT(*) FROM analogies a WHERE a.ctx = c.ctx AND a.deleted_at IS NULL)
         + (SELECT COUNT(*) FROM entities e WHERE e.ctx = c.ctx AND e.deleted_at IS NULL) AS n FROM contexts c`,
    )
    .all() as Array<{ name: string; n: number }>;
  return new Map(rows.map((r) => [r.name, r.n]));
}

/** Rebuilds the index of a store whose knowledge.sqlite is gone (called before it is opened). */
export function rebuildMissingIndex(layout: StoreLayout): RebuildReport {
  const started = performance.now();
  let built: Built;
  try {
    built = buildIndexFile(layout, new Map(), false);
  } catch (err) {
    if (!isSoftlogicError(err) || err.code !== 'CORRUPT_LOG') throw err;
    throw new SoftlogicError('CORRUPT_LOG', `knowledge.sqlite is missing and cannot be rebuilt as it is: ${err.message}`, err.details);
  }
  const { report } = built;
  swapIndex(layout);
  const db = new Database(layout.sqlite, { readonly: true });
  try {
    const after = activeCounts(db);
    for (const c of report.contexts) c.active_after = after.get(c.context) ?? 0;
  } finally {
    db.close();
  }
  report.seconds = Math.round(performance.now() - started) / 1000;
  return report;
}

/**
 * Recreates knowledge.sqlite from the logs: a new database is built beside the old one and
 * replaces it by rename. Refuses (CORRUPT_LOG, nothing changed) when a log holds a damaged line,
 * unless the user asked to cut damaged tails or to salvage. Run it with no other process using
 * the store.
 */
export function rebuildStore(store: EmbeddedStore, options: RebuildOptions = {}): { store: EmbeddedStore; report: RebuildReport } {
  const started = performance.now();
  const layout = store.layout;
  const salvaged = options.salvage ? salvageLogs(store) : [];
  const cut = options.truncateDamagedTail === true;
  const before = activeCounts(store.db);
  let built: Built;
  let current = store;
  if (indexUsable(store)) {
    built = rebuildInPlace(store, cut);
    store.closeLogs();
  } else {
    built = buildIndexFile(layout, new Map(store.listContexts().map((c) => [c.name, c])), cut);
    store.close();
    swapIndex(layout);
    current = EmbeddedStore.open(layout.root, { repair: true });
  }
  const { report, damaged } = built;
  report.cut = cutTails(layout, damaged);
  report.salvaged = salvaged;
  report.seconds = Math.round(performance.now() - started) / 1000;
  const after = activeCounts(current.db);
  for (const c of report.contexts) {
    c.active_before = before.get(c.context) ?? null;
    c.active_after = after.get(c.context) ?? 0;
  }
  current.audit.record({ event: 'rebuilt', contexts: report.contexts, workflows_lost: report.workflows_lost });
  for (const c of report.cut) current.audit.record({ event: 'damaged_tail_cut', ...c });
  return { store: current, report };
}

/** Whether the open index passes SQLite's own quick check (else a new file is built). */
function indexUsable(store: EmbeddedStore): boolean {
  try {
    const rows = store.db.pragma('quick_check') as Array<{ quick_check: string }>;
    return rows.length === 1 && rows[0].quick_check === 'ok';
  } catch {
    return false;
  }
}
