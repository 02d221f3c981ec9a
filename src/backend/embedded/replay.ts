import { SoftlogicError } from '../../core/errors.js';
import type { Analogy, LogOp, RecordKind } from '../../core/records.js';
import type { EntityRecord } from './entity-index.js';
import { readLines } from './log-reader.js';
import { checksumOk, decodeLine, seqOf, type LogLine, type RecordLine } from './log-format.js';
import { rowKey } from './sqlite-schema.js';
import type { BatchProgress, ContextRow } from './embedded-store.js';
import type { DamagedTail, LineDamage } from '../maintenance.js';
export type { DamagedTail, LineDamage } from '../maintenance.js';

export type ApplyFn = (kind: RecordKind, op: LogOp, record: Analogy | EntityRecord, key: number, off: number, len: number) => void;

/**
 * What `replayContext` does on a damaged line: refuse (CORRUPT_LOG, nothing applied past the
 * last good batch), or stop there and report the rest as a damaged tail for the caller to cut
 * (`rebuild --truncate-damaged-tail`: only when the user asked).
 */
export type OnDamage = 'refuse' | 'cut';

export interface ReplayResult {
  appliedSeq: number;
  appliedOff: number;
  batches: number;
  records: number;
  /** bytes after the last complete batch that a crash mid-append left (to be truncated) */
  tornBytes: number;
  tornLines: number;
  tornReason: string | null;
  /** with onDamage 'cut': the damaged tail (not truncated here) */
  damaged: DamagedTail | null;
}

interface Pending {
  line: RecordLine;
  record: Analogy | EntityRecord;
  off: number;
  len: number;
}

/** The error a damaged line raises: context, seq and byte offset named. */
export function corruptLogError(context: string, d: LineDamage): SoftlogicError {
  const seq = d.seq !== null ? `seq ${d.seq}` : `the line after seq ${d.after_seq}`;
  return new SoftlogicError(
    'CORRUPT_LOG',
    `log of context '${context}' is damaged at byte ${d.offset} (${seq}): ${d.reason}; nothing was changed. ` +
      `Run 'softlogic verify' for details, 'softlogic rebuild --salvage' to keep every line whose checksum passes`,
    { context, offset: d.offset, seq: d.seq, after_seq: d.after_seq, reason: d.reason },
  );
}

/** Decodes a line, or says why it is not a good one (checksum, structure, record JSON). */
export function parseLogLine(text: string): { line: LogLine; record: Analogy | EntityRecord | null } | string {
  if (!checksumOk(text)) return 'checksum mismatch';
  let line: LogLine | null;
  try {
    line = decodeLine(text);
  } catch {
    line = null;
  }
  if (!line) return 'not a log line';
  if (line.type === 'commit') return { line, record: null };
  let record: unknown;
  try {
    record = JSON.parse(line.recordJson);
  } catch {
    return 'record is not JSON';
  }
  if (typeof record !== 'object' || record === null || typeof (record as { id?: unknown }).id !== 'string') return 'record has no id';
  const problem = recordProblem(line.kind, record as Record<string, unknown>);
  if (problem) return problem;
  return { line, record: record as Analogy | EntityRecord };
}

/** Whether a record (whose line's checksum passed) has the fields the index is built from. */
function recordProblem(kind: string, r: Record<string, unknown>): string | null {
  if (typeof r.version !== 'number') return 'record has no version';
  if (r.deleted_at !== undefined && r.deleted_at !== null && typeof r.deleted_at !== 'string') return 'record has a bad deleted_at';
  if (kind !== 'analogy') return null;
  if (!('source_domain' in r)) return typeof (r.deleted_at ?? r.updated_at) === 'string' ? null : 'tombstone has no time';
  const fields =
    typeof r.source_domain === 'string' &&
    typeof r.target_domain === 'string' &&
    typeof r.quality_score === 'number' &&
    typeof r.created_at === 'string' &&
    Array.isArray(r.tags) &&
    typeof r.frame_mappings === 'object' &&
    r.frame_mappings !== null &&
    (r.workflow_id === undefined || r.workflow_id === null || typeof r.workflow_id === 'string');
  return fields ? null : 'analogy record lacks indexed fields';
}

