import type pg from 'pg';
import { SoftlogicError } from '../../core/errors.js';
import type { RecordKind } from '../../core/records.js';
import type { AuditEntry } from '../audit-trail.js';
import type { RestoreResult } from '../maintenance.js';
import { parentsFirst, type LoadPortable, type PortableContext, type PortableSnapshot, type PortableVersion } from '../portable.js';
import { assertRestoredCounts } from '../portable-backup.js';
import type { StoredWorkflow } from '../workflow-table.js';
import type { VectorSettings } from '../vector-table.js';
import { createPool, parsePostgresUrl, type PostgresLocation } from './postgres-connection.js';
import { copyRows } from './postgres-copy.js';
import { cursorPages } from './postgres-cursor.js';
import { compactedKey, migrate, readGeneration, schemaVersion } from './postgres-schema.js';
import { COPY_ANALOGIES, COPY_ENTITIES, versionCopyLine } from './postgres-write-batch.js';
import { conceptVectorRow, writeConceptVectors, type ConceptVectorRow } from './postgres-vector-table.js';
import { WORKFLOW_COLUMNS } from './postgres-workflow-table.js';
import { pageItems, readStagedPages } from './postgres-staging.js';
import { PostgresBackend } from './postgres-backend.js';
import { claimStaging, releaseStaging, stagingSchema } from './postgres-restore-staging.js';

const PAGE = 5000;

/** Rows of `sql` in pages through a cursor of the snapshot's transaction (one cursor at a time). */
function snapshotPages<T>(client: pg.ClientBase, sql: string, params: unknown[]): AsyncIterable<T[]> {
  return cursorPages<T>(client, sql, params, { name: 'portable_rows', pageSize: PAGE });
}

/**
 * The store as one consistent snapshot: a REPEATABLE READ, READ ONLY transaction on a connection
 * of its own, held until `close`, so writers go on and none of their later commits is seen.
 * Versions come in seq order (the change log's), each with the workflow whose batch wrote it
 * (workflow_changes).
 */
export async function snapshotPostgres(pool: pg.Pool, source: string): Promise<PortableSnapshot> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    // The versions are read in seq order: sorted in memory rather than in temporary files.
    await client.query(`SET LOCAL work_mem = '256MB'`);
    const { rows: ctxRows } = await client.query<PortableContext & { ctx: number; provider: VectorSettings['provider'] | null; dimension: number | null }>(
      `SELECT c.ctx, c.name, c.parent, c.description, c.created_at, v.provider, v.dimension FROM contexts c LEFT JOIN vector_settings v ON v.ctx = c.ctx ORDER BY c.name`,
    );
    const { rows: purgedRows } = await client.query<{ ctx: number; kind: RecordKind; id: string; purged_at: string }>('SELECT ctx, kind, id, purged_at FROM purged ORDER BY ctx, kind, id');
    const ctxOf = new Map<string, number>();
    const contexts: PortableContext[] = ctxRows.map((r) => {
      ctxOf.set(r.name, r.ctx);
      return {
        name: r.name,
        parent: r.parent,
        description: r.description,
        created_at: r.created_at,
        purged: purgedRows.filter((p) => p.ctx === r.ctx).map((p) => ({ kind: p.kind, id: p.id, purged_at: p.purged_at })),
        vector_settings: r.provider ? { provider: r.provider, dimension: r.dimension as number } : null,
      };
    });
    const { rows: workflows } = await client.query<StoredWorkflow>(`SELECT ${WORKFLOW_COLUMNS} FROM workflows ORDER BY seqno`);
    for (const w of workflows) w.owner_pid = null;
    let closed = false;
    return {
      backend: 'postgres',
      source,
      contexts: parentsFirst(contexts),
      workflows,
      async *versions(context) {
        const ctx = ctxOf.get(context);
        if (ctx === undefined) return;
        const sql = `SELECT v.kind, v.id, v.version, v.op, w.workflow_id, v.deleted_at IS NOT NULL AS deleted, v.body::text AS json FROM (
            SELECT 'analogy' AS kind, id, version, op, seq, deleted_at, body FROM analogies WHERE ctx = $1
            UNION ALL SELECT kind, id, version, op, seq, deleted_at, body FROM entities WHERE ctx = $1) v
          LEFT JOIN (SELECT DISTINCT ON (u.seq) c.workflow_id, u.seq FROM workflow_changes c, unnest(c.seqs) AS u(seq) WHERE c.ctx = $1) w ON w.seq = v.seq
          ORDER BY v.seq`;
        yield* snapshotPages<PortableVersion>(client, sql, [ctx]);
      },
      async *staged(workflowId) {
        for await (const page of readStagedPages(client, workflowId, 0)) yield pageItems(page);
      },
      async files(context) {
        const { rows } = await client.query<{ name: string; content: Buffer }>('SELECT name, content FROM context_files WHERE ctx = $1 ORDER BY name', [ctxOf.get(context) ?? -1]);
        return rows.map((r) => ({ name: r.name, data: r.content }));
      },
      async *audit() {
        for await (const rows of snapshotPages<{ entry: AuditEntry }>(client, 'SELECT entry FROM audit ORDER BY seq', [])) yield rows.map((r) => r.entry);
      },
      async close() {
        if (closed) return;
        closed = true;
        await client.query('COMMIT').catch(() => undefined);
        client.release();
      },
    };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    client.release();
    throw err;
  }
}

