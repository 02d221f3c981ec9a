/** The audit trail (embedded: audit.jsonl). Owner: move AuditEntry/AuditFilter types here. */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- placeholder until its owner defines it
export interface AuditTrail {}
