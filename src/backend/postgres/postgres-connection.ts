import pg from 'pg';
import { SoftlogicError } from '../../core/errors.js';
import { assertSchemaName } from './postgres-schema.js';
import { isPostgresUrl } from './postgres-url.js';

/**
 * Where a PostgreSQL store lives: `postgres://user@host:port/db` (or `postgresql://`), with
 * `?schema=NAME` for a store in its own schema of a shared database (default `public`). Every
 * pooled connection starts with that schema as its search_path, so the SQL never names it.
 */
export interface PostgresLocation {
  /** the URL without `schema`, for the driver */
  connectionString: string;
  schema: string;
  /** the URL without its password, for messages */
  display: string;
}

export { isPostgresUrl };

export function parsePostgresUrl(location: string): PostgresLocation {
  if (!isPostgresUrl(location)) throw new SoftlogicError('INVALID_INPUT', `not a PostgreSQL URL: ${location}`);
  let url: URL;
  try {
    url = new URL(location);
  } catch {
    throw new SoftlogicError('INVALID_INPUT', 'the PostgreSQL URL cannot be parsed', { url: redact(location) });
  }
  const schema = assertSchemaName(url.searchParams.get('schema') ?? 'public');
  url.searchParams.delete('schema');
  const connectionString = url.toString();
  if (url.password) url.password = '***';
  // The display names the schema (the store), unless it is the default one.
  if (schema !== 'public') url.searchParams.set('schema', schema);
  return { connectionString, schema, display: url.toString() };
}

function redact(location: string): string {
  return location.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}

export interface PoolOptions {
  /** connections at most (default 10) */
  max?: number;
}

/**
 * BIGINT (int8) columns come back as numbers: the store's counters and seqs stay far below 2^53
 * (9e15 changes), and `count(*)` is one. Set per pool, not globally for every pg user.
 */
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8 ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format ?? 'text')) as typeof pg.types.getTypeParser,
};

export function createPool(location: PostgresLocation, options: PoolOptions = {}): pg.Pool {
  const pool = new pg.Pool({
    connectionString: location.connectionString,
    max: options.max ?? 10,
    connectionTimeoutMillis: 10_000,
    options: `-c search_path=${location.schema}`,
    application_name: 'softlogic',
    types,
  });
  // An idle connection that the server closed (a restart, an administrator) is dropped by the
  // pool and replaced on the next checkout; unhandled, its error would end the process.
  pool.on('error', () => undefined);
  return pool;
}

/** Runs fn inside BEGIN ... COMMIT on one pooled connection (ROLLBACK when it throws). */
export async function inTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>, begin = 'BEGIN'): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query(begin);
    try {
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  } finally {
    client.release();
  }
}