function stamp(): string {
  return new Date().toISOString().replace(/\D/g, '').slice(0, 14);
}

/** The URL of another schema of the same database (the staging schema, the replaced store). */
function schemaUrl(where: PostgresLocation, schema: string): PostgresLocation {
  const url = new URL(where.connectionString);
  url.searchParams.set('schema', schema);
  return parsePostgresUrl(url.toString());
}

async function schemaState(client: pg.ClientBase, schema: string): Promise<'absent' | 'empty' | 'store' | 'other'> {
  const { rows } = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_namespace WHERE nspname = $1`, [schema]);
  if (rows[0]?.n === 0) return 'absent';
  await client.query(`SET search_path TO ${schema}`);
  if ((await schemaVersion(client)) > 0) return 'store';
  const { rows: tables } = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace WHERE s.nspname = $1`, [schema]);
  return tables[0]?.n === 0 ? 'empty' : 'other';
}

/** Every version of one context, COPY'd with its seq, prev and current flag; the journal and the vectors after. */
async function loadContext(client: pg.ClientBase, snapshot: PortableSnapshot, name: string, ctx: number, seq: { next: number }): Promise<void> {
  // First pass: the last version of each record (the current one).
  const lastVersion = new Map<string, number>();
  for await (const page of snapshot.versions(name)) for (const v of page) lastVersion.set(`${v.kind}\u0000${v.id}`, v.version);
  const prevSeq = new Map<string, number>();
  const journal = new Map<string, { workflow: string; kind: RecordKind; ids: string[]; seqs: number[] }>();
  const vectors = new Map<string, ConceptVectorRow>();
  let analogies: string[] = [];
  let entities: string[] = [];
  const flush = async (): Promise<void> => {
    await copyRows(client, COPY_ANALOGIES, analogies);
    await copyRows(client, COPY_ENTITIES, entities);
    analogies = [];
    entities = [];
  };
  // A record whose first version here is not its first had its history compacted at the source:
  // its prev names seq 0 (never a version), below the context's compaction mark, so a rollback
  // that needs the version before is refused as incomplete, as in the source store.
  let compacted = false;
  for await (const page of snapshot.versions(name)) {
    for (const v of page) {
      const key = `${v.kind}\u0000${v.id}`;
      const s = seq.next++;
      if (!prevSeq.has(key) && v.version > 1) {
        prevSeq.set(key, 0);
        compacted = true;
      }
      const current = lastVersion.get(key) === v.version;
      const record = JSON.parse(v.json) as Record<string, unknown>;
      const line = versionCopyLine(ctx, v.kind, { id: v.id, version: v.version, seq: s, op: v.op, prev: prevSeq.get(key) ?? null, current }, record, v.json);
      (v.kind === 'analogy' ? analogies : entities).push(line);
      prevSeq.set(key, s);
      if (v.kind === 'concept' && current) vectors.set(v.id, conceptVectorRow(record, s));
      if (v.workflow_id) {
        const j = `${v.workflow_id}\u0000${v.kind}`;
        let entry = journal.get(j);
        if (!entry) journal.set(j, (entry = { workflow: v.workflow_id, kind: v.kind, ids: [], seqs: [] }));
        entry.ids.push(v.id);
        entry.seqs.push(s);
      }
    }
    if (analogies.length + entities.length >= PAGE) await flush();
  }
  await flush();
  if (compacted) await client.query('INSERT INTO meta(key, value) VALUES ($1, $2)', [compactedKey(ctx), String(seq.next - 1)]);
  await writeConceptVectors(client, ctx, [...vectors.values()]);
  for (const j of journal.values()) {
    await client.query('INSERT INTO workflow_changes(workflow_id, ctx, kind, ids, seqs) VALUES ($1, $2, $3, $4, $5)', [j.workflow, ctx, j.kind, j.ids, j.seqs]);
  }
}

