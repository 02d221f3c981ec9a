import { SoftlogicError } from '../../core/errors.js';
import { DEFAULT_CONTEXT } from '../../core/names.js';
import type { Backend } from '../backend.js';
import type { WriteBatch, WriteOptions } from '../write-batch.js';
import type { Maintenance } from '../maintenance.js';
import type { BackendCapabilities } from '../capabilities.js';
import { createPool, inTransaction, parsePostgresUrl, withConnection, type PoolOptions, type PostgresLocation, type StorePool } from './postgres-connection.js';
import { PostgresContexts } from './postgres-contexts.js';
import { PostgresRecordReader } from './postgres-record-reader.js';
import { leaseSecondsFromEnv, PostgresWorkflowTable } from './postgres-workflow-table.js';
import { PostgresVectorTable } from './postgres-vector-table.js';
import { PostgresContextFiles } from './postgres-context-files.js';
import { commitChanges, isUniqueViolation, prefetchVersions, PostgresWriteBatch } from './postgres-write-batch.js';
import { migrate, readGeneration, schemaVersion, SCHEMA_VERSION } from './postgres-schema.js';
import { PostgresAuditTrail } from './postgres-audit-trail.js';
import { PostgresMaintenance } from './postgres-maintenance.js';
import { progressCommitted } from './postgres-workflow-progress.js';
import { PostgresPreparedImport } from './postgres-prepared-import.js';
import { PostgresEventChannel } from './postgres-event-channel.js';

export interface PostgresOpenOptions extends PoolOptions {
  /** create the schema (softlogic init); otherwise a schema without a store is STORE_NOT_FOUND */
  create?: boolean;
  /** how long this replica's claim on a workflow lasts without a heartbeat (default $SOFTLOGIC_LEASE_SECONDS or 20) */
  leaseSeconds?: number;
}

/**
 * A store in PostgreSQL: `postgres://user@host:port/db[?schema=NAME]`. Any number of processes
 * (service replicas) may open the same store: every write is one transaction, and the rows a
 * batch reads are locked by its prefetch.
 */
export class PostgresBackend implements Backend {
  readonly kind = 'postgres' as const;
  readonly location: string;
  readonly contexts: PostgresContexts;
  readonly records: PostgresRecordReader;
  readonly workflows: PostgresWorkflowTable;
  readonly vectors: PostgresVectorTable;
  readonly files: PostgresContextFiles;
  readonly audit: PostgresAuditTrail;
  readonly maintenance: Maintenance;
  readonly capabilities: BackendCapabilities;
  readonly channel: PostgresEventChannel;
  private closed = false;

  private constructor(
    readonly pool: StorePool,
    readonly where: PostgresLocation,
    leaseSeconds: number,
  ) {
    this.location = where.display;
    this.contexts = new PostgresContexts(pool);
    this.audit = new PostgresAuditTrail(pool);
    this.records = new PostgresRecordReader(pool, this.contexts);
    this.workflows = new PostgresWorkflowTable(pool, this.contexts, leaseSeconds);
    this.vectors = new PostgresVectorTable(pool, this.contexts);
    this.files = new PostgresContextFiles(pool, this.contexts, where);
    this.maintenance = new PostgresMaintenance(pool, where, this.contexts, this.audit);
    this.capabilities = { preparedImport: new PostgresPreparedImport(pool, this.contexts) };
    this.channel = new PostgresEventChannel(pool, where);
  }

  /** Creates the store at `url` (`softlogic init`): STORE_EXISTS when its schema already holds one. */
  static async init(url: string, options: PoolOptions = {}): Promise<PostgresBackend> {
    const where = parsePostgresUrl(url);
    const probe = createPool(where, { max: 1 });
    try {
      const client = await probe.acquireOnce().catch((err: Error) => {
        throw new SoftlogicError('STORE_NOT_FOUND', `cannot connect to PostgreSQL at ${where.display}: ${err.message}`, { store: where.display });
      });
      try {
        if ((await schemaVersion(client)) > 0) throw new SoftlogicError('STORE_EXISTS', `a softlogic store already exists in schema '${where.schema}' of ${where.display}`, { store: where.display });
      } finally {
        client.release();
      }
    } finally {
      await probe.end();
    }
    return PostgresBackend.open(url, { ...options, create: true });
  }

