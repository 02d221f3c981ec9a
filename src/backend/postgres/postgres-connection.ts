import pg from 'pg';
import { setTimeout as sleep } from 'node:timers/promises';
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
  /** what the URL says of the pool (`pool_max`, `acquire_timeout_ms`, `retry_ms`) */
  pool: PoolOptions;
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
  const pool = poolParams(url.searchParams, (name) => `URL parameter ${name}`);
  for (const name of Object.values(POOL_URL_PARAMS)) url.searchParams.delete(name);
  const connectionString = url.toString();
  if (url.password) url.password = '***';
  // The display names the schema (the store), unless it is the default one.
  if (schema !== 'public') url.searchParams.set('schema', schema);
  return { connectionString, schema, display: url.toString(), pool };
}

function redact(location: string): string {
  return location.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}

export interface PoolOptions {
  /** connections at most (default 10) */
  max?: number;
  /**
   * How long a query waits for a free connection, or for a new one to be established, before it
   * is refused with STORE_BUSY (a full pool) or the connection counts as lost (ms, default 5000).
   */
  acquireTimeoutMs?: number;
  /** how long a lost connection is retried, with backoff, before STORE_UNAVAILABLE (ms, default 15000) */
  retryMs?: number;
}

const DEFAULT_POOL: Required<PoolOptions> = { max: 10, acquireTimeoutMs: 5000, retryMs: 15_000 };

/** Where a URL (`?pool_max=2`) and the environment (SOFTLOGIC_PG_POOL_MAX=2) set the pool. */
const POOL_URL_PARAMS = { max: 'pool_max', acquireTimeoutMs: 'acquire_timeout_ms', retryMs: 'retry_ms' } as const;
const POOL_ENV = { max: 'SOFTLOGIC_PG_POOL_MAX', acquireTimeoutMs: 'SOFTLOGIC_PG_ACQUIRE_TIMEOUT_MS', retryMs: 'SOFTLOGIC_PG_RETRY_MS' } as const;
const POOL_LIMITS: Record<keyof PoolOptions, readonly [number, number]> = { max: [1, 1000], acquireTimeoutMs: [1, 600_000], retryMs: [0, 3_600_000] };

function poolParams(get: { get(name: string): string | null | undefined }, label: (name: string) => string, names: Record<keyof PoolOptions, string> = POOL_URL_PARAMS): PoolOptions {
  const out: PoolOptions = {};
  for (const key of Object.keys(names) as Array<keyof PoolOptions>) {
    const raw = get.get(names[key]);
    if (raw === null || raw === undefined || raw === '') continue;
    const value = Number(raw);
    const [min, max] = POOL_LIMITS[key];
    if (!/^\d+$/.test(raw) || value < min || value > max) {
      throw new SoftlogicError('INVALID_INPUT', `${label(names[key])} must be an integer in [${min}, ${max}], got '${raw}'`, { field: names[key] });
    }
    out[key] = value;
  }
  return out;
}

/** The pool's settings: the caller's options, then the URL's, then the environment's, then the defaults. */
export function poolSettings(location: PostgresLocation, options: PoolOptions = {}): Required<PoolOptions> {
  const env = poolParams({ get: (name) => process.env[name] }, (name) => `environment variable ${name}`, POOL_ENV);
  const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as PoolOptions;
  return { ...DEFAULT_POOL, ...env, ...location.pool, ...given };
}

/**
 * BIGINT (int8) columns come back as numbers: the store's counters and seqs stay far below 2^53
 * (9e15 changes), and `count(*)` is one. Set per pool, not globally for every pg user.
 */
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8 ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format ?? 'text')) as typeof pg.types.getTypeParser,
};

