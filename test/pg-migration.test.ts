/**
 * Schema 5 on PostgreSQL: record ids and analogy domains compared byte by byte (COLLATE "C"),
 * the journal's arrays uncompressed. A store in schema 4's
 * layout, opened by this code, migrates; every answer read through the store is the same after;
 * those columns then have collation "C"; migrating again applies nothing. And ids order as in
 * the embedded store (SQLite's BINARY, byte order), whatever the database's own collation.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { Store } from '../src/api/store.js';
import { parsePostgresUrl } from '../src/backend/postgres/postgres-connection.js';
import { migrate, SCHEMA_VERSION } from '../src/backend/postgres/postgres-schema.js';
import { inScratchDirectory, usePostgres } from './pg-helpers.js';
import { genAnalogies, tempDir, writeJsonl } from './helpers.js';
import { join } from 'node:path';

const db = await usePostgres();
inScratchDirectory();
const skip = 'skip' in db ? db.skip : false;

/** The columns schema 5 gives collation "C" (in the order of their names). */
const ID_COLUMNS = ['analogies.id', 'analogies.source_domain', 'analogies.target_domain', 'concept_vectors.id', 'entities.id', 'purged.id'];

/** Ids (1-256 of [A-Za-z0-9_.:-]) that sort differently by bytes and by a language's rules (case, punctuation, digits). */
const IDS = ['b', 'B', 'a', 'a_b', 'a.b', 'a:b', 'A-1', 'z', 'Z-1', '10', '9'];

async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: parsePostgresUrl(url).connectionString });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Each of those columns' collation: 'default' (the database's) or 'C'. */
async function idCollations(url: string): Promise<string[]> {
  const schema = parsePostgresUrl(url).schema;
  return withClient(url, async (client) => {
    const { rows } = await client.query<{ col: string; coll: string }>(
      `SELECT c.relname || '.' || a.attname AS col, co.collname AS coll FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_collation co ON co.oid = a.attcollation
       WHERE n.nspname = $1 AND c.relkind = 'r' AND c.relname || '.' || a.attname = ANY($2) ORDER BY 1`,
      [schema, ID_COLUMNS],
    );
    return rows.map((r) => `${r.col} ${r.coll}`);
  });
}

