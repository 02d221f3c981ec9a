import type pg from 'pg';
import { SoftlogicError } from '../../core/errors.js';

/**
 * The PostgreSQL store's tables, in the store's own schema (`?schema=NAME` in the URL, default
 * `public`), so several stores can share one database. Migrations are numbered; `migrate` runs
 * the missing ones in one transaction under an advisory lock, so N replicas starting together
 * migrate once, and a failed migration leaves the previous version intact.
 *
 * The layout mirrors the embedded store's, with the log and its index in one: `analogies` and
 * `entities` hold every version of every record (the change log: put, delete, restore, each
 * pointing at the version it supersedes), and the current version of each is flagged `current`.
 * A record reference is the `seq` of the version (one sequence for the whole store).
 */

export interface Migration {
  version: number;
  description: string;
  sql: string;
}

/** The columns of one version of a record, the same for analogies and entities (the change log). */
const VERSION_COLUMNS = `version integer NOT NULL,
  seq bigint NOT NULL DEFAULT nextval('change_seq'),
  op text NOT NULL CHECK (op IN ('put', 'delete', 'restore')),
  prev bigint,
  current boolean NOT NULL,`;

/**
 * The three analogy query indexes, on active current rows only; ties in quality go newest first.
 * Named once: the schema creates them, a bulk load drops them and builds them again at its end.
 */
