import type pg from 'pg';
import { REPEATABLE } from './postgres-connection.js';
import { auditLimit, type AuditEntry, type AuditEvent, type AuditFilter, type AuditTrail } from '../audit-trail.js';

/** The audit trail as rows of the audit table (json entries as written, newest first by their sequence). */
export class PostgresAuditTrail implements AuditTrail {
  constructor(private readonly pool: pg.Pool) {}

  async record(event: AuditEvent): Promise<void> {
    const entry: AuditEntry = { time: new Date().toISOString(), ...event };
    // Repeatable after a lost connection: an entry (its time to the millisecond included) that
    // did go in is among the newest ones, and is not added twice.
    await this.pool.query(
      `${REPEATABLE}INSERT INTO audit(entry) SELECT $1::json WHERE NOT EXISTS (SELECT 1 FROM (SELECT entry FROM audit ORDER BY seq DESC LIMIT 64) AS newest WHERE newest.entry::text = $1::text)`,
      [JSON.stringify(entry)],
    );
  }

  async list(filter: AuditFilter = {}): Promise<AuditEntry[]> {
    const limit = auditLimit(filter);
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.event !== undefined) where.push(`entry->>'event' = $${args.push(filter.event)}`);
    if (filter.workflow_id !== undefined) {
      const n = args.push(filter.workflow_id);
      where.push(`(entry->>'workflow_id' = $${n} OR (entry->'workflows')::jsonb ? $${n})`);
    }
    // The entry's own time, as the embedded trail compares: the row's insert time can be a few
    // milliseconds later than the time written in it, which let an older entry through.
    // `since` read as JavaScript reads it (a bare date is UTC), not in the session's time zone.
    if (filter.since !== undefined) where.push(`(entry->>'time')::timestamptz >= $${args.push(new Date(filter.since).toISOString())}::timestamptz`);
    const sql = `SELECT entry FROM audit ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT $${args.push(limit)}`;
    const { rows } = await this.pool.query<{ entry: AuditEntry }>(sql, args);
    return rows.map((r) => r.entry);
  }
}
