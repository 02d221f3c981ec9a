import { closeSync, openSync } from 'node:fs';
import type { RecordKind } from '../core/records.js';
import { SoftlogicError } from '../core/errors.js';
import type { EmbeddedStore } from '../backend/embedded/embedded-store.js';
import { checksumOk, decodeLine } from '../backend/embedded/log-format.js';
import { readLines } from '../backend/embedded/log-reader.js';
import { SegmentMap } from '../backend/embedded/log-segments.js';

/**
 * What one workflow changed in its context, read back from the change log: every batch a
 * workflow commits carries its id in the commit line (`"wf":...`), and every record line points
 * at the version it superseded (`prev`). So the log itself is the undo journal.
 */
export interface RecordChange {
  kind: RecordKind;
  id: string;
  /** the line of the version before the workflow's first change; null when the workflow created it */
  before: number | null;
  /** the line of the workflow's last change to it */
  after: number;
}

export interface WorkflowChanges {
  /** in log order of each record's first change */
  changes: RecordChange[];
  /** the highest seq a compaction rewrote (0 if never compacted): history up to it is gone */
  compactedThrough: number;
}

interface PendingLine {
  offset: number;
  text: string;
}

/** The virtual offset where the compacted log's compressed blocks end (0 when none). */
function compactedEnd(path: string): number {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
  try {
    return SegmentMap.scan(fd).vTail;
  } finally {
    closeSync(fd);
  }
}

export function workflowChanges(store: EmbeddedStore, context: string, workflowId: string): WorkflowChanges {
  const path = store.layout.log(context);
  const blocksEnd = compactedEnd(path);
  const byRecord = new Map<string, RecordChange>();
  let batch: PendingLine[] = [];
  let compactedThrough = 0;
  for (const line of readLines(path)) {
    if (!line.text.startsWith('{"op":"commit"')) {
      batch.push({ offset: line.offset, text: line.text });
      continue;
    }
    const commit = checksumOk(line.text) ? decodeLine(line.text) : null;
    if (!commit || commit.type !== 'commit') throw new SoftlogicError('CORRUPT_LOG', `commit line at byte ${line.offset} of context '${context}' fails its checksum`, { context, offset: line.offset });
    if (line.offset < blocksEnd) compactedThrough = Math.max(compactedThrough, commit.last);
    if (commit.wf === workflowId) {
      for (const l of batch) {
        const decoded = checksumOk(l.text) ? decodeLine(l.text) : null;
        if (!decoded || decoded.type !== 'record') throw new SoftlogicError('CORRUPT_LOG', `record line at byte ${l.offset} of context '${context}' fails its checksum`, { context, offset: l.offset });
        const { id } = JSON.parse(decoded.recordJson) as { id: string };
        const key = `${decoded.kind}\u0000${id}`;
        const seen = byRecord.get(key);
        if (seen) seen.after = l.offset;
        else byRecord.set(key, { kind: decoded.kind, id, before: decoded.prev, after: l.offset });
      }
    }
    batch = [];
  }
  return { changes: [...byRecord.values()], compactedThrough };
}
