import type pg from 'pg';
import { SoftlogicError } from '../../core/errors.js';
import type { Leftover } from '../maintenance.js';

/**
 * The staging schema of a restore into PostgreSQL (`<schema>_restoring_<pid>`, beside the store's)
 * and how a killed restore's is told from a running one's: a restore holds a session advisory lock
 * named after its staging schema while it loads and renames (the server releases it when the
 * session ends, whichever machine the restore ran on, whatever killed it). A staging schema whose
 * lock nobody holds belongs to a restore that is gone: `doctor` and the service's sweep drop it.
 */

/** The first key of the lock (ASCII 'slrs'); the second is the hash of the staging schema's name. */
const LOCK_CLASS = 0x736c7273;

function prefixOf(schema: string): string {
  return `${schema.slice(0, 36)}_restoring_`;
}

export function stagingSchema(schema: string, pid = process.pid): string {
  return `${prefixOf(schema)}${pid}`;
}

/** Takes the staging schema's lock for this session, or refuses: another restore (same pid, another machine) loads into it. */
export async function claimStaging(client: pg.ClientBase, staging: string, store: string): Promise<void> {
  const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1::int, hashtext($2)) AS ok', [LOCK_CLASS, staging]);
  if (!rows[0]?.ok) throw new SoftlogicError('STORE_BUSY', `another restore is loading into schema '${staging}' of ${store}`, { store, schema: staging });
}

export async function releaseStaging(client: pg.ClientBase, staging: string): Promise<void> {
  await client.query('SELECT pg_advisory_unlock($1::int, hashtext($2))', [LOCK_CLASS, staging]);
}

/** The restore staging schemas beside the store's, each removable when no session holds its lock. */
export async function restoreStagingLeftovers(pool: pg.Pool, schema: string): Promise<Leftover[]> {
  const prefix = prefixOf(schema);
  const { rows } = await pool.query<{ name: string; bytes: string; held: boolean }>(
    `SELECT n.nspname AS name,
            (SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c WHERE c.relnamespace = n.oid AND c.relkind = 'r')::bigint AS bytes,
            EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
                      AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                      AND l.classid = $2::int::oid AND l.objid = hashtext(n.nspname::text)::oid) AS held
     FROM pg_namespace n WHERE left(n.nspname, length($1)) = $1 AND substr(n.nspname, length($1) + 1) ~ '^[0-9]+$' ORDER BY n.nspname`,
    [prefix, LOCK_CLASS],
  );
  return rows.map((r) => ({ kind: 'restore_staging', path: `../${r.name}`, bytes: Number(r.bytes), owner_pid: Number(r.name.slice(prefix.length)), removable: !r.held }));
}

/** Drops a staging schema if its lock is free (taken for the drop, so a restore cannot start into it meanwhile); whether it went. */
export async function dropRestoreStaging(pool: pg.Pool, leftover: Leftover): Promise<boolean> {
  const staging = leftover.path.slice('../'.length);
  const client = await pool.connect();
  try {
    const { rows } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1::int, hashtext($2)) AS ok', [LOCK_CLASS, staging]);
    if (!rows[0]?.ok) return false;
    try {
      await client.query(`DROP SCHEMA IF EXISTS "${staging.replaceAll('"', '""')}" CASCADE`);
      return true;
    } finally {
      await releaseStaging(client, staging);
    }
  } finally {
    client.release();
  }
}
