import { statSync } from 'node:fs';
import { isSoftlogicError } from '../../core/errors.js';
import { crc32 } from 'node:zlib';
import { checksumOk, decodeLine } from './log-format.js';
import { readLines } from './log-reader.js';
import { CONTEXT_ROWS, contextKeyRange, expectedIndexes, missingQueryIndexes, seqOfKey } from './sqlite-schema.js';
import { listTiers } from './analogy-tiers.js';
import { bulkLoadRunning } from './bulk-load.js';
import type { ContextRow, EmbeddedStore } from './embedded-store.js';
import { findLeftovers } from './leftovers.js';
import { recordJsonOf, seqOf } from './log-format.js';
import type { VerifyIssue, ContextVerification, VerifyReport } from '../maintenance.js';
export type { VerifyIssue, ContextVerification, VerifyReport } from '../maintenance.js';

/** Order-independent digest of a set of records: sum of CRC-32s of `kind\0id\0json`, mod 2^48. */
class SetDigest {
  private sum = 0;
  count = 0;
  add(kind: string, json: string): void {
    this.sum = (this.sum + crc32(`${kind}\0${json}`)) % 2 ** 48;
    this.count += 1;
  }
  get hex(): string {
    return this.sum.toString(16).padStart(12, '0');
  }
}

/**
 * Checks everything a store promises: SQLite's own integrity, every log line's checksum and
 * order, watermarks against the logs, and that the index holds exactly the log's active records
 * (count and content digest, computed independently from each side).
 */
export function verifyStore(store: EmbeddedStore): VerifyReport {
  const issues: VerifyIssue[] = [];
  // Read in one snapshot, against the logs that snapshot's offsets belong to.
  const own = !store.db.inTransaction;
  if (own) store.db.exec('BEGIN');
  try {
    store.checkGeneration();
    for (const row of store.listContexts()) store.log(row.name).refresh();
    return verifyInSnapshot(store, issues);
  } finally {
    if (own) store.db.exec('COMMIT');
  }
}

function verifyInSnapshot(store: EmbeddedStore, issues: VerifyIssue[]): VerifyReport {
  const integrity = store.db.pragma('integrity_check') as Array<{ integrity_check: string }>;
  for (const r of integrity) if (r.integrity_check !== 'ok') issues.push({ check: 'sqlite_integrity', message: r.integrity_check });
  if (!bulkLoadRunning(store)) {
    const tiers = listTiers(store.db).map((t) => t.tier);
    for (const { name } of missingQueryIndexes(store.db, expectedIndexes(tiers))) issues.push({ check: 'sqlite_schema', message: `query index ${name} is missing (reopen the store or run rebuild to recreate it)` });
  }
  // Queries read the listed tiers only (analogy-tiers.ts): a row of another is invisible to them.
  const listed = new Set(listTiers(store.db).map((t) => `${t.ctx}:${t.tier}`));
  for (const { ctx, tier } of store.db.prepare('SELECT DISTINCT ctx, tier FROM analogies NOT INDEXED WHERE tier IS NOT NULL').all() as Array<{ ctx: number; tier: number }>) {
    if (!listed.has(`${ctx}:${tier}`)) issues.push({ check: 'sqlite_schema', message: `analogies of context key ${ctx} are in tier ${tier}, which is not listed: queries miss them (run rebuild)` });
  }
  const contexts = store.listContexts().map((row) => verifyContext(store, row, issues));
  return { valid: issues.length === 0, issues, contexts, leftovers: findLeftovers(store) };
}

interface Latest {
  seq: number;
  kind: string;
  deleted: boolean;
  json: string;
}

