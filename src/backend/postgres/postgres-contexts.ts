import type pg from 'pg';
import type { ContextInfo } from '../../core/records.js';
import { SoftlogicError } from '../../core/errors.js';
import { assertContextName } from '../../core/names.js';
import type { ContextTable } from '../contexts.js';
import { readGeneration } from './postgres-schema.js';

/** A context as the backend keeps it: its row number keys every record row. */
export interface PostgresContext extends ContextInfo {
  ctx: number;
}

const COLUMNS = 'ctx, name, parent, description, created_at';
const MAX_CHAIN = 64;

function info(row: PostgresContext): ContextInfo {
  return { name: row.name, parent: row.parent, description: row.description, created_at: row.created_at };
}

/** How long a replica trusts its cached rows before it reads the store generation again. */
export const GENERATION_CHECK_MS = 500;

/**
 * The contexts table. Contexts are only ever added (a restore replaces the store and bumps its
 * generation), so a replica caches the rows it has seen, for the store generation it last read:
 * a cached row is used without a query, and at most every GENERATION_CHECK_MS (and at the start
 * of every write transaction) the generation is read again; when it moved (`restore --force`
 * renamed another store into the schema, or a compaction) the cache is dropped, and
 * `storeGeneration` tells the caches above the backend (the vector indexes) to drop theirs.
 */
export class PostgresContexts implements ContextTable {
  private readonly cache = new Map<string, PostgresContext>();
  private generation = 0;
  private checkedAt = 0;

  constructor(private readonly pool: pg.Pool) {}

  /** Forgets the cache (after a restore, or when the store generation moved). */
  reset(): void {
    this.cache.clear();
  }

  /** The store generation the cached rows belong to. */
  get storeGeneration(): number {
    return this.generation;
  }

  /** Sets the generation read when the store was opened (the cache is empty then). */
  opened(generation: number): void {
    this.generation = generation;
    this.checkedAt = Date.now();
  }

  /**
   * Reads the store generation (on `client`: inside a transaction, a pool of one connection has
   * none to spare) unless it was read less than GENERATION_CHECK_MS ago; drops the cache when it moved.
   */
  async checkGeneration(client: pg.ClientBase | pg.Pool = this.pool, always = false): Promise<void> {
    const now = Date.now();
    if (!always && now - this.checkedAt < GENERATION_CHECK_MS) return;
    this.checkedAt = now;
    const generation = await readGeneration(client);
    if (generation === this.generation) return;
    this.cache.clear();
    this.generation = generation;
  }

  async row(name: string, client: pg.ClientBase | pg.Pool = this.pool): Promise<PostgresContext | undefined> {
    await this.checkGeneration(client);
    const cached = this.cache.get(name);
    if (cached) return cached;
    const { rows } = await client.query<PostgresContext>(`SELECT ${COLUMNS} FROM contexts WHERE name = $1`, [name]);
    if (rows[0]) this.cache.set(name, rows[0]);
    return rows[0];
  }

  async requireRow(name: string, client?: pg.ClientBase): Promise<PostgresContext> {
    const row = await this.row(assertContextName(name), client);
    if (!row) throw new SoftlogicError('CONTEXT_NOT_FOUND', `context '${name}' does not exist`, { context: name });
    return row;
  }

  /**
   * The context's row, created unless it exists; on `client` when given (inside a write's
   * transaction, so a batch and the context it creates commit together).
   */
  async ensureRow(name: string, options: { parent?: string | null; description?: string | null } = {}, client?: pg.ClientBase): Promise<PostgresContext> {
    assertContextName(name);
    const existing = await this.row(name, client);
    if (existing) return existing;
    if (options.parent) {
      assertContextName(options.parent);
      if (!(await this.row(options.parent, client))) {
        throw new SoftlogicError('CONTEXT_NOT_FOUND', `parent context '${options.parent}' does not exist`, { context: options.parent });
      }
    }
    // Two replicas may create it at once: the second insert does nothing and reads the first's row.
    // The one that creates it writes the audit entry, in the same statement (and transaction).
    const createdAt = new Date().toISOString();
    const parent = options.parent ?? null;
    await (client ?? this.pool).query(
      `WITH created AS (
         INSERT INTO contexts(name, parent, description, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING RETURNING name
       )
       INSERT INTO audit(entry) SELECT $5::json FROM created`,
      [name, parent, options.description ?? null, createdAt, JSON.stringify({ time: createdAt, event: 'context_created', context: name, parent })],
    );
    const created = await this.row(name, client);
    if (!created) throw new SoftlogicError('INTERNAL', `context '${name}' was not created`);
    return created;
  }

  async list(): Promise<ContextInfo[]> {
    const { rows } = await this.pool.query<PostgresContext>(`SELECT ${COLUMNS} FROM contexts ORDER BY name`);
    return rows.map(info);
  }

  async get(name: string): Promise<ContextInfo | undefined> {
    const row = await this.row(assertContextName(name));
    return row && info(row);
  }

  async require(name: string): Promise<ContextInfo> {
    return info(await this.requireRow(name));
  }

  async chain(name: string): Promise<ContextInfo[]> {
    const chain: ContextInfo[] = [];
    let row: PostgresContext | undefined = await this.requireRow(name);
    while (row && chain.length < MAX_CHAIN) {
      chain.push(info(row));
      row = row.parent ? await this.row(row.parent) : undefined;
    }
    return chain;
  }

  async ensure(name: string, options: { parent?: string | null; description?: string | null } = {}): Promise<ContextInfo> {
    return info(await this.ensureRow(name, options));
  }
}
