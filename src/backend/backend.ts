/**
 * The backend interface: everything the operations (src/methods, src/workflows, src/reasoning,
 * src/embeddings) may ask of a store. It speaks in records, filters, opaque record references,
 * batches and workflow rows, never in byte offsets, row keys, SQL or file paths.
 *
 * One folder per backend, with parallel file names (embedded/embedded-*.ts, postgres/postgres-*.ts),
 * as Kysely's dialects are laid out. Every method that does I/O returns a promise (a server
 * database is asynchronous); a backend may be synchronous inside (the embedded one is).
 *
 * The parts, one file each: contexts (contexts.ts), the write batch (write-batch.ts), reads
 * (record-reader.ts), the workflow table and staged items (workflow-table.ts), concept vectors
 * (vector-table.ts), files that belong to a context (context-files.ts), the audit trail
 * (audit-trail.ts), maintenance (maintenance.ts), messages between the processes on one store
 * (event-channel.ts). Capabilities only one backend has sit in
 * `capabilities` (capabilities.ts), never in the generic path.
 */
import type { ContextTable } from './contexts.js';
import type { WriteBatch, WriteOptions } from './write-batch.js';
import type { RecordReader } from './record-reader.js';
import type { WorkflowTable } from './workflow-table.js';
import type { VectorTable } from './vector-table.js';
import type { ContextFiles } from './context-files.js';
import type { AuditTrail } from './audit-trail.js';
import type { Maintenance } from './maintenance.js';
import type { BackendCapabilities } from './capabilities.js';
import type { EventChannel } from './event-channel.js';

export type BackendKind = 'embedded' | 'postgres';

export interface Backend {
  readonly kind: BackendKind;
  /** where the store is, for messages: a directory, or a URL without its password */
  readonly location: string;
  readonly contexts: ContextTable;
  readonly records: RecordReader;
  readonly workflows: WorkflowTable;
  readonly vectors: VectorTable;
  readonly files: ContextFiles;
  readonly audit: AuditTrail;
  readonly maintenance: Maintenance;
  readonly capabilities: BackendCapabilities;
  /** messages to and from the other processes on this store (workflow progress across replicas) */
  readonly channel: EventChannel;
  /**
   * One atomic batch in one context (created if missing): every change `fn` makes, its change-log
   * entries and the workflow progress it sets commit together or not at all. `fn` is synchronous
   * and reads current versions through `batch.current`; a backend that cannot read synchronously
   * (PostgreSQL) loads `options.prefetch` first, in one query, under a row lock. A backend may
   * run `fn` again, on a fresh batch, when it repeats a transaction that a lost connection rolled
   * back: `fn` keeps its effects inside the batch and its result.
   */
  write<T>(context: string, fn: (batch: WriteBatch) => T, options?: WriteOptions): Promise<T>;
  /**
   * Whether the store can serve now, answered within about `timeoutMs` (a readiness check):
   * STORE_UNAVAILABLE when its database cannot be reached, STORE_CLOSED once closed.
   */
  ping(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}