/*
 * Faults. A connection can be lost at any moment: the server restarted (57P01 admin_shutdown),
 * an administrator ended the session, the network reset it. What is safe to repeat is repeated
 * here, with a short backoff, for at most `retryMs` (then STORE_UNAVAILABLE):
 *  - getting a connection (nothing was sent yet);
 *  - a read (SELECT, or a statement marked REPEATABLE: one whose second run changes nothing more);
 *  - a transaction that failed before its COMMIT was sent (the server rolled it back).
 * What is not: a COMMIT (or a single write statement) whose answer never came. The transaction
 * may or may not have committed; `committed` (given by the caller, e.g. a workflow chunk reading
 * its progress row) tells, and then it is repeated or taken as done; without it the caller gets
 * OUTCOME_UNKNOWN. A full pool is not a fault: the query waits up to `acquireTimeoutMs` for a
 * connection, then STORE_BUSY (503, retry_after_seconds).
 */

/** Put before a write statement that may run twice with the effect of once (an UPDATE to fixed values, an INSERT ... ON CONFLICT DO NOTHING). */
export const REPEATABLE = '/* repeatable */ ';

const LOST_ERRNOS = new Set(['ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN', 'ENOTCONN', 'EAI_AGAIN']);
/** The server ended the session: admin_shutdown (a restart, pg_terminate_backend), crash_shutdown, cannot_connect_now. */
const LOST_SQLSTATES = new Set(['57P01', '57P02', '57P03']);
const LOST_MESSAGES = /^(Connection terminated|Client has encountered a connection error|timeout expired|Query read timeout)/;
/** pg's answer when a statement was refused because the connection had already failed: it was never sent. */
const NOT_SENT = /^Client has encountered a connection error and is not queryable/;
/** Errors of a connection attempt that a retry will not cure: a wrong password or database, an unknown host. */
const PERMANENT_CONNECT = (code: string): boolean => code.startsWith('28') || code === '3D000' || code === 'ENOTFOUND';
/** pg-pool's answer when every connection stayed in use for connectionTimeoutMillis. */
const POOL_FULL = 'timeout exceeded when trying to connect';

function chain(err: unknown): Array<{ code?: unknown; message?: unknown }> {
  const out: Array<{ code?: unknown; message?: unknown; cause?: unknown }> = [];
  for (let e = err as { code?: unknown; message?: unknown; cause?: unknown } | undefined; e && typeof e === 'object' && out.length < 5; e = e.cause as typeof e) out.push(e);
  return out;
}

/** Whether `err` says the connection to the server was lost (rather than the statement failing). */
export function isConnectionLoss(err: unknown): boolean {
  if (err instanceof SoftlogicError) return false;
  return chain(err).some(
    (e) => (typeof e.code === 'string' && (LOST_ERRNOS.has(e.code) || LOST_SQLSTATES.has(e.code) || e.code.startsWith('08'))) || (typeof e.message === 'string' && LOST_MESSAGES.test(e.message)),
  );
}

function notSent(err: unknown): boolean {
  return chain(err).some((e) => typeof e.message === 'string' && NOT_SENT.test(e.message));
}

const READ = /^\s*(SELECT|SHOW|VALUES|TABLE|FETCH)\b/i;

/** A statement that may be repeated after a lost connection whatever happened to it: a read, or one marked REPEATABLE. */
function readsOnly(sql: string): boolean {
  if (sql.startsWith(REPEATABLE) || READ.test(sql)) return true;
  return /^\s*WITH\b/i.test(sql) && !/\b(INSERT|UPDATE|DELETE|MERGE)\b/i.test(sql);
}

/** The attempt failed on a lost connection and may be run again as it is. */
class Repeatable extends Error {
  constructor(readonly lost: unknown) {
    super(lost instanceof Error ? lost.message : String(lost));
  }
}

/** COMMIT (or a write statement) was sent and its answer lost: `result` is what the attempt had computed. */
class OutcomeUnknown extends Error {
  constructor(
    readonly lost: unknown,
    readonly result: unknown,
  ) {
    super(lost instanceof Error ? lost.message : String(lost));
  }
}

