/**
 * The knowledge conformance suite (test/conformance/knowledge.ts) on PostgreSQL: each scenario runs
 * on a fresh schema of this run's database and on a fresh embedded store, and what the user sees
 * of the results must be the same. Then: records come back with their keys as written (schema 2).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import pg from 'pg';
import { parsePostgresUrl } from '../src/backend/postgres/postgres-connection.js';
import { MIGRATIONS, SCHEMA_VERSION } from '../src/backend/postgres/postgres-schema.js';
import { tempDir, writeJsonl } from './helpers.js';
import { Store } from '../src/api/store.js';
import { freshEmbeddedStore, knowledgeConformance } from './conformance/knowledge.js';
import { freshPostgresStore, inScratchDirectory, usePostgres } from './pg-helpers.js';

const db = await usePostgres();
inScratchDirectory();

if ('skip' in db) describe('knowledge conformance: postgres', { skip: db.skip }, () => undefined);
else knowledgeConformance('postgres', () => freshPostgresStore(db), { name: 'embedded', open: freshEmbeddedStore });

describe('PostgreSQL records as written', { skip: 'skip' in db ? db.skip : false }, () => {
  test('a record, its metadata, a workflow and an audit entry come back with their keys in the order written; a version 1 store migrates to it', async () => {
    if ('skip' in db) return;
    const url = db.freshStoreUrl();
    const where = parsePostgresUrl(url);
    // A store as schema version 1 left it: bodies, metadata and entries as jsonb.
    const client = new pg.Client({ connectionString: where.connectionString });
    await client.connect();
    try {
      await client.query('BEGIN');
      await client.query(`CREATE SCHEMA ${where.schema}`);
      await client.query(`SET LOCAL search_path TO ${where.schema}`);
      await client.query('CREATE TABLE meta(key text PRIMARY KEY, value text NOT NULL)');
      await client.query((MIGRATIONS[0] as { sql: string }).sql);
      await client.query(`INSERT INTO meta(key, value) VALUES ('schema_version', '1')`);
      await client.query('COMMIT');
    } finally {
      await client.end();
    }
    const record = { id: 'ordered', source_domain: 'sea', target_domain: 'sky', quality_score: 0.5, metadata: { zeta: 1, alpha: { y: 2, b: 3 } } };
    const store = await Store.open(url);
    try {
      await store.analogies.save(record);
      const wf = await store.workflows.createFromFile(writeJsonl(join(tempDir(), 'a.jsonl'), [record]), { workflowId: 'ordered-wf' });
      const text = await (async () => {
        for await (const line of store.analogies.streamJson({})) return line;
        return '';
      })();
      assert.match(text, /^\{"id":"ordered","context":"default","source_domain":"sea",/);
      assert.match(text, /"metadata":\{"zeta":1,"alpha":\{"y":2,"b":3\}\}/);
      assert.deepEqual(Object.keys((await store.analogies.get('ordered')).metadata), ['zeta', 'alpha']);
      assert.deepEqual(Object.keys((await store.workflows.get(wf.workflow_id)).metadata), Object.keys(wf.metadata));
      assert.deepEqual(Object.keys((await store.audit.list({ event: 'context_created' }))[0] ?? {}), ['time', 'event', 'context', 'parent']);
    } finally {
      await store.close();
    }
    const check = new pg.Client({ connectionString: where.connectionString });
    await check.connect();
    try {
      const { rows } = await check.query(`SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = $1 AND column_name IN ('body', 'metadata', 'entry') ORDER BY 1, 2`, [where.schema]);
      assert.deepEqual(rows.map((r) => `${r.table_name}.${r.column_name} ${r.data_type}`), ['analogies.body json', 'audit.entry json', 'entities.body json', 'workflows.metadata json']);
      assert.equal((await check.query(`SELECT value FROM ${where.schema}.meta WHERE key = 'schema_version'`)).rows[0]?.value, String(SCHEMA_VERSION));
    } finally {
      await check.end();
    }
  });
});