export const QUERY_INDEXES: ReadonlyArray<{ name: string; sql: string }> = [
  { name: 'analogies_quality', sql: 'CREATE INDEX analogies_quality ON analogies(ctx, quality DESC, seq DESC) WHERE current AND deleted_at IS NULL' },
  { name: 'analogies_source', sql: 'CREATE INDEX analogies_source ON analogies(ctx, source_domain, quality DESC, seq DESC) WHERE current AND deleted_at IS NULL' },
  { name: 'analogies_target', sql: 'CREATE INDEX analogies_target ON analogies(ctx, target_domain, quality DESC, seq DESC) WHERE current AND deleted_at IS NULL' },
];

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'contexts, change log, current records, workflows with leases and staged items, vectors, files, audit',
    sql: `
CREATE TABLE contexts(
  ctx integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name text NOT NULL UNIQUE,
  parent text,
  description text,
  created_at text NOT NULL,
  -- bumped by every batch that changes records here: caches of derived data compare it
  mark bigint NOT NULL DEFAULT 0
);

-- One shared counter orders every change of the store (a record reference is its value).
CREATE SEQUENCE change_seq;

-- The versions of the analogies: every version ever written (the change log: put, delete,
-- restore, each row pointing at the seq of the version it supersedes), of which the one with
-- current = true is the record's state. A first version is history and current row at once, so
-- an import writes each record once (nothing over a bare COPY of the rows); a new version
-- inserts its row and clears current on the old one. The body is always the whole record (a
-- tombstone's merged with the version it deletes), so no read chases prev pointers.
CREATE TABLE analogies(
  ctx integer NOT NULL,
  id text NOT NULL,
  ${VERSION_COLUMNS}
  source_domain text NOT NULL,
  target_domain text NOT NULL,
  quality double precision NOT NULL,
  created_ms bigint NOT NULL,
  deleted_at text,
  workflow_id text,
  tags text[],
  frames text[],
  body jsonb NOT NULL,
  PRIMARY KEY (ctx, id, version)
);
-- The three query indexes (active current rows only); ties in quality go newest first.
${QUERY_INDEXES.map((i) => `${i.sql};`).join('\n')}
-- Streams read a context's current versions in write order (new keys land at the right edge).
CREATE INDEX analogies_written ON analogies(ctx, seq) WHERE current;

-- Every other record kind (concepts, frames, instances, relations, clusters, fields), versioned
-- the same way.
CREATE TABLE entities(
  ctx integer NOT NULL,
  kind text NOT NULL,
  id text NOT NULL,
  ${VERSION_COLUMNS}
  deleted_at text,
  name text,
  search text,
  body jsonb NOT NULL,
  PRIMARY KEY (ctx, kind, id, version)
);
CREATE INDEX entities_name ON entities(ctx, kind, name) WHERE current;
CREATE INDEX entities_written ON entities(ctx, kind, seq) WHERE current;

-- What each workflow's batches changed, one row per batch and kind: the undo journal of a
-- rollback (the embedded store reads the same from its log's commit lines).
CREATE TABLE workflow_changes(
  workflow_id text NOT NULL,
  ctx integer NOT NULL,
  kind text NOT NULL,
  ids text[] NOT NULL,
  seqs bigint[] NOT NULL,
  written_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX workflow_changes_workflow ON workflow_changes(workflow_id);

-- Records whose history compaction removed (a restore then answers PURGED).
CREATE TABLE purged(
  ctx integer NOT NULL,
  kind text NOT NULL,
  id text NOT NULL,
  purged_at text NOT NULL,
  PRIMARY KEY (ctx, kind, id)
);

-- Workflows: the same columns as the embedded table (owner_pid: the process running it), plus
-- the lease of the replica running it (owner, lease_until, heartbeat): another replica takes a
-- workflow over once its lease ran out.
CREATE TABLE workflows(
  workflow_id text PRIMARY KEY,
  workflow_type text NOT NULL,
  status text NOT NULL,
  context text NOT NULL,
  created_at text NOT NULL,
  updated_at text NOT NULL,
  items_total integer NOT NULL,
  items_processed integer NOT NULL DEFAULT 0,
  error_count integer NOT NULL DEFAULT 0,
  metadata jsonb NOT NULL DEFAULT '{}',
  error_log jsonb NOT NULL DEFAULT '[]',
  error_log_omitted integer NOT NULL DEFAULT 0,
  staged_crc text,
  cancel_requested boolean NOT NULL DEFAULT false,
  seqno bigint GENERATED ALWAYS AS IDENTITY,
  owner_pid integer,
  owner text,
  lease_until timestamptz,
  heartbeat timestamptz
);
CREATE INDEX workflows_status ON workflows(status, created_at);
CREATE INDEX workflows_created ON workflows(created_at);
CREATE INDEX workflows_lease ON workflows(lease_until) WHERE status IN ('pending', 'processing');

-- Staged items live in the database, not on a replica's disk, so any replica can finish a
-- workflow. Kept as the JSON text staged, byte for byte (their digest is over that text).
CREATE TABLE staged_items(
  workflow_id text NOT NULL,
  item integer NOT NULL,
  json text NOT NULL,
  PRIMARY KEY (workflow_id, item)
);

-- Concept vectors (no pgvector in Debian's PostgreSQL 15): float32 little-endian in bytea, read
-- back into a Float32Array without parsing. Derived from the concept records in the transaction
-- that writes them; a concept that lost its vector keeps a row with vec NULL, so a replica that
-- follows the table by seq (its generation) learns of the removal.
CREATE TABLE concept_vectors(
  ctx integer NOT NULL,
  id text NOT NULL,
  name text NOT NULL,
  synset_id text,
  fallback boolean NOT NULL,
  vec bytea,
  seq bigint NOT NULL,
  PRIMARY KEY (ctx, id)
);
CREATE INDEX concept_vectors_seq ON concept_vectors(ctx, seq);
CREATE TABLE vector_settings(
  ctx integer PRIMARY KEY,
  provider text NOT NULL,
  dimension integer NOT NULL
);

-- Files that belong to a context (embeddings.npz, the vector index, settings).
CREATE TABLE context_files(
  ctx integer NOT NULL,
  name text NOT NULL,
  content bytea NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (ctx, name)
);

CREATE TABLE audit(
  seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at timestamptz NOT NULL DEFAULT now(),
  entry jsonb NOT NULL
);

INSERT INTO meta(key, value) VALUES ('generation', '0') ON CONFLICT (key) DO NOTHING;
`,
  },
  {
    version: 2,
    description: 'records, workflow metadata and audit entries kept as written (json, not jsonb): the same keys in the same order as the embedded store returns',
    // jsonb reorders keys (the record's and those inside a user's metadata) and respaces them on
    // output; json keeps the text it was given, which is the text the embedded store keeps in
    // its log, its workflow rows and audit.jsonl. No query reads inside a record body (the filter
    // columns are their own); the audit filters read two keys.
    sql: `
ALTER TABLE analogies ALTER COLUMN body TYPE json USING body::json;
ALTER TABLE entities ALTER COLUMN body TYPE json USING body::json;
ALTER TABLE workflows ALTER COLUMN metadata DROP DEFAULT;
ALTER TABLE workflows ALTER COLUMN metadata TYPE json USING metadata::json;
ALTER TABLE workflows ALTER COLUMN metadata SET DEFAULT '{}';
ALTER TABLE audit ALTER COLUMN entry TYPE json USING entry::json;
`,
  },
  {
    version: 3,
    description: 'staged items remember when they were staged, so that those of a staging that died before its workflow row existed can be found and removed (softlogic doctor, the takeover loop)',
    // now() is stable, so PostgreSQL adds the column without rewriting the table.
    sql: `
ALTER TABLE staged_items ADD COLUMN staged_at timestamptz NOT NULL DEFAULT now();
`,
  },
  {
    version: 4,
    description: 'staged items in an UNLOGGED table: staging writes no WAL (an import wrote each item to the WAL twice, staged and applied); a server crash empties the table, and a workflow whose staged items are gone fails with STAGED_CORRUPT instead of applying fewer',
    // Rewrites the table once (what is staged now is kept). Unlogged rows survive a clean
    // restart, not a crash, and are not sent to a streaming standby: after a crash or a
    // failover the unfinished workflows' staged items are missing, which processWorkflow
    // reports (docs/postgres.md, "Staged items").
    sql: `
ALTER TABLE staged_items SET UNLOGGED;
`,
  },
  {
    version: 5,
    description: 'record ids and analogy domains compared byte by byte (COLLATE "C"): the keys and the domain indexes take them without the locale\'s strcoll, and ids order as in the embedded store (SQLite\'s BINARY); the workflow journal\'s arrays stored uncompressed',
    // Same type, another collation: PostgreSQL keeps the tables' rows and rebuilds only the
    // indexes on these columns (the primary keys). Equality is byte equality under either
    // collation, so no lookup answers differently; the queries that order ids already said
    // COLLATE "C", and can now use the keys for it. The domains are only ever compared for
    // equality: in "C" their two query indexes are built from a sort of abbreviated keys (a bulk
    // load's end) and maintained without strcoll.
    // The rebuild holds the tables' ACCESS EXCLUSIVE lock for as long as it takes (a store of 1M
    // analogies: 10.1 s at load 11), once, when the first replica of this version opens it.
    // The journal: a prepared import's chunk writes one row of 50,000 ids (2 MB), which pglz
    // compressed by a tenth at 0.1-0.5 s of the chunk's transaction (measured); EXTERNAL keeps
    // it out of line, uncompressed. Rows written before stay as they are.
    sql: `
ALTER TABLE analogies ALTER COLUMN id TYPE text COLLATE "C", ALTER COLUMN source_domain TYPE text COLLATE "C", ALTER COLUMN target_domain TYPE text COLLATE "C";
ALTER TABLE entities ALTER COLUMN id TYPE text COLLATE "C";
ALTER TABLE concept_vectors ALTER COLUMN id TYPE text COLLATE "C";
ALTER TABLE purged ALTER COLUMN id TYPE text COLLATE "C";
ALTER TABLE workflow_changes ALTER COLUMN ids SET STORAGE EXTERNAL, ALTER COLUMN seqs SET STORAGE EXTERNAL;
`,
  },
  {
    version: 6,
    description: 'staged items kept as pages (one row of their JSON lines per 5,000 items, postgres-staging.ts) in a logged table: staging no longer writes and indexes a row per item, and staged items survive a crash of the server',
    // Every staged item is kept: the rows of each workflow (unfinished, or a staging that died,
    // which doctor removes as before) become pages of their JSON lines (`<json>\n`). Staged items
    // are a run from item 0 (pages are written in order and a failed one stops the staging), but
    // a gap would only start a new page: each page is a run of consecutive items, cut every
    // 5,000. The data is already compact JSON text (text, not bytea: postgres-staging.ts);
    // EXTERNAL keeps pglz from trying to compress it on the clock. The old table is dropped.
    sql: `
CREATE TABLE staged_pages(
  workflow_id text NOT NULL,
  first_item integer NOT NULL,
  count integer NOT NULL,
  data text NOT NULL,
  staged_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (workflow_id, first_item)
);
ALTER TABLE staged_pages ALTER COLUMN data SET STORAGE EXTERNAL;
INSERT INTO staged_pages(workflow_id, first_item, count, data, staged_at)
SELECT workflow_id, min(item), count(*)::integer, string_agg(json || E'\\n', '' ORDER BY item), max(staged_at)
FROM (SELECT r.*, (item - min(item) OVER (PARTITION BY workflow_id, run)) / 5000 AS page
      FROM (SELECT workflow_id, item, json, staged_at, item - row_number() OVER (PARTITION BY workflow_id ORDER BY item) AS run FROM staged_items) r) p
GROUP BY workflow_id, run, page;
DROP TABLE staged_items;
`,
  },
  {
    version: 7,
    description: 'staged pages compressed by the server with lz4 where it has it: a fourth of the bytes written and logged',
    // A page of 5,000 analogies (1.7 MB of JSON lines) takes a fourth of the space in lz4, and its
    // insert takes less time than writing it whole (measured: 40 pages 374-409 ms against
    // 597-747 ms uncompressed; pglz, the other method, 1,336 ms). Pages written before keep their
    // form; a server without lz4 keeps them uncompressed (EXTERNAL, as schema 6 did).
    sql: `
DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_settings WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)) THEN
    ALTER TABLE staged_pages ALTER COLUMN data SET STORAGE EXTENDED, ALTER COLUMN data SET COMPRESSION lz4;
  END IF;
END $$;
`,
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** A schema name as the URL gives it; only plain lower-case identifiers (no quoting games). */
export function assertSchemaName(name: string): string {
  if (!SCHEMA_NAME.test(name)) {
    throw new SoftlogicError('INVALID_NAME', `PostgreSQL schema name '${name}' must be 1-63 of [a-z0-9_], not starting with a digit`, { schema: name });
  }
  return name;
}

export interface MigrationResult {
  from: number;
  to: number;
  applied: number[];
}

/**
 * Creates the schema or migrates it to SCHEMA_VERSION, in one transaction. Idempotent: run on
 * a current schema it changes nothing. A schema newer than this code is refused (STORE_FORMAT).
 */
export async function migrate(client: pg.ClientBase, schema: string): Promise<MigrationResult> {
  assertSchemaName(schema);
  await client.query('BEGIN');
  try {
    // One migrator per schema at a time, across processes (replicas starting together).
    await client.query(`SELECT pg_advisory_xact_lock(hashtextextended('softlogic.migrate.' || $1, 0))`, [schema]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await client.query(`SET LOCAL search_path TO ${schema}`);
    await client.query(`CREATE TABLE IF NOT EXISTS meta(key text PRIMARY KEY, value text NOT NULL)`);
    const from = await schemaVersion(client);
    if (from > SCHEMA_VERSION) {
      throw new SoftlogicError('STORE_FORMAT', `the PostgreSQL store in schema '${schema}' has version ${from}; this softlogic knows up to ${SCHEMA_VERSION}`, { schema, version: from });
    }
    const applied: number[] = [];
    for (const migration of MIGRATIONS) {
      if (migration.version <= from) continue;
      await client.query(migration.sql);
      applied.push(migration.version);
    }
    if (applied.length > 0) {
      await client.query(`INSERT INTO meta(key, value) VALUES ('schema_version', $1) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, [String(SCHEMA_VERSION)]);
    }
    await client.query('COMMIT');
    return { from, to: Math.max(from, SCHEMA_VERSION), applied };
  } catch (err) {
    await client.query('ROLLBACK');
    throw err;
  }
}

/** 0 for a schema without softlogic's tables. */
export async function schemaVersion(client: pg.ClientBase): Promise<number> {
  const exists = await client.query(`SELECT to_regclass('meta') IS NOT NULL AS present`);
  if (!(exists.rows[0] as { present: boolean }).present) return 0;
  const { rows } = await client.query<{ value: string }>(`SELECT value FROM meta WHERE key = 'schema_version'`);
  return rows[0] ? Number(rows[0].value) : 0;
}

/**
 * The store generation, as in the embedded store: bumped by operations that replace rows
 * wholesale (restore, compact), so replicas drop what they cached.
 */
export async function readGeneration(client: pg.ClientBase | pg.Pool): Promise<number> {
  const { rows } = await client.query<{ value: string }>(`SELECT value FROM meta WHERE key = 'generation'`);
  return rows[0] ? Number(rows[0].value) : 0;
}

/**
 * The meta key of a context's compaction mark: the highest seq when it was last compacted. A
 * version's prev at or below it may name a version the compaction dropped.
 */
export function compactedKey(ctx: number): string {
  return `compacted_seq.${ctx}`;
}

export async function bumpGeneration(client: pg.ClientBase): Promise<number> {
  const { rows } = await client.query<{ value: string }>(`UPDATE meta SET value = (value::bigint + 1)::text WHERE key = 'generation' RETURNING value`);
  return Number(rows[0]?.value ?? 0);
}
