import type { BackupOptions, BackupResult, CompactionReport, Leftover, Maintenance, RebuildOptions, RebuildReport, RestoreBackup, StoreStats, VerifyReport } from '../maintenance.js';
import type { EmbeddedStore } from './embedded-store.js';
import { backupStore } from './backup.js';
import { restoreStore } from './restore.js';
import { verifyStore } from './verify.js';
import { compactContext } from './compact.js';
import { rebuildStore } from './rebuild.js';
import { storeStats } from './stats.js';
import { findLeftovers, removeLeftovers } from './leftovers.js';

/**
 * Maintenance of the embedded store (backup.ts, verify.ts, compact.ts, rebuild.ts, stats.ts,
 * leftovers.ts), synchronous inside. A rebuild may build a new index file and reopen the store on
 * it, so the store is reached through `current()` and the new one handed to `replace`.
 */
export class EmbeddedMaintenance implements Maintenance {
  constructor(
    private readonly current: () => EmbeddedStore,
    private readonly replace: (store: EmbeddedStore) => void,
  ) {}

  backup(options?: BackupOptions): Promise<BackupResult> {
    return backupStore(this.current(), options);
  }

  async verify(): Promise<VerifyReport> {
    return verifyStore(this.current());
  }

  async compact(context: string): Promise<CompactionReport> {
    return compactContext(this.current(), context);
  }

  async rebuild(options?: RebuildOptions): Promise<RebuildReport> {
    const { store, report } = rebuildStore(this.current(), options);
    if (store !== this.current()) this.replace(store);
    return report;
  }

  async stats(): Promise<StoreStats> {
    return storeStats(this.current());
  }

  async leftovers(): Promise<Leftover[]> {
    return findLeftovers(this.current());
  }

  async removeLeftovers(): Promise<Leftover[]> {
    return removeLeftovers(this.current());
  }
}

/** Restores an embedded backup into a directory (restore.ts). */
export const restoreEmbedded: RestoreBackup = async (file, location, options) => restoreStore(file, location, options);