/** How the journal's arrays are stored: x (compressed when large) before schema 5, e (uncompressed) since. */
async function journalStorage(url: string): Promise<string[]> {
  return withClient(url, async (client) => {
    const { rows } = await client.query<{ col: string }>(
      `SELECT a.attname::text || ' ' || a.attstorage::text AS col FROM pg_attribute a WHERE a.attrelid = $1::regclass AND a.attname IN ('ids', 'seqs') ORDER BY 1`,
      [`${parsePostgresUrl(url).schema}.workflow_changes`],
    );
    return rows.map((r) => r.col);
  });
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/** What the store answers about its records, through its public interface. */
async function answers(store: Store) {
  return {
    stream: await collect(store.analogies.streamJson()),
    query: await store.analogies.query({ limit: 100 }),
    bySource: await store.analogies.query({ domain: 'sea', limit: 100 }),
    byCapital: await store.analogies.query({ domain: 'Sea', limit: 100 }),
    counts: [await store.analogies.count(), await store.analogies.count({ include_deleted: true })],
    histories: await Promise.all(['b', 'z', 'a:b'].map((id) => store.analogies.history(id))),
    gets: await Promise.all(IDS.filter((id) => id !== 'z').map((id) => store.analogies.get(id))),
    concepts: await store.concepts.list(),
    found: await store.concepts.find('river'),
    verify: (await store.verify()).valid,
  };
}

describe('PostgreSQL schema 5: ids compared byte by byte', { skip }, () => {
  test('a schema 4 store migrates on open: the same answers, the id columns COLLATE "C", a second migration applies nothing', async () => {
    if ('skip' in db) return;
    const url = db.freshStoreUrl();
    const store = await Store.init(url);
    for (const [i, id] of IDS.entries()) {
      await store.analogies.save({ id, source_domain: i % 3 === 0 ? 'Sea' : i % 2 ? 'sea' : 'mer é', target_domain: 'sky', quality_score: 0.5 + i / 100 });
    }
    await store.analogies.save({ id: 'b', source_domain: 'sea', target_domain: 'sky', quality_score: 0.9 });
    await store.analogies.delete('z');
    for (const name of ['river', 'River bank', 'ocean']) await store.concepts.add({ name });
    const before = await answers(store);
    await store.close();
    assert.equal(before.verify, true);
    assert.equal(before.stream.length, IDS.length - 1);

    // Schema 4's layout: the id columns in the database's collation, version 4.
    await withClient(url, async (client) => {
      const schema = parsePostgresUrl(url).schema;
      await client.query('BEGIN');
      for (const col of ID_COLUMNS) {
        const [table, column] = col.split('.');
        await client.query(`ALTER TABLE ${schema}.${table} ALTER COLUMN ${column} TYPE text COLLATE "default"`);
      }
      await client.query(`ALTER TABLE ${schema}.workflow_changes ALTER COLUMN ids SET STORAGE EXTENDED, ALTER COLUMN seqs SET STORAGE EXTENDED`);
      await stagedAsRows(client, schema);
      await client.query(`UPDATE ${schema}.meta SET value = '4' WHERE key = 'schema_version'`);
      await client.query('COMMIT');
    });
    assert.deepEqual(await idCollations(url), ID_COLUMNS.map((c) => `${c} default`));
    assert.deepEqual(await journalStorage(url), ['ids x', 'seqs x']);

    const reopened = await Store.open(url);
    try {
      assert.deepEqual(await answers(reopened), before);
      // Still writable, and the key still refuses an id twice in a context (byte equality).
      await reopened.analogies.save({ id: 'B', source_domain: 'sea', target_domain: 'sky', quality_score: 0.7 });
      assert.equal((await reopened.analogies.get('B')).version, 2);
      assert.equal((await reopened.analogies.get('b')).version, 2);
    } finally {
      await reopened.close();
    }
    assert.deepEqual(await idCollations(url), ID_COLUMNS.map((c) => `${c} C`));
    assert.deepEqual(await journalStorage(url), ['ids e', 'seqs e'], 'the journal arrays uncompressed');
    await withClient(url, async (client) => {
      const schema = parsePostgresUrl(url).schema;
      assert.equal((await client.query(`SELECT value FROM ${schema}.meta WHERE key = 'schema_version'`)).rows[0]?.value, String(SCHEMA_VERSION));
      assert.deepEqual(await migrate(client, schema), { from: SCHEMA_VERSION, to: SCHEMA_VERSION, applied: [] });
    });
    assert.deepEqual(await idCollations(url), ID_COLUMNS.map((c) => `${c} C`));
  });

  test('the key orders ids by their bytes, as the embedded store (SQLite BINARY) does', async () => {
    if ('skip' in db) return;
    const url = db.freshStoreUrl();
    const store = await Store.init(url);
    try {
      for (const id of IDS) await store.analogies.save({ id, source_domain: 'sea', target_domain: 'sky', quality_score: 0.5 });
    } finally {
      await store.close();
    }
    const schema = parsePostgresUrl(url).schema;
    const byBytes = [...IDS].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    await withClient(url, async (client) => {
      // A plain ORDER BY id, as a new query would write it: the primary key's order, no sort.
      const { rows } = await client.query<{ id: string }>(`SELECT id FROM ${schema}.analogies ORDER BY ctx, id, version`);
      assert.deepEqual(rows.map((r) => r.id), byBytes);
      await client.query(`SET enable_seqscan = off`);
      const plan = (await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN SELECT id FROM ${schema}.analogies WHERE ctx = 1 ORDER BY id COLLATE "C"`)).rows.map((r) => r['QUERY PLAN']).join('\n');
      assert.match(plan, /Index Only Scan using analogies_pkey|Index Scan using analogies_pkey/);
      assert.doesNotMatch(plan, /Sort/);
    });
  });
});

/**
 * Staged items as schema 5 and earlier kept them, in the caller's transaction: rows of an
 * UNLOGGED `staged_items(workflow_id, item, json, staged_at)`, made here from the current store's
 * pages by SQL (a row per line), the pages' table dropped.
 */
async function stagedAsRows(client: pg.Client, schema: string): Promise<void> {
  await client.query(`CREATE UNLOGGED TABLE ${schema}.staged_items(workflow_id text NOT NULL, item integer NOT NULL, json text NOT NULL, staged_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (workflow_id, item))`);
  await client.query(
    `INSERT INTO ${schema}.staged_items(workflow_id, item, json, staged_at)
     SELECT p.workflow_id, p.first_item + t.o - 1, t.line, p.staged_at
     FROM ${schema}.staged_pages p, unnest(string_to_array(rtrim(p.data, E'\\n'), E'\\n')) WITH ORDINALITY AS t(line, o)`,
  );
  await client.query(`DROP TABLE ${schema}.staged_pages`);
}

/** A store in schema 5's layout. */
async function toSchema5(url: string): Promise<void> {
  const schema = parsePostgresUrl(url).schema;
  await withClient(url, async (client) => {
    await client.query('BEGIN');
    await stagedAsRows(client, schema);
    await client.query(`UPDATE ${schema}.meta SET value = '5' WHERE key = 'schema_version'`);
    await client.query('COMMIT');
  });
}

describe('PostgreSQL schema 6: staged items as pages', { skip }, () => {
  test('a schema 5 store with an unfinished staged workflow migrates its staged rows into pages, then finishes it exactly; a dead staging stays a leftover', async () => {
    if ('skip' in db) return;
    const url = db.freshStoreUrl();
    const schema = parsePostgresUrl(url).schema;
    const N = 12_345;
    const store = await Store.init(url);
    await store.analogies.import(writeJsonl(join(tempDir(), 'before.jsonl'), genAnalogies(20, 3, 'old-')));
    // Staged, not processed: pending with its digest recorded. Some items carry a backslash, a
    // quote and a non-ASCII character (in their metadata), which the pages must keep byte for byte.
    const items = genAnalogies(N, 5, 'new-').map((a, i) => (i % 1000 === 7 ? { ...a, metadata: { note: `mer "é" \\ ${i}` } } : a));
    const staged = await store.workflows.createFromFile(writeJsonl(join(tempDir(), 'staged.jsonl'), items));
    assert.equal(staged.status, 'pending');
    await store.close();

    await toSchema5(url);
    await withClient(url, async (client) => {
      const { rows } = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${schema}.staged_items WHERE workflow_id = $1`, [staged.workflow_id]);
      assert.equal(rows[0]?.n, N, 'schema 5 keeps a row per staged item');
      // A staging that died before its workflow row, 11 minutes ago: 3 rows no workflow names.
      await client.query(`INSERT INTO ${schema}.staged_items(workflow_id, item, json, staged_at) SELECT 'dead-staging', i, '{"x":1}', now() - interval '11 minutes' FROM generate_series(0, 2) AS i`);
    });

    const reopened = await Store.open(url);
    try {
      await withClient(url, async (client) => {
        assert.equal((await client.query(`SELECT to_regclass('${schema}.staged_items') IS NULL AS gone`)).rows[0].gone, true, 'the old table is dropped');
        const pages = await client.query<{ first_item: number; count: number; persistence: string }>(
          `SELECT first_item, count, (SELECT relpersistence::text FROM pg_class WHERE oid = '${schema}.staged_pages'::regclass) AS persistence FROM ${schema}.staged_pages WHERE workflow_id = $1 ORDER BY first_item`,
          [staged.workflow_id],
        );
        assert.deepEqual(
          pages.rows.map((r) => [r.first_item, r.count]),
          [[0, 5000], [5000, 5000], [10000, N - 10000]],
        );
        assert.equal(pages.rows[0]?.persistence, 'p', 'staged pages are logged');
      });
      assert.deepEqual(
        (await reopened.leftovers()).map((l) => [l.kind, l.path, l.bytes, l.removable]),
        [['staged_orphan', 'staged_pages/dead-staging', 3 * '{"x":1}\n'.length, true]],
      );
      // The digest recorded at staging checks the migrated pages: a changed byte would fail it.
      const done = await reopened.workflows.process(staged.workflow_id, { batchSize: 5000 });
      assert.equal(done.status, 'completed');
      assert.equal(done.items_processed, N);
      assert.equal(await reopened.analogies.count(), 20 + N);
      assert.deepEqual((await reopened.analogies.get('new-7')).metadata, { note: 'mer "é" \\ 7' });
      assert.equal((await reopened.analogies.get(`new-${N - 1}`)).version, 1);
      assert.equal((await reopened.verify()).valid, true);
    } finally {
      await reopened.close();
    }
    await withClient(url, async (client) => {
      assert.deepEqual(await migrate(client, schema), { from: SCHEMA_VERSION, to: SCHEMA_VERSION, applied: [] });
    });
  });
});

describe('PostgreSQL schema 7: staged pages compressed (lz4)', { skip }, () => {
  test('a schema 6 store migrates: its pages kept as they were, new pages stored in a fourth of their bytes, an unfinished workflow finished exactly', async () => {
    if ('skip' in db) return;
    const url = db.freshStoreUrl();
    const schema = parsePostgresUrl(url).schema;
    const N = 12_000;
    const items = (prefix: string) => genAnalogies(N, 9, prefix).map((a, i) => (i % 1000 === 7 ? { ...a, metadata: { note: `mer "é" \\ ${i}` } } : a));
    const store = await Store.init(url);
    const staged = await store.workflows.createFromFile(writeJsonl(join(tempDir(), 'before.jsonl'), items('old-')));
    await store.close();
    // Schema 6's layout: the pages' data uncompressed (EXTERNAL, the default method; the pages
    // written again so), version 6.
    const storedBytes = (client: pg.Client, workflowId: string) =>
      client.query<{ stored: number; text: number }>(`SELECT sum(pg_column_size(data))::int AS stored, sum(octet_length(data))::int AS text FROM ${schema}.staged_pages WHERE workflow_id = $1`, [workflowId]).then((r) => r.rows[0] as { stored: number; text: number });
    await withClient(url, async (client) => {
      await client.query(`ALTER TABLE ${schema}.staged_pages ALTER COLUMN data SET STORAGE EXTERNAL, ALTER COLUMN data SET COMPRESSION default`);
      await client.query(`UPDATE ${schema}.staged_pages SET data = data || ''`);
      await client.query(`UPDATE ${schema}.meta SET value = '6' WHERE key = 'schema_version'`);
    });

    const reopened = await Store.open(url);
    try {
      const lz4 = await withClient(url, async (client) => {
        const old = await storedBytes(client, staged.workflow_id);
        assert.ok(old.stored >= old.text, `pages staged before are as they were (${old.stored} of ${old.text} bytes)`);
        return (await client.query<{ lz4: boolean }>(`SELECT 'lz4' = ANY(enumvals) AS lz4 FROM pg_settings WHERE name = 'default_toast_compression'`)).rows[0]?.lz4 === true;
      });
      const next = await reopened.workflows.createFromFile(writeJsonl(join(tempDir(), 'after.jsonl'), items('new-')));
      await withClient(url, async (client) => {
        const pages = await storedBytes(client, next.workflow_id);
        if (lz4) assert.ok(pages.stored < pages.text / 3, `new pages compressed (${pages.stored} of ${pages.text} bytes)`);
      });
      // The digests recorded at staging check both kinds of page.
      for (const wf of [staged, next]) {
        const done = await reopened.workflows.process(wf.workflow_id, { batchSize: 5000 });
        assert.equal(done.status, 'completed');
        assert.equal(done.items_processed, N);
      }
      assert.equal(await reopened.analogies.count(), 2 * N);
      assert.deepEqual((await reopened.analogies.get('new-7')).metadata, { note: 'mer "é" \\ 7' });
      assert.equal((await reopened.verify()).valid, true);
    } finally {
      await reopened.close();
    }
    await withClient(url, async (client) => {
      assert.deepEqual(await migrate(client, schema), { from: SCHEMA_VERSION, to: SCHEMA_VERSION, applied: [] });
    });
  });
});