/**
 * What a caller that cannot repeat its work (a stream that read part of a snapshot) throws when
 * its connection is lost: STORE_UNAVAILABLE saying so; any other error as it is.
 */
export function lostDuring(pool: pg.Pool, what: string, err: unknown): unknown {
  if (!isConnectionLoss(err)) return err;
  const display = pool instanceof StorePool ? pool.display : 'PostgreSQL';
  return new SoftlogicError('STORE_UNAVAILABLE', `lost the connection to PostgreSQL at ${display} during ${what}, which cannot be resumed where it stopped: start it again (${messageOf(err)})`, {
    store: display,
    retry_after_seconds: 1,
  });
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * The one retry helper: runs `attempt` until it succeeds, fails for a reason that is not a lost
 * connection, or the pool's retry time is spent (then STORE_UNAVAILABLE). An attempt whose COMMIT
 * outcome is unknown is settled by `committed` (true: done, its result returned; false: repeated;
 * undefined or absent: OUTCOME_UNKNOWN).
 */
async function retryLost<T>(pool: StorePool, what: string, attempt: () => Promise<T>, committed?: () => Promise<boolean | undefined>): Promise<T> {
  const started = Date.now();
  for (let n = 0; ; n++) {
    let lost: unknown;
    try {
      return await attempt();
    } catch (err) {
      if (err instanceof OutcomeUnknown) {
        const answer = committed ? await committed() : undefined;
        if (answer === true) return err.result as T;
        if (answer === undefined) {
          throw new SoftlogicError(
            'OUTCOME_UNKNOWN',
            `the connection to PostgreSQL at ${pool.display} was lost while ${what} was being committed: it may or may not have taken effect; check before repeating it (${err.message})`,
            { store: pool.display },
          );
        }
        lost = err.lost;
      } else if (err instanceof Repeatable) lost = err.lost;
      else throw err;
    }
    if (pool.ending) throw new SoftlogicError('STORE_CLOSED', `the store was closed while ${what} waited for PostgreSQL at ${pool.display} (${messageOf(lost)})`);
    const waited = Date.now() - started;
    if (waited >= pool.settings.retryMs) {
      throw new SoftlogicError(
        'STORE_UNAVAILABLE',
        `lost the connection to PostgreSQL at ${pool.display} during ${what} and could not get it back in ${Math.round(waited / 100) / 10} s (${messageOf(lost)}); retry once the database is back`,
        { store: pool.display, retry_after_seconds: 5 },
      );
    }
    const backoff = Math.min(1000, 50 * 2 ** n) * (0.5 + Math.random() / 2);
    await sleep(Math.min(backoff, pool.settings.retryMs - waited + 1));
  }
}

/**
 * The store's pool: pg.Pool whose `connect` and `query` survive lost connections as described
 * above, with a bounded wait for a free connection. Every part of the backend that takes a
 * `pg.Pool` gets one of these.
 */
export class StorePool extends pg.Pool {
  constructor(
    readonly display: string,
    readonly settings: Required<PoolOptions>,
    config: pg.PoolConfig,
  ) {
    super({ ...config, max: settings.max, connectionTimeoutMillis: settings.acquireTimeoutMs });
    // An idle connection that the server closed (a restart, an administrator) is dropped by the
    // pool and replaced on the next checkout; unhandled, its error would end the process.
    this.on('error', () => undefined);
    // Every connection the pool opens keeps a listener for its own 'error' event, whoever holds
    // it (a checkout by callback, pg-pool's own query path): a session the server ends between two
    // statements fails the next statement, which the retry handles; the event must not end the
    // process (or the processing thread).
    this.on('connect', (client: pg.PoolClient) => {
      client.on('error', () => undefined);
    });
  }

  /** One try at a connection: STORE_BUSY when the pool stays full, Repeatable when the server cannot be reached. */
  async acquireOnce(): Promise<pg.PoolClient> {
    let client: pg.PoolClient;
    try {
      client = await super.connect();
    } catch (err) {
      if (messageOf(err) === POOL_FULL) {
        throw new SoftlogicError(
          'STORE_BUSY',
          `the store is busy: all ${this.settings.max} connections to PostgreSQL at ${this.display} stayed in use for ${this.settings.acquireTimeoutMs} ms; retry shortly`,
          { store: this.display, retry_after_seconds: 1 },
        );
      }
      const code = chain(err).find((e) => typeof e.code === 'string')?.code as string | undefined;
      if (err instanceof SoftlogicError || this.ending || (code !== undefined && PERMANENT_CONNECT(code))) throw err;
      throw new Repeatable(err);
    }
    // A checked-out connection that the server closes between two statements emits 'error'; the
    // next statement fails with it (and is handled here), so the event itself must not end the process.
    const ignore = (): void => undefined;
    client.on('error', ignore);
    const release = client.release.bind(client);
    client.release = (err?: Error | boolean) => {
      client.removeListener('error', ignore);
      release(err);
    };
    return client;
  }

  override connect(): Promise<pg.PoolClient>;
  override connect(callback: (err: Error | undefined, client: pg.PoolClient | undefined, done: (release?: unknown) => void) => void): void;
  override connect(callback?: (err: Error | undefined, client: pg.PoolClient | undefined, done: (release?: unknown) => void) => void): Promise<pg.PoolClient> | void {
    if (callback) return super.connect(callback);
    return retryLost(this, 'connecting', () => this.acquireOnce());
  }

  // The overloads of pg.Pool#query, served by one implementation: a statement given as text with
  // its values, or as a config (a named, prepared statement), is retried as the module comment
  // says and refused with STORE_BUSY when the pool stays full; anything else (a callback, a
  // submittable such as a cursor or COPY stream) is pg's own query.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  override query(text: any, values?: any, callback?: any): any {
    if (typeof values === 'function' || callback !== undefined) return super.query(text, values, callback);
    if (typeof text === 'string') return this.statement({ text, values: values as unknown[] | undefined });
    if (isStatementConfig(text)) return this.statement({ ...text, values: text.values ?? (values as unknown[] | undefined) });
    return super.query(text, values, callback);
  }

  private statement(config: pg.QueryConfig): Promise<pg.QueryResult> {
    const sql = config.text;
    const repeatable = readsOnly(sql);
    return retryLost(this, READ.test(sql) ? 'a read' : 'a write', async () => {
      const client = await this.acquireOnce();
      let lost: unknown;
      try {
        return await client.query(config);
      } catch (err) {
        if (!isConnectionLoss(err)) throw err;
        lost = err;
        if (repeatable || notSent(err)) throw new Repeatable(err);
        throw new OutcomeUnknown(err, undefined);
      } finally {
        client.release(lost === undefined ? undefined : true);
      }
    });
  }

  /** Whether the database answers now, within `timeoutMs` (no retry): for a readiness check. */
  async ping(timeoutMs: number): Promise<void> {
    const answer = (async () => {
      const client = await this.acquireOnce();
      try {
        await client.query('SELECT 1');
        client.release();
      } catch (err) {
        client.release(true);
        throw err;
      }
    })();
    // Late (after the timeout), its outcome is nobody's business.
    answer.catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([answer, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs)))]);
    } catch (err) {
      if (err instanceof SoftlogicError) throw err;
      if (this.totalCount >= this.settings.max && this.idleCount === 0) {
        throw new SoftlogicError('STORE_BUSY', `the store is busy: all ${this.settings.max} connections to PostgreSQL at ${this.display} are in use; retry shortly`, {
          store: this.display,
          retry_after_seconds: 1,
        });
      }
      const cause = err instanceof Repeatable ? err.lost : err;
      throw new SoftlogicError('STORE_UNAVAILABLE', `PostgreSQL at ${this.display} cannot be reached (${messageOf(cause)})`, { store: this.display, retry_after_seconds: 5 });
    } finally {
      clearTimeout(timer);
    }
  }
}