/** Loads the whole snapshot into the (new, migrated) schema the client's search_path names. */
async function loadAll(client: pg.ClientBase, snapshot: PortableSnapshot, generation: number): Promise<void> {
  // The secondary indexes of the version tables are built once after the load (faster than
  // maintained row by row), from their own definitions.
  const { rows: indexes } = await client.query<{ indexname: string; indexdef: string }>(
    `SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename IN ('analogies', 'entities') AND indexname NOT LIKE '%_pkey'`,
  );
  for (const i of indexes) await client.query(`DROP INDEX ${i.indexname}`);
  const seq = { next: 1 };
  for (const c of snapshot.contexts) {
    const { rows } = await client.query<{ ctx: number }>('INSERT INTO contexts(name, parent, description, created_at, mark) VALUES ($1, $2, $3, $4, 1) RETURNING ctx', [c.name, c.parent, c.description, c.created_at]);
    const ctx = rows[0]?.ctx as number;
    await loadContext(client, snapshot, c.name, ctx, seq);
    for (const p of c.purged) await client.query('INSERT INTO purged(ctx, kind, id, purged_at) VALUES ($1, $2, $3, $4)', [ctx, p.kind, p.id, p.purged_at]);
    if (c.vector_settings) await client.query('INSERT INTO vector_settings(ctx, provider, dimension) VALUES ($1, $2, $3)', [ctx, c.vector_settings.provider, c.vector_settings.dimension]);
    for (const f of await snapshot.files(c.name)) await client.query('INSERT INTO context_files(ctx, name, content) VALUES ($1, $2, $3)', [ctx, f.name, f.data]);
  }
  if (seq.next > 1) await client.query(`SELECT setval('change_seq', $1)`, [seq.next - 1]);
  for (const i of indexes) await client.query(i.indexdef);
  for (const w of snapshot.workflows) {
    await client.query(
      `INSERT INTO workflows(${WORKFLOW_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, NULL)`,
      [w.workflow_id, w.workflow_type, w.status, w.context, w.created_at, w.updated_at, w.items_total, w.items_processed, w.error_count, JSON.stringify(w.metadata), JSON.stringify(w.error_log), w.error_log_omitted ?? 0, w.staged_crc, w.cancel_requested === true],
    );
    let item = 0;
    for await (const page of snapshot.staged(w.workflow_id)) {
      const data = page.map((json) => `${json}\n`).join('');
      await client.query('INSERT INTO staged_pages(workflow_id, first_item, count, data) VALUES ($1, $2, $3, $4)', [w.workflow_id, item, page.length, data]);
      item += page.length;
    }
  }
  for await (const page of snapshot.audit()) {
    // Entries keep their time; one without (never written so) is stamped now.
    await client.query(`INSERT INTO audit(at, entry) SELECT coalesce((e->>'time')::timestamptz, now()), e FROM unnest($1::text[]) AS t(j), LATERAL (SELECT j::json AS e) x`, [page.map((e) => JSON.stringify(e))]);
  }
  await client.query(`UPDATE meta SET value = $1 WHERE key = 'generation'`, [String(generation)]);
}

