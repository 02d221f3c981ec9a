import type pg from 'pg';
import { join } from 'node:path';
import { SoftlogicError } from '../../core/errors.js';
import { SERVER_WORK_DIR, type BackupOptions, type BackupResult, type CompactionReport, type ContextVerification, type Leftover, type Maintenance, type RebuildReport, type StoreStats, type VerifyIssue, type VerifyReport } from '../maintenance.js';
import { writePortableBackup } from '../portable-backup.js';
import { inTransaction, REPEATABLE, type PostgresLocation } from './postgres-connection.js';
import type { PostgresContexts } from './postgres-contexts.js';
import { snapshotPostgres } from './postgres-portable.js';
import { bumpGeneration, compactedKey } from './postgres-schema.js';
import type { PostgresAuditTrail } from './postgres-audit-trail.js';
import { dropRestoreStaging, restoreStagingLeftovers } from './postgres-restore-staging.js';
import { fileTimestamp } from '../../core/file-stamp.js';

/** An operation over the embedded store's own files, which a PostgreSQL store does not have. */
function embeddedOnly(operation: string, why: string): Promise<never> {
  return Promise.reject(new SoftlogicError('INVALID_INPUT', `${operation} is for the embedded backend only: ${why}`, { operation, backend: 'postgres' }));
}

/** Every version of one context (both tables), as one relation with a kind column. */
const VERSIONS = `(SELECT 'analogy'::text AS kind, id, version, seq, op, prev, current, deleted_at, body FROM analogies WHERE ctx = $1
  UNION ALL SELECT kind, id, version, seq, op, prev, current, deleted_at, body FROM entities WHERE ctx = $1)`;

/** A digest of records: kind, id and the MD5 of the body of each, in (kind, id) order. */
const DIGEST = `encode(sha256(convert_to(coalesce(string_agg(kind || ' ' || id || ' ' || md5(body::text), ',' ORDER BY kind, id), ''), 'UTF8')), 'hex')`;

/** At most this many issues of one check per context (the first ones tell what is wrong). */
const ISSUES_PER_CHECK = 20;

/**
 * Maintenance of a PostgreSQL store. The version rows are at once the change log and the current
 * state (the `current` flag), so:
 *  - backup: a portable backup (portable-backup.ts) of one REPEATABLE READ snapshot, restorable
 *    into either backend;
 *  - verify: the change log against itself and the current rows (every version's prev pointing
 *    at its version - 1, op agreeing with the tombstone, exactly one current row per record and
 *    that the last version, the query columns agreeing with the body, counts and a content digest
 *    of the last versions against the current rows);
 *  - compact: one context's superseded versions and tombstones dropped (tombstones remembered as
 *    purged); the kept rows still name the seq they superseded, up to a mark kept in meta;
 *  - stats: counts from the current rows, sizes from pg_total_relation_size;
 *  - rebuild: refused (there is no derived index to rebuild: the rows are the record).
 * Its leftovers are staged items no workflow row names (a staging that died before its row).
 */
export class PostgresMaintenance implements Maintenance {
  constructor(
    private readonly pool: pg.Pool,
    private readonly where: PostgresLocation,
    private readonly contexts: PostgresContexts,
    private readonly audit: PostgresAuditTrail,
  ) {}

  async backup(options: BackupOptions = {}): Promise<BackupResult> {
    const t0 = performance.now();
    const out = options.out ?? join(process.cwd(), SERVER_WORK_DIR, 'backups', `backup-${fileTimestamp()}.slbak`);
    const snapshot = await snapshotPostgres(this.pool, this.where.display);
    let written: Awaited<ReturnType<typeof writePortableBackup>>;
    try {
      written = await writePortableBackup(snapshot, out);
    } finally {
      await snapshot.close();
    }
    await this.audit.record({ event: 'backup_created', file: written.file, bytes: written.bytes, contexts: written.contexts.length });
    return { ...written, seconds: (performance.now() - t0) / 1000, attempts: 1 };
  }

  async verify(): Promise<VerifyReport> {
    return inTransaction(
      this.pool,
      async (client) => {
        const issues: VerifyIssue[] = [];
        const contexts: ContextVerification[] = [];
        const { rows } = await client.query<{ ctx: number; name: string }>('SELECT ctx, name FROM contexts ORDER BY name');
        for (const { ctx, name } of rows) contexts.push(await verifyContext(client, ctx, name, issues));
        return { valid: issues.length === 0, issues, contexts, leftovers: [] };
      },
      'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY',
    );
  }