export function createPool(location: PostgresLocation, options: PoolOptions = {}): StorePool {
  return new StorePool(location.display, poolSettings(location, options), {
    connectionString: location.connectionString,
    options: `-c search_path=${location.schema}`,
    application_name: 'softlogic',
    types,
  });
}

/**
 * Runs `fn` on one connection of its own, all of it again on a new connection if this one is lost
 * (`fn` must be safe to repeat: reads, or work that is its own transaction and idempotent, such
 * as a migration), within the pool's retry time. `first`: a connection the caller already checked
 * out of this pool, used for the first attempt (and released as any other).
 */
export async function withConnection<T>(pool: pg.Pool, what: string, fn: (client: pg.PoolClient) => Promise<T>, first?: pg.PoolClient): Promise<T> {
  if (!(pool instanceof StorePool)) throw new SoftlogicError('INTERNAL', 'withConnection needs the pool createPool made');
  let given = first;
  return retryLost(pool, what, async () => {
    const client = given ?? (await pool.acquireOnce());
    given = undefined;
    let lost = false;
    try {
      return await fn(client);
    } catch (err) {
      if (!isConnectionLoss(err)) throw err;
      lost = true;
      throw new Repeatable(err);
    } finally {
      client.release(lost ? true : undefined);
    }
  });
}

