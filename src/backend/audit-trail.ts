/** The audit trail (embedded: audit.jsonl). Owner: move AuditEntry/AuditFilter types here. */
export interface AuditTrail {}