/**
 * Restores a snapshot (a portable backup, or an embedded backup read as one) into the schema
 * the URL names. It is loaded into a staging schema of the same database first
 * (`<schema>_restoring_<pid>`), then put in place by renaming schemas in one transaction: into an
 * absent or empty schema, or, with `force`, over an existing store, which is renamed aside to
 * `<schema>_old_<timestamp>` (dropped by hand once not needed). The new store's generation is the
 * old one's plus one, so replicas that cached the old one notice. Its counts are then checked
 * against the backup's (and `verify` run with --force or --verify); on a failure the old store is
 * put back.
 */
export const loadPostgres: LoadPortable = async (snapshot, url, options) => {
  const t0 = performance.now();
  const where = parsePostgresUrl(url);
  const staging = stagingSchema(where.schema);
  const admin = createPool(where, { max: 1 });
  let aside: string | null = null;
  try {
    const client = await admin.connect().catch((err: Error) => {
      throw new SoftlogicError('STORE_NOT_FOUND', `cannot connect to PostgreSQL at ${where.display}: ${err.message}`, { store: where.display });
    });
    try {
      const state = await schemaState(client, where.schema);
      if (state === 'store' && !options.force) throw new SoftlogicError('STORE_EXISTS', `a store already exists in schema '${where.schema}' of ${where.display}; pass --force to replace it (it is kept aside)`, { store: where.display });
      if (state === 'other') throw new SoftlogicError('INVALID_INPUT', `schema '${where.schema}' holds tables that are not a softlogic store; restore into an empty or absent schema`, { store: where.display });
      const generation = state === 'store' ? (await readGeneration(client)) + 1 : 0;
      // Held until the staging schema is renamed or dropped: while it is, doctor leaves the schema alone.
      await claimStaging(client, staging, where.display);
      await client.query(`DROP SCHEMA IF EXISTS ${staging} CASCADE`);
      await migrate(client, staging);
      try {
        await client.query(`SET search_path TO ${staging}`);
        await client.query('BEGIN');
        await loadAll(client, snapshot, generation);
        await client.query('COMMIT');
        await client.query('BEGIN');
        if (state === 'store') {
          aside = `${where.schema.slice(0, 40)}_old_${stamp()}`;
          await client.query(`ALTER SCHEMA ${where.schema} RENAME TO ${aside}`);
        } else if (state === 'empty') {
          await client.query(`DROP SCHEMA ${where.schema}`);
        }
        await client.query(`ALTER SCHEMA ${staging} RENAME TO ${where.schema}`);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        await client.query(`DROP SCHEMA IF EXISTS ${staging} CASCADE`).catch(() => undefined);
        throw err;
      } finally {
        await releaseStaging(client, staging).catch(() => undefined);
      }
    } finally {
      client.release();
    }
    let verify: RestoreResult['verify'] = null;
    const backend = await PostgresBackend.open(url);
    try {
      assertRestoredCounts(options.expected, await backend.maintenance.stats());
      if (options.verify === true || aside !== null) {
        const report = await backend.maintenance.verify();
        if (!report.valid) throw new SoftlogicError('INTEGRITY', `restored store fails verify: ${report.issues.map((i) => i.message).join('; ')}`, { issues: report.issues });
        verify = { valid: report.valid, issues: report.issues };
      }
      await backend.audit.record({ event: 'restored', backup: options.backup, from: snapshot.backend, counts_checked: true, verified: verify !== null });
    } catch (err) {
      await backend.close();
      // The restored schema goes; the replaced one comes back.
      await admin.query(`DROP SCHEMA IF EXISTS ${where.schema} CASCADE`);
      if (aside) await admin.query(`ALTER SCHEMA ${aside} RENAME TO ${where.schema}`);
      throw err;
    }
    await backend.close();
    return {
      store: where.display,
      backup: options.backup,
      bytes: options.bytes,
      members: options.members,
      seconds: (performance.now() - t0) / 1000,
      contexts: options.expected,
      previous_store: aside ? schemaUrl(where, aside).display : null,
      verify,
    };
  } finally {
    await admin.end();
  }
};
