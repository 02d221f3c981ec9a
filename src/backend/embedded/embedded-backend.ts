import type { Backend } from '../backend.js';
import type { Maintenance } from '../maintenance.js';
import type { BackendCapabilities } from '../capabilities.js';
import type { WriteBatch, WriteOptions } from '../write-batch.js';
import { EmbeddedStore } from './embedded-store.js';
import type { AuditTrail } from '../audit-trail.js';
import { EmbeddedContexts } from './embedded-contexts.js';
import { EmbeddedRecordReader } from './embedded-record-reader.js';
import { EmbeddedWriteBatch } from './embedded-write-batch.js';
import { EmbeddedWorkflowTable } from './embedded-workflow-table.js';
import { EmbeddedPreparedImport } from './embedded-prepared-import.js';
import { EmbeddedMaintenance } from './embedded-maintenance.js';
import { EmbeddedAuditTrail } from './embedded-audit-trail.js';
import { EmbeddedVectorTable } from './embedded-vector-table.js';
import { EmbeddedContextFiles } from './embedded-context-files.js';
import { EmbeddedEventChannel } from './embedded-event-channel.js';

/**
 * The embedded backend behind the interface: a directory of per-context JSONL logs indexed by
 * one SQLite database (embedded-store.ts). Everything inside is synchronous; the interface's
 * promises are settled at once.
 */
export class EmbeddedBackend implements Backend {
  readonly kind = 'embedded' as const;
  // Set by attach(): a rebuild may reopen the store on a new index file, and every part follows.
  private current!: EmbeddedStore;
  contexts!: EmbeddedContexts;
  records!: EmbeddedRecordReader;
  workflows!: EmbeddedWorkflowTable;
  vectors!: EmbeddedVectorTable;
  files!: EmbeddedContextFiles;
  capabilities!: BackendCapabilities;
  readonly maintenance: Maintenance;
  readonly audit: AuditTrail;
  readonly channel: EmbeddedEventChannel;

  constructor(store: EmbeddedStore) {
    this.attach(store);
    this.channel = new EmbeddedEventChannel(store.layout.root);
    this.maintenance = new EmbeddedMaintenance(
      () => this.current,
      (replaced) => this.attach(replaced),
    );
    this.audit = new EmbeddedAuditTrail(() => this.current);
  }

  private attach(store: EmbeddedStore): void {
    this.current = store;
    this.contexts = new EmbeddedContexts(store);
    this.records = new EmbeddedRecordReader(store);
    this.workflows = new EmbeddedWorkflowTable(store);
    this.vectors = new EmbeddedVectorTable(store);
    this.files = new EmbeddedContextFiles(store);
    this.capabilities = { preparedImport: new EmbeddedPreparedImport(store, this.workflows) };
  }

  /** the embedded store itself, for embedded-only tools and tests (log bytes, SQLite) */
  get store(): EmbeddedStore {
    return this.current;
  }

  static open(dir: string, options: { create?: boolean; repair?: boolean } = {}): EmbeddedBackend {
    return new EmbeddedBackend(EmbeddedStore.open(dir, options));
  }

  static init(dir: string): EmbeddedBackend {
    return new EmbeddedBackend(EmbeddedStore.init(dir));
  }

  get location(): string {
    return this.current.layout.root;
  }


  /** One SQLite transaction and one fsync'd append to the context's log (embedded-store.ts). */
  write<T>(context: string, fn: (batch: WriteBatch) => T, _options?: WriteOptions): Promise<T> {
    // The embedded backend reads synchronously inside the batch: `prefetch` has nothing to load.
    try {
      return Promise.resolve(this.current.write(context, (log) => fn(new EmbeddedWriteBatch(this.store, log))));
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  /** A directory on this machine: ready while open. */
  async ping(): Promise<void> {
    this.current.assertOpen();
  }

  async close(): Promise<void> {
    await this.channel.close();
    this.current.close();
  }
}
