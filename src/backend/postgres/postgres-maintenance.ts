import { SoftlogicError } from '../../core/errors.js';
import type { BackupResult, RestoreBackup, CompactionReport, Leftover, Maintenance, RebuildReport, StoreStats, VerifyReport } from '../maintenance.js';

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
    return notYet('rebuild');
  }

  stats(): Promise<StoreStats> {
    return notYet('stats');
  }

  async leftovers(): Promise<Leftover[]> {
    return [];
  }

  async removeLeftovers(): Promise<Leftover[]> {
    return [];
  }
}

/** Restoring a backup into a PostgreSQL store: not built yet (issue 15). */
export const restorePostgres: RestoreBackup = () => notYet('restore');
