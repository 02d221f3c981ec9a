import { SoftlogicError } from '../core/errors.js';
/**
 * The audit trail: what was rejected, repaired, deleted, compacted, restored, and when (embedded:
 * audit.jsonl; PostgreSQL: a table). Read back newest first, by workflow, event and time.
 */
export interface AuditEvent {
  event: string;
  [key: string]: unknown;
}

/** One line of audit.jsonl as read back: its time, event and the fields recorded with it. */
export interface AuditEntry extends AuditEvent {
  time: string;
  workflow_id?: string;
}

export interface AuditFilter {
  /** Only entries about this workflow (its `workflow_id`, or listed in its `workflows`). */
  workflow_id?: string;
  /** Only this event name (e.g. `workflow_rolled_back`). */
  event?: string;
  /** Only entries at or after this ISO time. */
  since?: string;
  /** At most this many entries (default 100, at most 1000). */
  limit?: number;
}

export const AUDIT_DEFAULT_LIMIT = 100;
export const AUDIT_MAX_LIMIT = 1000;

/** Checks a filter (INVALID_INPUT) and returns its limit. */
export function auditLimit(filter: AuditFilter): number {
  const limit = filter.limit ?? AUDIT_DEFAULT_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > AUDIT_MAX_LIMIT) {
    throw new SoftlogicError('INVALID_INPUT', `limit must be an integer from 1 to ${AUDIT_MAX_LIMIT}`, { field: 'limit', value: limit });
  }
  if (filter.since !== undefined && Number.isNaN(Date.parse(filter.since))) {
    throw new SoftlogicError('INVALID_INPUT', 'since must be an ISO date or time', { field: 'since', value: filter.since });
  }
  return limit;
}

export interface AuditTrail {
  /** Appends one event; its time is added. */
  record(event: AuditEvent): Promise<void>;
  /** The entries matching `filter`, newest first, at most `filter.limit` (INVALID_INPUT for a bad filter). */
  list(filter?: AuditFilter): Promise<AuditEntry[]>;
}