export interface TransactionOptions {
  /** the statement that opens it (default BEGIN) */
  begin?: string;
  /**
   * After a COMMIT whose answer was lost: whether it took effect, read on a new connection
   * (true: the transaction's result stands; false: it is run again; undefined: OUTCOME_UNKNOWN).
   * Without it such a COMMIT is OUTCOME_UNKNOWN.
   */
  committed?: () => Promise<boolean | undefined>;
  /** runs after each failed attempt (to forget what a rolled-back transaction taught a cache) */
  onFailure?: () => void;
}

/**
 * Runs fn inside BEGIN ... COMMIT on one pooled connection (ROLLBACK when it throws). A lost
 * connection before COMMIT runs the whole transaction again, `fn` included, on a new connection:
 * `fn` must keep its effects inside the transaction and its result.
 */
export async function inTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>, beginOrOptions: string | TransactionOptions = 'BEGIN'): Promise<T> {
  const options = typeof beginOrOptions === 'string' ? { begin: beginOrOptions } : beginOrOptions;
  if (!(pool instanceof StorePool)) throw new SoftlogicError('INTERNAL', 'inTransaction needs the pool createPool made');
  return retryLost(
    pool,
    'a transaction',
    async () => {
      const client = await pool.acquireOnce();
      let lost: unknown;
      try {
        let result: T;
        try {
          await client.query(options.begin ?? 'BEGIN');
          result = await fn(client);
        } catch (err) {
          if (!isConnectionLoss(err)) {
            await client.query('ROLLBACK').catch(() => undefined);
            throw err;
          }
          // COMMIT was not sent: the server rolls the transaction back (or already has).
          lost = err;
          throw new Repeatable(err);
        }
        try {
          await client.query('COMMIT');
        } catch (err) {
          if (!isConnectionLoss(err)) throw err;
          lost = err;
          throw notSent(err) ? new Repeatable(err) : new OutcomeUnknown(err, result);
        }
        return result;
      } catch (err) {
        options.onFailure?.();
        throw err;
      } finally {
        client.release(lost === undefined ? undefined : true);
      }
    },
    options.committed,
  );
}

/** A statement given as a config object (text, values, maybe a name), not a submittable. */
function isStatementConfig(value: unknown): value is pg.QueryConfig {
  if (typeof value !== 'object' || value === null) return false;
  const config = value as { text?: unknown; submit?: unknown };
  return typeof config.text === 'string' && typeof config.submit !== 'function';
}
