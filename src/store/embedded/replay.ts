import { SoftlogicError } from '../../core/errors.js';
import type { Analogy, LogOp, RecordKind } from '../../core/records.js';
import type { EntityRecord } from './entity-index.js';
import { readLines } from './log-reader.js';
import { checksumOk, decodeLine, type RecordLine } from './log-format.js';
import { rowKey } from './sqlite-schema.js';
import type { BatchProgress, ContextRow } from './embedded-store.js';

export type ApplyFn = (kind: RecordKind, op: LogOp, record: Analogy | EntityRecord, key: number, off: number, len: number) => void;

export interface ReplayResult {
  appliedSeq: number;
  appliedOff: number;
  batches: number;
  records: number;
  /** bytes after the last complete batch: a crash mid-append, to be truncated */
  tornBytes: number;
  tornLines: number;
  tornReason: string | null;
}

interface Pending {
  line: RecordLine;
  off: number;
  len: number;
}

/**
 * Applies a context's log from `from` (a batch boundary) to its end, one complete batch at a
 * time. A batch is complete when its commit line is there and agrees with it. Whatever follows
 * the last complete batch is a torn tail only if no valid commit line comes after the first bad
 * line; a bad line followed by a valid commit is corruption in the middle and stops replay.
 */
export function replayContext(
  path: string,
  row: ContextRow,
  from: number,
  apply: ApplyFn,
  onProgress: (p: BatchProgress) => void,
): ReplayResult {
  let appliedSeq = from === 0 ? 0 : row.applied_seq;
  let appliedOff = from;
  let batches = 0;
  let records = 0;
  let pending: Pending[] = [];
  let badAt: { off: number; reason: string } | null = null;
  let tornTail = 0;
  let linesAfter = 0;
  let end = from;

  for (const raw of readLines(path, from, (tail) => {
    tornTail = tail.length;
  })) {
    end = raw.offset + raw.length;
    if (badAt) {
      linesAfter += 1;
      if (checksumOk(raw.text) && raw.text.startsWith('{"op":"commit"')) {
        throw new SoftlogicError('CORRUPT_LOG', `log of context '${row.name}' is corrupt at byte ${badAt.off}: ${badAt.reason}`, {
          context: row.name,
          offset: badAt.off,
          reason: badAt.reason,
        });
      }
      continue;
    }
    const line = checksumOk(raw.text) ? decodeLine(raw.text) : null;
    if (!line) {
      badAt = { off: raw.offset, reason: checksumOk(raw.text) ? 'not a log line' : 'checksum mismatch' };
      linesAfter = 1;
      continue;
    }
    if (line.type === 'record') {
      // Seqs rise strictly; compaction leaves gaps where superseded versions were.
      const previous = pending.length > 0 ? pending[pending.length - 1].line.seq : appliedSeq;
      if (line.seq <= previous) {
        badAt = { off: raw.offset, reason: `seq ${line.seq} does not follow ${previous}` };
        linesAfter = 1;
        continue;
      }
      pending.push({ line, off: raw.offset, len: raw.length });
      continue;
    }
    const lastSeq = pending.length > 0 ? pending[pending.length - 1].line.seq : appliedSeq;
    if (line.n !== pending.length || line.last < lastSeq || (pending.length > 0 && line.last !== lastSeq)) {
      badAt = { off: raw.offset, reason: `commit line for ${line.n} records (last ${line.last}) does not match the batch` };
      linesAfter = 1;
      continue;
    }
    for (const p of pending) {
      const record = JSON.parse(p.line.recordJson) as Analogy | EntityRecord;
      apply(p.line.kind, p.line.op, record, rowKey(row.ctx, p.line.seq), p.off, p.len);
    }
    if (line.wf !== null && line.upto !== null) onProgress({ workflowId: line.wf, processedUpTo: line.upto });
    records += pending.length;
    batches += 1;
    appliedSeq = line.last;
    appliedOff = raw.offset + raw.length;
    pending = [];
  }
  const tornBytes = end + tornTail - appliedOff;
  const tornLines = pending.length + linesAfter + (tornTail > 0 ? 1 : 0);
  const tornReason = tornBytes === 0 ? null : badAt ? badAt.reason : tornTail > 0 ? 'incomplete last line' : 'batch without commit line';
  return { appliedSeq, appliedOff, batches, records, tornBytes, tornLines, tornReason };
}
