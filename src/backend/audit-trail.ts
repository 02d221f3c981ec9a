/** The audit trail (embedded: audit.jsonl). Owner (api): complete (list, filters). */
export interface AuditEvent {
  event: string;
  [key: string]: unknown;
}

export interface AuditTrail {
  /** appends one event (its time is added) */
  record(event: AuditEvent): Promise<void>;
}
