/**
 * PostgreSQL for tests: one fresh database per test process (`softlogic_test_<pid>_<random>`),
 * created on the machine's server and dropped when the file's tests end; each store inside it is
 * its own PostgreSQL schema (`?schema=`), so a test gets an empty store without a CREATE DATABASE.
 *
 * With CI=true a server that cannot be reached fails the run (the PostgreSQL backend is part of
 * what CI checks; a silent skip would hide it). Elsewhere the tests are skipped with the reason.
 */
import { after } from 'node:test';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store } from '../src/api/store.js';
import type { FreshStore } from './conformance/workflows.js';

/** The server and an existing database to connect to for CREATE/DROP DATABASE. */
export const PG_SERVER_URL = process.env.SOFTLOGIC_TEST_PG_URL ?? 'postgres://root@127.0.0.1:5432/test';
const DATABASE_PREFIX = 'softlogic_test_';

export interface PgTestDatabase {
  /** the database's URL (no schema: the store lands in `public`) */
  readonly url: string;
  readonly name: string;
  /** a URL to an empty store of its own, in a new schema of this database */
  freshStoreUrl(): string;
  /** runs `close` after the file's tests, before the database is dropped (open pools, stores) */
  defer(close: () => Promise<void>): void;
}

function withDatabase(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

async function admin<T>(serverUrl: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: serverUrl, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Databases of test processes that were killed before their clean-up (only ours: the prefix). */
async function dropOrphans(client: pg.Client): Promise<void> {
  const { rows } = await client.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE $1`, [`${DATABASE_PREFIX}%`]);
  for (const { datname } of rows) {
    const pid = Number(/^softlogic_test_(\d+)_[0-9a-f]+$/.exec(datname)?.[1]);
    if (Number.isInteger(pid) && pid !== process.pid && !processAlive(pid)) await client.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
  }
}

/**
 * Creates this process's test database and registers its drop after the file's tests. Returns
 * the database, or (outside CI only) the reason the PostgreSQL tests are skipped.
 */
export async function usePostgres(serverUrl = PG_SERVER_URL): Promise<PgTestDatabase | { skip: string }> {
  const name = `${DATABASE_PREFIX}${process.pid}_${randomBytes(4).toString('hex')}`;
  try {
    await admin(serverUrl, async (client) => {
      await dropOrphans(client);
      await client.query(`CREATE DATABASE "${name}"`);
    });
  } catch (err) {
    const reason = `PostgreSQL at ${serverUrl} cannot be reached (${(err as Error).message}); start it with scripts/start-postgres.sh`;
    if (process.env.CI === 'true') throw new Error(`${reason}. CI=true: the PostgreSQL tests must run, so this fails the run`, { cause: err });
    return { skip: reason };
  }
  const closers: Array<() => Promise<void>> = [];
  after(async () => {
    for (const close of closers.splice(0)) await close();
    await admin(serverUrl, (client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
  });
  const url = withDatabase(serverUrl, name);
  let stores = 0;
  return {
    url,
    name,
    freshStoreUrl: () => {
      const store = new URL(url);
      store.searchParams.set('schema', `store_${++stores}_${randomBytes(3).toString('hex')}`);
      return store.toString();
    },
    defer: (close) => closers.push(close),
  };
}

/**
 * Runs this test process in a scratch directory, removed after its tests: a PostgreSQL store keeps
 * the local files an operation leaves (an import's rejects) under ./softlogic-work of the current
 * directory, which must not be the repository.
 */
export function inScratchDirectory(): string {
  const dir = mkdtempSync(join(tmpdir(), 'softlogic-pg-cwd-'));
  const previous = process.cwd();
  process.chdir(dir);
  after(() => {
    process.chdir(previous);
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

/**
 * A fresh, empty PostgreSQL store for the conformance suites (test/conformance/workflows.ts's
 * FreshStore): its own schema of `db`. `restoreInto(file)` restores a backup of either backend
 * (`softlogic restore FILE --store postgres://...`) into another new schema and opens it.
 */
export async function freshPostgresStore(db: PgTestDatabase): Promise<FreshStore> {
  const open = async (store: Store): Promise<FreshStore> => ({
    store,
    close: () => store.close(),
    restoreInto: async (file) => {
      const target = db.freshStoreUrl();
      await Store.restore(file, target);
      return open(await Store.open(target));
    },
  });
  return open(await Store.init(db.freshStoreUrl()));
}