  async compact(context: string): Promise<CompactionReport> {
    const ctx = await this.contexts.requireRow(context);
    const report = await inTransaction(this.pool, async (client) => {
      // One compaction of a context at a time, and no writer of it meanwhile.
      await client.query('LOCK TABLE analogies, entities IN SHARE ROW EXCLUSIVE MODE');
      const before = await sizeOf(client, ctx.ctx);
      const now = new Date().toISOString();
      for (const t of [
        { table: 'analogies', kind: `'analogy'::text AS kind`, match: 'd.id = t.id' },
        { table: 'entities', kind: 'kind', match: 'd.kind = t.kind AND d.id = t.id' },
      ]) {
        // Tombstones: remembered as purged (a restore then answers PURGED), every version dropped.
        await client.query(
          `WITH dead AS (SELECT ${t.kind}, id FROM ${t.table} WHERE ctx = $1 AND current AND deleted_at IS NOT NULL),
           remembered AS (INSERT INTO purged(ctx, kind, id, purged_at) SELECT $1, kind, id, $2 FROM dead ON CONFLICT DO NOTHING)
           DELETE FROM ${t.table} t USING dead d WHERE t.ctx = $1 AND ${t.match}`,
          [ctx.ctx, now],
        );
        await client.query(`DELETE FROM ${t.table} WHERE ctx = $1 AND NOT current`, [ctx.ctx]);
      }
      // Kept versions still name the seq they superseded (a rollback across it is refused as
      // incomplete); verify accepts such a pointer up to this mark.
      await client.query(
        `INSERT INTO meta(key, value) SELECT $1, coalesce(max(seq), 0)::text FROM (SELECT seq FROM analogies WHERE ctx = $2 UNION ALL SELECT seq FROM entities WHERE ctx = $2) s
         ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
        [compactedKey(ctx.ctx), ctx.ctx],
      );
      const after = await sizeOf(client, ctx.ctx);
      await client.query('UPDATE contexts SET mark = mark + 1 WHERE ctx = $1', [ctx.ctx]);
      await bumpGeneration(client);
      return {
        context: ctx.name,
        records_removed: before.rows - after.rows,
        active_records: after.rows,
        lines_before: before.rows,
        bytes_before: before.bytes,
        bytes_after: after.bytes,
      };
    });
    await this.audit.record({ event: 'compacted', context: ctx.name, records_removed: report.records_removed, active_records: report.active_records });
    return report;
  }

  rebuild(): Promise<RebuildReport> {
    return embeddedOnly('rebuild', "it recreates the embedded store's SQLite index from its logs; a PostgreSQL store's version rows are the record and its index, there is nothing to rebuild");
  }

  async stats(): Promise<StoreStats> {
    const { rows: ctxRows } = await this.pool.query<{ ctx: number; name: string; parent: string | null }>('SELECT ctx, name, parent FROM contexts ORDER BY name');
    const { rows: counts } = await this.pool.query<{ ctx: number; kind: string; active: number; deleted: number; bytes: number }>(
      `SELECT ctx, 'analogy' AS kind, count(*) FILTER (WHERE current AND deleted_at IS NULL)::int AS active, count(*) FILTER (WHERE current AND deleted_at IS NOT NULL)::int AS deleted, sum(pg_column_size(a.*))::bigint AS bytes FROM analogies a GROUP BY ctx
       UNION ALL SELECT ctx, kind, count(*) FILTER (WHERE current AND deleted_at IS NULL)::int, count(*) FILTER (WHERE current AND deleted_at IS NOT NULL)::int, sum(pg_column_size(e.*))::bigint FROM entities e GROUP BY ctx, kind`,
    );
    const contexts = ctxRows.map((c) => {
      const mine = counts.filter((r) => r.ctx === c.ctx);
      const analogies = mine.find((r) => r.kind === 'analogy');
      const entities: Record<string, { active: number; deleted: number }> = {};
      for (const r of mine) if (r.kind !== 'analogy') entities[r.kind] = { active: r.active, deleted: r.deleted };
      return {
        context: c.name,
        parent: c.parent,
        analogies: { active: analogies?.active ?? 0, deleted: analogies?.deleted ?? 0 },
        entities,
        log_bytes: mine.reduce((s, r) => s + Number(r.bytes ?? 0), 0),
      };
    });
    const workflows: Record<string, number> = {};
    for (const w of (await this.pool.query<{ status: string; n: number }>('SELECT status, count(*)::int AS n FROM workflows GROUP BY status')).rows) workflows[w.status] = w.n;
    const files: Record<string, number> = {};
    const { rows: tables } = await this.pool.query<{ name: string; bytes: number }>(
      `SELECT c.relname AS name, pg_total_relation_size(c.oid) AS bytes FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') ORDER BY c.relname`,
      [this.where.schema],
    );
    for (const t of tables) files[t.name] = Number(t.bytes);
    return { store: this.where.display, contexts, workflows, files, total_bytes: Object.values(files).reduce((s, n) => s + n, 0), leftovers: await this.leftovers() };
  }

  /**
   * Staged items no workflow row names: a staging that died (a replica killed, a connection lost
   * for longer than retry_ms) before it inserted its workflow. Removable once nothing has been
   * staged under that id for STAGED_GRACE_SECONDS, as the embedded store's staged files are. And
   * the staging schemas of restores into this schema, removable once their restore is gone
   * (postgres-restore-staging.ts).
   */
  async leftovers(): Promise<Leftover[]> {
    return [...(await this.orphanStagedItems()), ...(await restoreStagingLeftovers(this.pool, this.where.schema))];
  }

  private async orphanStagedItems(): Promise<Leftover[]> {
    const { rows } = await this.pool.query<{ workflow_id: string; bytes: number; removable: boolean }>(
      `SELECT s.workflow_id, sum(octet_length(s.data))::bigint AS bytes, max(s.staged_at) < now() - make_interval(secs => $1) AS removable
       FROM staged_pages s WHERE NOT EXISTS (SELECT 1 FROM workflows w WHERE w.workflow_id = s.workflow_id)
       GROUP BY s.workflow_id ORDER BY s.workflow_id`,
      [STAGED_GRACE_SECONDS],
    );
    return rows.map((r) => ({ kind: 'staged_orphan', path: `staged_pages/${r.workflow_id}`, bytes: Number(r.bytes), owner_pid: null, removable: r.removable }));
  }

  /**
   * `softlogic doctor`: removes the removable orphan staged items, checked again in the DELETE
   * itself (a staging may have gone on meanwhile), and the staging schemas of restores that are gone.
   */
  async removeLeftovers(): Promise<Leftover[]> {
    const removed: Leftover[] = [];
    for (const l of await restoreStagingLeftovers(this.pool, this.where.schema)) if (l.removable && (await dropRestoreStaging(this.pool, l))) removed.push(l);
    removed.push(...(await this.removeOrphanStagedItems()));
    if (removed.length > 0) await this.audit.record({ event: 'leftovers_removed', leftovers: removed });
    return removed;
  }

  private async removeOrphanStagedItems(): Promise<Leftover[]> {
    const removable = (await this.orphanStagedItems()).filter((l) => l.removable);
    if (removable.length === 0) return [];
    const { rows } = await this.pool.query<{ workflow_id: string }>(
      `${REPEATABLE}DELETE FROM staged_pages s WHERE s.workflow_id = ANY($1::text[])
         AND NOT EXISTS (SELECT 1 FROM workflows w WHERE w.workflow_id = s.workflow_id)
         AND NOT EXISTS (SELECT 1 FROM staged_pages t WHERE t.workflow_id = s.workflow_id AND t.staged_at >= now() - make_interval(secs => $2))
       RETURNING s.workflow_id`,
      [removable.map((l) => l.path.slice('staged_pages/'.length)), STAGED_GRACE_SECONDS],
    );
    const gone = new Set(rows.map((r) => r.workflow_id));
    return removable.filter((l) => gone.has(l.path.slice('staged_pages/'.length)));
  }
}

/** How long staged items with no workflow row are left alone (a staging in progress writes them before its row). */
export const STAGED_GRACE_SECONDS = 10 * 60;

async function sizeOf(client: pg.ClientBase, ctx: number): Promise<{ rows: number; bytes: number }> {
  const { rows } = await client.query<{ rows: number; bytes: number }>(
    `SELECT count(*)::int AS rows, coalesce(sum(s), 0)::bigint AS bytes FROM (SELECT pg_column_size(a.*) AS s FROM analogies a WHERE ctx = $1 UNION ALL SELECT pg_column_size(e.*) FROM entities e WHERE ctx = $1) x`,
    [ctx],
  );
  return { rows: rows[0]?.rows ?? 0, bytes: Number(rows[0]?.bytes ?? 0) };
}

/** The checks of one context; problems are pushed to `issues`. */
async function verifyContext(client: pg.ClientBase, ctx: number, context: string, issues: VerifyIssue[]): Promise<ContextVerification> {
  const q = async <T extends pg.QueryResultRow>(sql: string): Promise<T[]> => (await client.query<T>(`WITH v AS MATERIALIZED ${VERSIONS} ${sql}`, [ctx])).rows;
  const add = (check: VerifyIssue['check'], message: string) => issues.push({ context, check, message });
  const mark = (await client.query<{ value: string }>('SELECT value FROM meta WHERE key = $1', [compactedKey(ctx)])).rows[0];
  const compacted = Number(mark?.value ?? 0);
  // The change log: each version's prev is the seq of the same record's previous version (or of
  // one a compaction dropped, at or below its mark).
  for (const r of await q<{ kind: string; id: string; version: number; prev: number; found: number | null }>(
    `SELECT a.kind, a.id, a.version, a.prev, b.version AS found FROM v a LEFT JOIN v b ON b.kind = a.kind AND b.id = a.id AND b.seq = a.prev
     WHERE a.prev IS NOT NULL AND ((b.seq IS NULL AND a.prev > ${compacted}) OR b.version <> a.version - 1) ORDER BY a.seq LIMIT ${ISSUES_PER_CHECK}`,
  )) {
    add('log_structure', r.found === null ? `${r.kind} ${r.id}: version ${r.version} follows seq ${r.prev}, which is missing (a version of its history is gone)` : `${r.kind} ${r.id}: version ${r.version} follows version ${r.found}, not ${r.version - 1}`);
  }
  for (const r of await q<{ kind: string; id: string; version: number; op: string }>(`SELECT kind, id, version, op FROM v WHERE (op = 'delete') <> (deleted_at IS NOT NULL) ORDER BY seq LIMIT ${ISSUES_PER_CHECK}`)) {
    add('log_structure', `${r.kind} ${r.id}: version ${r.version} is a '${r.op}' but ${r.op === 'delete' ? 'is not' : 'is'} marked deleted`);
  }
  // The current rows: one per record, its last version.
  for (const r of await q<{ kind: string; id: string; currents: number; last: number; cur: number | null }>(
    `SELECT kind, id, count(*) FILTER (WHERE current)::int AS currents, max(version) AS last, max(version) FILTER (WHERE current) AS cur FROM v GROUP BY kind, id
     HAVING count(*) FILTER (WHERE current) <> 1 OR max(version) FILTER (WHERE current) <> max(version) ORDER BY kind, id LIMIT ${ISSUES_PER_CHECK}`,
  )) {
    if (r.currents !== 1) add('count_mismatch', `${r.kind} ${r.id} has ${r.currents} current rows (one expected)`);
    else add('content_mismatch', `${r.kind} ${r.id}: the current row is version ${r.cur}, its last version is ${r.last}`);
  }
  // The query columns of current rows against their body.
  for (const r of (
    await client.query<{ kind: string; id: string }>(
      `SELECT 'analogy' AS kind, id FROM analogies WHERE ctx = $1 AND current AND (source_domain IS DISTINCT FROM body->>'source_domain' OR target_domain IS DISTINCT FROM body->>'target_domain'
         OR quality IS DISTINCT FROM (body->>'quality_score')::float8 OR deleted_at IS DISTINCT FROM body->>'deleted_at')
       UNION ALL SELECT kind, id FROM entities WHERE ctx = $1 AND current AND (deleted_at IS DISTINCT FROM body->>'deleted_at' OR (json_typeof(body->'name') = 'string' AND name IS DISTINCT FROM body->>'name'))
       LIMIT ${ISSUES_PER_CHECK}`,
      [ctx],
    )
  ).rows) {
    add('content_mismatch', `${r.kind} ${r.id}: the current row's query columns differ from its record`);
  }
  const [totals] = await q<{ lines: number; active_log: number; hash_log: string; active_index: number; hash_index: string }>(
    `, last AS (SELECT DISTINCT ON (kind, id) kind, id, deleted_at, body FROM v ORDER BY kind, id, version DESC)
     SELECT (SELECT count(*)::int FROM v) AS lines,
       (SELECT count(*)::int FROM last WHERE deleted_at IS NULL) AS active_log, (SELECT ${DIGEST} FROM last WHERE deleted_at IS NULL) AS hash_log,
       (SELECT count(*)::int FROM v WHERE current AND deleted_at IS NULL) AS active_index, (SELECT ${DIGEST} FROM v WHERE current AND deleted_at IS NULL) AS hash_index`,
  );
  const t = totals as NonNullable<typeof totals>;
  if (t.active_log !== t.active_index) add('count_mismatch', `${t.active_log} active records by their last versions, ${t.active_index} active current rows`);
  else if (t.hash_log !== t.hash_index) add('content_mismatch', 'the content digest of the last versions differs from that of the current rows');
  return { context, log_lines: t.lines, active_in_log: t.active_log, active_in_index: t.active_index, content_hash_log: t.hash_log, content_hash_index: t.hash_index };
}
