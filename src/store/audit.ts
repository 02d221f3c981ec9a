import { appendFileSync } from 'node:fs';

/**
 * audit.jsonl: what was rejected, repaired, deleted, compacted, restored, and when. One line per
 * event, appended with O_APPEND so concurrent processes never interleave within a line.
 */
export interface AuditEvent {
  event: string;
  [key: string]: unknown;
}

export class AuditLog {
  constructor(private readonly path: string) {}

  record(event: AuditEvent): void {
    appendFileSync(this.path, JSON.stringify({ time: new Date().toISOString(), ...event }) + '\n');
  }
}
