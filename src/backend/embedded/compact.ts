import { closeSync, existsSync, fsyncSync, openSync, renameSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import type { LogOp, RecordKind } from '../../core/records.js';
import { fsyncDir } from './fs-durable.js';
import { killPoint } from './kill-point.js';
import { mergeAnalogyTiers } from './bulk-load.js';
import { readLines } from './log-reader.js';
import { BlockWriter } from './log-segments.js';
import { decodeLine, encodeCommitLine, encodeRecordLine } from './log-format.js';
import { bumpGeneration, CONTEXT_ROWS, contextKeyRange, seqOfKey } from './sqlite-schema.js';
import type { ContextRow, EmbeddedStore } from './embedded-store.js';
import type { CompactionReport } from '../maintenance.js';
export type { CompactionReport } from '../maintenance.js';

interface LiveRow {
  table: 'analogies' | 'entities';
  key: number;
  off: number;
  len: number;
  deleted_at: number | null;
}

const COMMIT_EVERY = 10_000;

/**
 * Rewrites a context's log keeping only the current line of every live record (same seq, no
 * `prev` chain), in compressed blocks (log-segments.ts), then swaps it in:
 *   1. write log.jsonl.compacting and fsync it;
 *   2. one SQLite transaction points every row at its new line, drops deleted rows into
 *      `purged`, moves the watermark and sets `compacting = 1`;
 *   3. rename over log.jsonl, fsync the directory, clear the flag.
 * A crash before 2 leaves the old log and index (the stray file is overwritten next time); after
 * 2, whoever opens the context next sees the flag and completes 3. Never neither log.
 */
export function compactContext(store: EmbeddedStore, name: string): CompactionReport {
  const report = store.transaction(() => rewriteLog(store, name));
  killPoint('compact-after-commit');
  store.transaction(() => {
    const row = store.requireContext(name);
    if (row.compacting) finishInterruptedCompaction(store, row);
  });
  store.audit.record({ event: 'compacted', ...report });
  // The tiers of bulk loads (analogy-tiers.ts) go back into the store's indexes.
  mergeAnalogyTiers(store);
  return report;
}

function rewriteLog(store: EmbeddedStore, name: string): CompactionReport {
  {
    const row = store.catchUp(store.requireContext(name));
    const log = store.log(name);
    const path = store.layout.log(name);
    const bytesBefore = statSync(path).size;
    const live = store.db
      .prepare(
        `SELECT 'analogies' AS "table", key, off, len, deleted_at FROM analogies NOT INDEXED WHERE ${CONTEXT_ROWS}
         UNION ALL SELECT 'entities', key, off, len, deleted_at FROM entities NOT INDEXED WHERE ${CONTEXT_ROWS} ORDER BY key`,
      )
      .all(...contextKeyRange(row.ctx), ...contextKeyRange(row.ctx)) as LiveRow[];
    const linesBefore = countRecordLines(store, row);
    const target = store.layout.compactingLog(name);
    const fd = openSync(target, 'w');
    const moves: Array<{ table: string; key: number; off: number; len: number }> = [];
    const removed: Array<{ table: string; key: number }> = [];
    // The new log is written as compressed blocks; row offsets are virtual (log-segments.ts).
    const out = new BlockWriter(fd);
    let pendingCount = 0;
    let lastSeq = 0;
    try {
      for (const r of live) {
        if (r.deleted_at !== null) {
          removed.push({ table: r.table, key: r.key });
          continue;
        }
        const seq = seqOfKey(r.key);
        const decoded = decodeLine(log.readLine(r.off, r.len, seq));
        if (!decoded || decoded.type !== 'record') throw new Error(`unreadable line at ${r.off} in ${path}`);
        const line = encodeRecordLine(seq, decoded.op as LogOp, decoded.kind as RecordKind, decoded.recordJson, null);
        moves.push({ table: r.table, key: r.key, off: out.add(line), len: Buffer.byteLength(line) });
        if (moves.length === live.length >> 1) killPoint('compact-mid-rewrite');
        pendingCount += 1;
        lastSeq = seq;
        if (pendingCount >= COMMIT_EVERY) {
          out.add(encodeCommitLine(lastSeq, pendingCount, null));
          pendingCount = 0;
        }
      }
      if (pendingCount > 0) out.add(encodeCommitLine(lastSeq, pendingCount, null));
      // The last commit line carries the watermark, so new appends continue the seq.
      if (lastSeq !== row.applied_seq || moves.length === 0) out.add(encodeCommitLine(row.applied_seq, 0, null));
      out.flush();
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    killPoint('compact-before-commit');
    const off = out.virtual;
    const now = new Date().toISOString();
    const updA = store.db.prepare('UPDATE analogies SET off = ?, len = ? WHERE key = ?');
    const updE = store.db.prepare('UPDATE entities SET off = ?, len = ? WHERE key = ?');
    for (const m of moves) (m.table === 'analogies' ? updA : updE).run(m.off, m.len, m.key);
    const purgeA = store.db.prepare(`INSERT OR REPLACE INTO purged(ctx, kind, id, purged_at) SELECT ctx, 'analogy', id, ? FROM analogies WHERE key = ?`);
    const purgeE = store.db.prepare(`INSERT OR REPLACE INTO purged(ctx, kind, id, purged_at) SELECT ctx, kind, id, ? FROM entities WHERE key = ?`);
    const delA = store.db.prepare('DELETE FROM analogies WHERE key = ?');
    const delE = store.db.prepare('DELETE FROM entities WHERE key = ?');
    for (const r of removed) {
      if (r.table === 'analogies') {
        purgeA.run(now, r.key);
        delA.run(r.key);
      } else {
        purgeE.run(now, r.key);
        delE.run(r.key);
      }
    }
    store.db.prepare('UPDATE contexts SET applied_off = ?, compacting = 1 WHERE ctx = ?').run(off, row.ctx);
    // Rows now point into the new log: other processes must drop their handles on the old one.
    bumpGeneration(store.db);
    const report: CompactionReport = {
      context: name,
      records_removed: linesBefore - moves.length,
      active_records: moves.length,
      lines_before: linesBefore,
      bytes_before: bytesBefore,
      bytes_after: out.physical,
    };
    return report;
  }
}

function countRecordLines(store: EmbeddedStore, row: ContextRow): number {
  // Superseded versions are reachable only through the log: count its record lines.
  let n = 0;
  for (const line of readLines(store.layout.log(row.name))) if (line.text.startsWith('{"seq":')) n += 1;
  return n;
}

/** Step 3 of compaction, also run by whoever finds the flag set after a crash. */
export function finishInterruptedCompaction(store: EmbeddedStore, row: ContextRow): ContextRow {
  const target = store.layout.compactingLog(row.name);
  const path = store.layout.log(row.name);
  if (existsSync(target)) {
    renameSync(target, path);
    fsyncDir(dirname(path));
    killPoint('compact-after-rename');
  }
  store.log(row.name).close();
  store.db.prepare('UPDATE contexts SET compacting = 0 WHERE ctx = ?').run(row.ctx);
  store.audit.record({ event: 'compaction_completed', context: row.name });
  return { ...row, compacting: 0 };
}
