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
import { EmbeddedVectorTable } from './embedded-vector-table.js';
import { EmbeddedContextFiles } from './embedded-context-files.js';

/**
 * The embedded backend behind the interface: a directory of per-context JSONL logs indexed by
 * one SQLite database (embedded-store.ts). Everything inside is synchronous; the interface's
 * promises are settled at once.
 */
export class EmbeddedBackend implements Backend {
  readonly kind = 'embedded' as const;
  readonly contexts: EmbeddedContexts;
  readonly records: EmbeddedRecordReader;
  // Filled by their owners as the operations move (see BRIEF: workflows, vectors, api).
  readonly workflows: EmbeddedWorkflowTable;
  readonly vectors: EmbeddedVectorTable;
  readonly files: EmbeddedContextFiles;
  readonly maintenance: Maintenance = {};
  readonly capabilities: BackendCapabilities;
  /** audit.jsonl (its owner completes the part: list, filters) */
  readonly audit: AuditTrail;

  constructor(readonly store: EmbeddedStore) {
    this.contexts = new EmbeddedContexts(store);
    this.records = new EmbeddedRecordReader(store);
    this.audit = { record: async (event) => store.audit.record(event) };
    this.workflows = new EmbeddedWorkflowTable(store);
    this.vectors = new EmbeddedVectorTable(store);
    this.files = new EmbeddedContextFiles(store);
    this.capabilities = { preparedImport: new EmbeddedPreparedImport(store, this.workflows) };
  }

  static open(dir: string, options: { create?: boolean; repair?: boolean } = {}): EmbeddedBackend {
    return new EmbeddedBackend(EmbeddedStore.open(dir, options));
  }

  static init(dir: string): EmbeddedBackend {
    return new EmbeddedBackend(EmbeddedStore.init(dir));
  }

  get location(): string {
    return this.store.layout.root;
  }


  /** One SQLite transaction and one fsync'd append to the context's log (embedded-store.ts). */
  write<T>(context: string, fn: (batch: WriteBatch) => T, _options?: WriteOptions): Promise<T> {
    // The embedded backend reads synchronously inside the batch: `prefetch` has nothing to load.
    try {
      return Promise.resolve(this.store.write(context, (log) => fn(new EmbeddedWriteBatch(this.store, log))));
    } catch (err) {
      return Promise.reject(err as Error);
    }
  }

  async close(): Promise<void> {
    this.store.close();
  }
}
