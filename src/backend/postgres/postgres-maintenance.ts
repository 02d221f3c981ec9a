import { SoftlogicError } from '../../core/errors.js';
import type { BackupResult, RestoreBackup, CompactionReport, Leftover, Maintenance, RebuildReport, StoreStats, VerifyReport } from '../maintenance.js';

/** An operation over the embedded store's own files, which a PostgreSQL store does not have. */
function embeddedOnly(operation: string, why: string): Promise<never> {
  return Promise.reject(new SoftlogicError('INVALID_INPUT', `${operation} is for the embedded backend only: ${why}`, { operation, backend: 'postgres' }));
}

function notYet(operation: string): Promise<never> {
  return Promise.reject(new SoftlogicError('INVALID_INPUT', `${operation} is not available on the PostgreSQL backend yet (issue 15)`, { operation }));
}

/**
 * Maintenance of a PostgreSQL store: not built yet (backup, verify, compact, rebuild and stats
 * are issue 15's). Each operation refuses with a clear error rather than reporting success; a
 * store holds no files a killed run could leave, so its leftovers are none.
 */
export class PostgresMaintenance implements Maintenance {
  backup(): Promise<BackupResult> {
    return notYet('backup');
  }

  verify(): Promise<VerifyReport> {
    return notYet('verify');
  }

  compact(): Promise<CompactionReport> {
    return notYet('compact');
  }

  rebuild(): Promise<RebuildReport> {
    return embeddedOnly('rebuild', "it recreates the embedded store's SQLite index from its logs; a PostgreSQL store's version rows are the record and its index, there is nothing to rebuild");
  }

  stats(): Promise<StoreStats> {
    return notYet('stats');
  }

  async leftovers(): Promise<Leftover[]> {
    return [];
  }

  /** `softlogic doctor`: the files it removes are the embedded store's; refused, so no one takes "nothing removed" for a check. */
  removeLeftovers(): Promise<Leftover[]> {
    return embeddedOnly('doctor', "it removes the files killed runs leave in a store directory; a PostgreSQL store keeps staged items as rows and leaves no such files");
  }
}

/** Restoring a backup into a PostgreSQL store: not built yet (issue 15). */
export const restorePostgres: RestoreBackup = () => notYet('restore');
