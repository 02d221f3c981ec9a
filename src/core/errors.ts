/**
 * The error catalog: every failure softlogic reports has a stable code here. The CLI exit
 * status and the HTTP status both come from this table, so the three faces agree.
 */
export const ERROR_CATALOG = {
  INVALID_INPUT: { exit: 2, http: 400, message: 'Invalid input' },
  INVALID_NAME: { exit: 2, http: 400, message: 'Invalid name' },
  INVALID_RECORD: { exit: 2, http: 400, message: 'Invalid record' },
  IMPORT_REJECTED: { exit: 2, http: 422, message: 'Import refused: the input holds invalid records' },
  EMPTY_INPUT: { exit: 2, http: 400, message: 'The input holds no records' },
  UNSUPPORTED_FORMAT: { exit: 2, http: 415, message: 'Unsupported file format' },
  FILE_NOT_FOUND: { exit: 2, http: 404, message: 'File not found' },
  STORE_NOT_FOUND: { exit: 2, http: 503, message: 'No softlogic store here' },
  STORE_EXISTS: { exit: 2, http: 409, message: 'A store already exists here' },
  STORE_FORMAT: { exit: 2, http: 500, message: 'Unsupported store format' },
  STORE_BUSY: { exit: 3, http: 503, message: 'The store is busy (another writer holds the lock, or every database connection is in use); retry shortly' },
  STORE_UNAVAILABLE: { exit: 3, http: 503, message: "The store's database cannot be reached; retry once it is back" },
  STORE_CLOSED: { exit: 2, http: 503, message: 'The store is closed' },
  CONTEXT_NOT_FOUND: { exit: 2, http: 404, message: 'Context not found' },
  CONTEXT_EXISTS: { exit: 2, http: 409, message: 'Context already exists' },
  NOT_FOUND: { exit: 2, http: 404, message: 'Record not found' },
  PURGED: { exit: 2, http: 410, message: 'Record was purged by compaction' },
  NOT_DELETED: { exit: 2, http: 409, message: 'Record is not deleted' },
  ALREADY_DELETED: { exit: 2, http: 409, message: 'Record is already deleted' },
  WORKFLOW_NOT_FOUND: { exit: 2, http: 404, message: 'Workflow not found' },
  ILLEGAL_TRANSITION: { exit: 2, http: 409, message: 'Illegal workflow transition' },
  ROLLBACK_UNAVAILABLE: { exit: 2, http: 409, message: 'The history a rollback needs is gone (compacted)' },
  STAGED_CORRUPT: { exit: 1, http: 500, message: 'Staged workflow items failed their checksum' },
  STAGING_ABORTED: { exit: 1, http: 500, message: 'Staging stopped before its end' },
  CORRUPT_LOG: { exit: 1, http: 500, message: 'Corrupt change log' },
  INTEGRITY: { exit: 1, http: 500, message: 'Integrity check failed' },
  CONFLICT: { exit: 2, http: 409, message: 'Conflicting state' },
  OUTCOME_UNKNOWN: { exit: 1, http: 500, message: 'The database connection was lost during a commit: whether the change took effect is unknown' },
  BACKUP_INVALID: { exit: 1, http: 422, message: 'Backup is damaged or truncated' },
  NOT_IN_VOCABULARY: { exit: 2, http: 404, message: 'Word not in vocabulary' },
  DIMENSION_MISMATCH: { exit: 2, http: 400, message: 'Vector dimensions do not match' },
  PAYLOAD_TOO_LARGE: { exit: 2, http: 413, message: 'Request body too large' },
  RATE_LIMITED: { exit: 2, http: 429, message: 'Too many requests' },
  UNAUTHORIZED: { exit: 2, http: 401, message: 'Missing or wrong API key' },
  NO_SPACE: { exit: 1, http: 507, message: 'No space left on the device' },
  IO_ERROR: { exit: 1, http: 500, message: 'I/O error' },
  INTERNAL: { exit: 1, http: 500, message: 'Internal error' },
} as const satisfies Record<string, { exit: number; http: number; message: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOG;

export type ErrorDetails = Record<string, unknown>;

export class SoftlogicError extends Error {
  readonly code: ErrorCode;
  readonly details: ErrorDetails;

  constructor(code: ErrorCode, message?: string, details: ErrorDetails = {}) {
    super(message ?? ERROR_CATALOG[code].message);
    this.name = 'SoftlogicError';
    this.code = code;
    this.details = details;
  }

  get exitCode(): number {
    return ERROR_CATALOG[this.code].exit;
  }

  get httpStatus(): number {
    return ERROR_CATALOG[this.code].http;
  }

  toJSON(): { code: ErrorCode; message: string; details: ErrorDetails } {
    return { code: this.code, message: this.message, details: this.details };
  }
}

export function isSoftlogicError(err: unknown): err is SoftlogicError {
  return err instanceof SoftlogicError;
}

/** Maps any thrown value onto the catalog; OS errors that users can act on keep their meaning. */
export function toSoftlogicError(err: unknown): SoftlogicError {
  if (err instanceof SoftlogicError) return err;
  const errno = (err as NodeJS.ErrnoException | undefined)?.code;
  const message = err instanceof Error ? err.message : String(err);
  if (errno === 'ENOSPC' || errno === 'EDQUOT') return new SoftlogicError('NO_SPACE', message);
  if (errno === 'ENOENT') return new SoftlogicError('FILE_NOT_FOUND', message);
  if (errno === 'SQLITE_BUSY' || errno === 'SQLITE_LOCKED') return new SoftlogicError('STORE_BUSY');
  if (errno === 'SQLITE_FULL') return new SoftlogicError('NO_SPACE', message);
  if (errno && /^E[A-Z]+$/.test(errno)) return new SoftlogicError('IO_ERROR', message, { errno });
  return new SoftlogicError('INTERNAL', message);
}