function verifyContext(store: EmbeddedStore, row: ContextRow, issues: VerifyIssue[]): ContextVerification {
  const context = row.name;
  const path = store.layout.log(context);
  const latest = new Map<string, Latest>();
  let lines = 0;
  let lastSeq = 0;
  let committedSeq = 0;
  let committedOff = 0;
  let pendingSince: number | null = null;
  // Past a damaged line, a batch's missing commit and the watermark follow from that damage.
  let damaged = false;
  let torn: number | null = null;
  const corrupt = (err: unknown): void => {
    if (!isSoftlogicError(err) || err.code !== 'CORRUPT_LOG') throw err;
    issues.push({ context, check: 'log_checksum', message: err.message, offset: typeof err.details.offset === 'number' ? err.details.offset : undefined });
  };
  try {
    scanLog();
  } catch (err) {
    corrupt(err);
  }
  function scanLog(): void {
    for (const raw of readLines(path, 0, (t) => (torn = t.offset))) {
      lines += 1;
      if (!checksumOk(raw.text)) {
        issues.push({ context, check: 'log_checksum', message: `line ${lines} (byte ${raw.offset}) fails its checksum`, offset: raw.offset });
        damaged = true;
        continue;
      }
      const line = decodeLine(raw.text);
      if (!line) {
        issues.push({ context, check: 'log_structure', message: `line ${lines} (byte ${raw.offset}) is not a log line`, offset: raw.offset });
        continue;
      }
      if (line.type === 'commit') {
        committedSeq = line.last;
        committedOff = raw.offset + raw.length;
        pendingSince = null;
        continue;
      }
      if (line.seq <= lastSeq) issues.push({ context, check: 'log_structure', message: `line ${lines}: seq ${line.seq} does not follow ${lastSeq}`, offset: raw.offset });
      lastSeq = line.seq;
      pendingSince ??= raw.offset;
      const record = JSON.parse(line.recordJson) as { id: string; deleted_at: string | null };
      latest.set(`${line.kind}\0${record.id}`, { seq: line.seq, kind: line.kind, deleted: record.deleted_at !== null, json: line.recordJson });
    }
  }
  if (torn !== null) issues.push({ context, check: 'torn_tail', message: `incomplete last line at byte ${torn}`, offset: torn });
  if (pendingSince !== null && !damaged) issues.push({ context, check: 'torn_tail', message: `records from byte ${pendingSince} lack a commit line`, offset: pendingSince });
  const size = statSync(path).size;
  if (!damaged && (row.applied_off !== committedOff || row.applied_seq !== committedSeq)) {
    issues.push({
      context,
      check: 'watermark',
      message: `index watermark (seq ${row.applied_seq}, byte ${row.applied_off}) differs from the log's last commit (seq ${committedSeq}, byte ${committedOff}; file ${size} B)`,
    });
  }
  const fromLog = new SetDigest();
  for (const l of latest.values()) if (!l.deleted) fromLog.add(l.kind, l.json);
  const fromIndex = new SetDigest();
  const log = store.log(context);
  const rows = store.db
    .prepare(
      // In log order, so a compacted log's blocks are each inflated once.
      `SELECT 'analogy' AS kind, key, off, len FROM analogies NOT INDEXED WHERE ${CONTEXT_ROWS} AND deleted_at IS NULL
       UNION ALL SELECT kind, key, off, len FROM entities NOT INDEXED WHERE ${CONTEXT_ROWS} AND deleted_at IS NULL ORDER BY key`,
    )
    .iterate(...contextKeyRange(row.ctx), ...contextKeyRange(row.ctx)) as IterableIterator<{ kind: string; key: number; off: number; len: number }>;
  for (const r of rows) {
    let text: string;
    try {
      text = log.readAt(r.off, r.len);
    } catch (err) {
      corrupt(err);
      break;
    }
    if (seqOf(text) !== seqOfKey(r.key) || !checksumOk(text)) {
      issues.push({ context, check: 'row_pointer', message: `index row ${r.kind} seq ${seqOfKey(r.key)} points at byte ${r.off}, which is not its line` });
      continue;
    }
    fromIndex.add(r.kind, recordJsonOf(text));
  }
  if (fromLog.count !== fromIndex.count) {
    issues.push({ context, check: 'count_mismatch', message: `log has ${fromLog.count} active records, index has ${fromIndex.count}` });
  } else if (fromLog.hex !== fromIndex.hex) {
    issues.push({ context, check: 'content_mismatch', message: `content digest of active records differs (log ${fromLog.hex}, index ${fromIndex.hex})` });
  }
  return {
    context,
    log_lines: lines,
    active_in_log: fromLog.count,
    active_in_index: fromIndex.count,
    content_hash_log: fromLog.hex,
    content_hash_index: fromIndex.hex,
  };
}