/**
 * Applies a context's log from `from` (a batch boundary) to its end, one complete batch at a
 * time. A batch is complete when its commit line is there and agrees with it.
 * A torn tail is only what a crash mid-append leaves: an incomplete last line (no newline), or
 * record lines whose checksums pass with no commit line after them at the very end. Anything
 * else (a line whose checksum fails, followed by anything; a damaged or disagreeing commit line)
 * is corruption: refused, never cut unless the caller asks for it (onDamage 'cut').
 */
export function replayContext(
  path: string,
  row: ContextRow,
  from: number,
  apply: ApplyFn,
  onProgress: (p: BatchProgress) => void,
  onDamage: OnDamage = 'refuse',
): ReplayResult {
  let appliedSeq = from === 0 ? 0 : row.applied_seq;
  let appliedOff = from;
  let batches = 0;
  let records = 0;
  let pending: Pending[] = [];
  let damaged: DamagedTail | null = null;
  let tornTail = 0;
  let end = from;

  for (const raw of readLines(path, from, (tail) => {
    tornTail = tail.length;
  })) {
    end = raw.offset + raw.length;
    if (damaged) {
      damaged.lines += 1;
      const seq = checksumOk(raw.text) ? seqOf(raw.text) : -1;
      if (seq > 0) {
        damaged.records_lost += 1;
        damaged.first_seq ??= seq;
        damaged.last_seq = seq;
      } else if (!raw.text.startsWith('{"op":"commit"') || !checksumOk(raw.text)) damaged.damaged_lines += 1;
      continue;
    }
    const parsed = parseLogLine(raw.text);
    let reason: string | null = typeof parsed === 'string' ? parsed : null;
    if (typeof parsed !== 'string') {
      const { line, record } = parsed;
      const lastSeq = pending.length > 0 ? pending[pending.length - 1].line.seq : appliedSeq;
      if (line.type === 'record') {
        // Seqs rise strictly; compaction leaves gaps where superseded versions were.
        if (line.seq > lastSeq) {
          pending.push({ line, record: record as Analogy | EntityRecord, off: raw.offset, len: raw.length });
          continue;
        }
        reason = `seq ${line.seq} does not follow ${lastSeq}`;
      } else if (line.n !== pending.length || line.last < lastSeq || (pending.length > 0 && line.last !== lastSeq)) {
        reason = `commit line for ${line.n} records (last ${line.last}) does not match the batch of ${pending.length}`;
      } else {
        for (const p of pending) {
          try {
            apply(p.line.kind, p.line.op, p.record, rowKey(row.ctx, p.line.seq), p.off, p.len);
          } catch (err) {
            // An intact line the log's own history contradicts (a deletion of a record it never held).
            if (err instanceof SoftlogicError) throw err;
            throw corruptLogError(row.name, { offset: p.off, seq: p.line.seq, after_seq: appliedSeq, reason: `cannot be applied: ${(err as Error).message}` });
          }
        }
        if (line.wf !== null && line.upto !== null) onProgress({ workflowId: line.wf, processedUpTo: line.upto });
        records += pending.length;
        batches += 1;
        appliedSeq = line.last;
        appliedOff = raw.offset + raw.length;
        pending = [];
        continue;
      }
    }
    const seq = seqOf(raw.text);
    const damage: LineDamage = { offset: raw.offset, seq: seq > 0 ? seq : null, after_seq: appliedSeq, reason: reason ?? 'damaged' };
    if (onDamage === 'refuse') throw corruptLogError(row.name, damage);
    damaged = {
      offset: appliedOff,
      bytes: 0,
      lines: pending.length + 1,
      damaged_lines: 1,
      records_lost: pending.length,
      first_seq: pending.length > 0 ? pending[0].line.seq : null,
      last_seq: pending.length > 0 ? pending[pending.length - 1].line.seq : null,
      damage,
    };
    pending = [];
  }
  if (damaged) {
    damaged.bytes = end + tornTail - damaged.offset;
    if (tornTail > 0) {
      damaged.lines += 1;
      damaged.damaged_lines += 1;
    }
    return { appliedSeq, appliedOff, batches, records, tornBytes: 0, tornLines: 0, tornReason: null, damaged };
  }
  const tornBytes = end + tornTail - appliedOff;
  const tornLines = pending.length + (tornTail > 0 ? 1 : 0);
  const tornReason = tornBytes === 0 ? null : tornTail > 0 ? 'incomplete last line' : 'batch without commit line';
  return { appliedSeq, appliedOff, batches, records, tornBytes, tornLines, tornReason, damaged: null };
}