  /** Opens (or with `create`, creates and migrates) the store at `url`. */
  static async open(url: string, options: PostgresOpenOptions = {}): Promise<PostgresBackend> {
    const where = parsePostgresUrl(url);
    const leaseSeconds = options.leaseSeconds ?? leaseSecondsFromEnv();
    const pool = createPool(where, options);
    try {
      // One connection: a server that cannot be reached is STORE_NOT_FOUND at once; the schema
      // check and a migration (one transaction, idempotent) run on it, and again on a new
      // connection if the server ends this one (a restart while a replica starts).
      const client = await pool.acquireOnce().catch((err: Error) => {
        throw new SoftlogicError('STORE_NOT_FOUND', `cannot connect to PostgreSQL at ${where.display}: ${err.message}`, { store: where.display });
      });
      const generation = await withConnection(pool, 'opening the store', async (c) => {
        if (options.create) {
          await migrate(c, where.schema);
          return readGeneration(c);
        }
        const version = await schemaVersion(c);
        if (version === 0) throw new SoftlogicError('STORE_NOT_FOUND', `no softlogic store in schema '${where.schema}' of ${where.display} (softlogic init creates one)`, { store: where.display });
        // Older schemas migrate on open, as the embedded store upgrades its files.
        if (version !== SCHEMA_VERSION) await migrate(c, where.schema);
        return readGeneration(c);
      }, client);
      const backend = new PostgresBackend(pool, where, leaseSeconds);
      backend.contexts.opened(generation);
      if (options.create) await backend.contexts.ensure(DEFAULT_CONTEXT);
      return backend;
    } catch (err) {
      await pool.end();
      throw err;
    }
  }

  /**
   * One transaction. A connection lost before COMMIT runs it again, `fn` included (see
   * inTransaction); one lost during COMMIT is settled, for a workflow chunk, by its progress row
   * (its commit moved items_processed to processedUpTo, or nothing moved), else OUTCOME_UNKNOWN.
   */
  async write<T>(context: string, fn: (batch: WriteBatch) => T, options: WriteOptions = {}): Promise<T> {
    this.assertOpen();
    let progress: PostgresWriteBatch['progress'] = null;
    try {
      return await inTransaction(
        this.pool,
        async (client) => {
          // A context row cached before a restore --force may name another context now.
          await this.contexts.checkGeneration(client, true);
          const ctx = await this.contexts.ensureRow(context, {}, client);
          const prefetched = await prefetchVersions(client, ctx.ctx, options.prefetch ?? []);
          const batch = new PostgresWriteBatch({ name: ctx.name, parent: ctx.parent, description: ctx.description, created_at: ctx.created_at }, prefetched);
          const result = fn(batch);
          progress = batch.progress;
          await commitChanges(client, ctx.ctx, batch);
          return result;
        },
        {
          // A context a failed attempt created was rolled back with it: forget what the cache learnt.
          onFailure: () => this.contexts.reset(),
          committed: async () => (progress ? progressCommitted(this.pool, progress) : undefined),
        },
      );
    } catch (err) {
      this.contexts.reset();
      if (isUniqueViolation(err)) throw new SoftlogicError('CONFLICT', `another writer created the same record first; retry (${(err as Error).message})`, { context });
      throw err;
    }
  }

  /** Whether PostgreSQL answers within `timeoutMs` (STORE_UNAVAILABLE, or STORE_BUSY for a full pool, if not). */
  async ping(timeoutMs = 2000): Promise<void> {
    this.assertOpen();
    await this.pool.ping(timeoutMs);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.channel.close();
    await this.pool.end();
  }

  private assertOpen(): void {
    if (this.closed) throw new SoftlogicError('STORE_CLOSED');
  }
}
