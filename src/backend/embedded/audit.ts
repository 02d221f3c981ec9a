import { appendFileSync, closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { auditLimit, type AuditEntry, type AuditEvent, type AuditFilter } from '../audit-trail.js';
export { AUDIT_DEFAULT_LIMIT, AUDIT_MAX_LIMIT, type AuditEntry, type AuditEvent, type AuditFilter } from '../audit-trail.js';

const CHUNK = 64 * 1024;

/** The lines of a file, last first, read backwards in fixed chunks (memory: one chunk plus one line). */
function* linesFromEnd(path: string): Generator<string> {
  if (!existsSync(path)) return;
  const fd = openSync(path, 'r');
  try {
    let position = statSync(path).size;
    let tail = Buffer.alloc(0);
    const chunk = Buffer.alloc(CHUNK);
    while (position > 0) {
      const size = Math.min(CHUNK, position);
      position -= size;
      readSync(fd, chunk, 0, size, position);
      let buf = Buffer.concat([chunk.subarray(0, size), tail]);
      let nl = buf.lastIndexOf(0x0a);
      while (nl !== -1) {
        const line = buf.subarray(nl + 1).toString('utf8');
        if (line.trim() !== '') yield line;
        buf = buf.subarray(0, nl);
        nl = buf.lastIndexOf(0x0a);
      }
      tail = Buffer.from(buf);
    }
    if (tail.length > 0 && tail.toString('utf8').trim() !== '') yield tail.toString('utf8');
  } finally {
    closeSync(fd);
  }
}

function matches(entry: AuditEntry, filter: AuditFilter): boolean {
  if (filter.event !== undefined && entry.event !== filter.event) return false;
  if (filter.workflow_id !== undefined) {
    const listed = Array.isArray(entry.workflows) && entry.workflows.includes(filter.workflow_id);
    if (entry.workflow_id !== filter.workflow_id && !listed) return false;
  }
  return true;
}

/**
 * audit.jsonl: what was rejected, repaired, deleted, compacted, restored, and when. One line per
 * event, appended with O_APPEND so concurrent processes never interleave within a line.
 */
export class AuditLog {
  constructor(private readonly path: string) {}

  record(event: AuditEvent): void {
    appendFileSync(this.path, JSON.stringify({ time: new Date().toISOString(), ...event }) + '\n');
  }

  /**
   * The entries matching a filter, newest first, at most `limit`. The file is read from its end
   * and reading stops at `limit` matches or at the first entry older than `since`, so a large
   * audit log costs only the part read. A line that is not JSON (a torn last write) is skipped.
   */
  list(filter: AuditFilter = {}): AuditEntry[] {
    const limit = auditLimit(filter);
    const since = filter.since !== undefined ? Date.parse(filter.since) : null;
    const found: AuditEntry[] = [];
    for (const line of linesFromEnd(this.path)) {
      let entry: AuditEntry;
      try {
        entry = JSON.parse(line) as AuditEntry;
      } catch {
        continue;
      }
      if (typeof entry !== 'object' || entry === null || typeof entry.event !== 'string') continue;
      if (since !== null && Date.parse(entry.time) < since) break;
      if (!matches(entry, filter)) continue;
      found.push(entry);
      if (found.length >= limit) break;
    }
    return found;
  }
}
