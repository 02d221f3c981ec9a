import type { AuditEntry, AuditEvent, AuditFilter, AuditTrail } from '../audit-trail.js';
import type { EmbeddedStore } from './embedded-store.js';

/** The audit trail of the embedded store: audit.jsonl (audit.ts), appended and read synchronously. */
export class EmbeddedAuditTrail implements AuditTrail {
  constructor(private readonly current: () => EmbeddedStore) {}

  async record(event: AuditEvent): Promise<void> {
    this.current().audit.record(event);
  }

  async list(filter?: AuditFilter): Promise<AuditEntry[]> {
    return this.current().audit.list(filter);
  }
}
