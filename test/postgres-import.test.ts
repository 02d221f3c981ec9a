/**
 * The PostgreSQL backend's prepared import (postgres-prepared-import.ts: chunks applied by the
 * server from their staged rows) against the generic path (items parsed here, written through
 * Backend.write): the same files imported into two stores through the public Store must leave
 * the same rows (every column of every version, the change log), the same journal, the same
 * answers; updates and repeated ids fall back to the generic path mid-import with the same result.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import pg from 'pg';
import { initStore, type Store } from '../src/index.js';
import { parsePostgresUrl } from '../src/backend/postgres/postgres-connection.js';
import { QUERY_INDEXES } from '../src/backend/postgres/postgres-schema.js';
import { preparedItems } from '../src/backend/postgres/postgres-prepared-import.js';
import { cliSpawn, genAnalogies, tempDir, writeJsonl } from './helpers.js';
import { BAD_LINES, legacyFile } from './legacy-lines.js';
import { PARALLEL_MIN_BYTES } from '../src/methods/analogies/stage-parallel.js';
import { inScratchDirectory, usePostgres } from './pg-helpers.js';

const db = await usePostgres();
const skip = 'skip' in db ? db.skip : false;
const dir = tempDir('softlogic-pg-import-');
// A server store's rejects go to ./softlogic-work: a scratch directory, so a failing assertion leaves nothing in the checkout.
inScratchDirectory();

/** More than the 20,000 items below which no prepared run is tried, in chunks of 5,000. */
const N = 21_000;
const BATCH = 5000;

/**
 * Lines of every staged form: given ids with created_at (a record staged whole), given ids
 * without it (the input staged verbatim), no id (minted), tags and frame names that need
 * escaping in an array literal and in COPY (quote, backslash, tab, newline, non-ASCII).
 */
function lines(n: number, seed: number, prefix: string): Record<string, unknown>[] {
  return genAnalogies(n, seed, prefix).map((a, i) => {
    const line: Record<string, unknown> = { ...a };
    if (i % 3 === 1) delete line.created_at;
    if (i % 7 === 2) delete line.id;
    if (i % 11 === 5) {
      line.tags = ['q"uote', 'back\\slash', 'tab\there', 'new\nline', 'ünï'];
      line.frame_mappings = { 'Fr"ame\\x': 'Commerce' };
    }
    return line;
  });
}

/** Every version row, in write order, with the minted ids and the staging time left out. */
async function rows(url: string): Promise<unknown[]> {
  const where = parsePostgresUrl(url);
  const client = new pg.Client({ connectionString: where.connectionString, options: `-c search_path=${where.schema}` });
  await client.connect();
  try {
    const minted = `id !~ '^(a|b)-'`;
    // created_at of a line without one: the staging time, which differs between the two imports
    const staged = `(body->>'created_at') >= '2026'`;
    const { rows: out } = await client.query(
      `SELECT CASE WHEN ${minted} THEN '(minted)' ELSE id END AS id, version, op, prev IS NULL AS first, current, source_domain, target_domain, quality,
              CASE WHEN ${staged} THEN 'staged' ELSE created_ms::text END AS created,
              created_ms = (extract(epoch FROM (body->>'created_at')::timestamptz) * 1000)::bigint AS created_consistent,
              deleted_at, workflow_id, tags, frames,
              (body::jsonb - 'updated_at' - CASE WHEN ${minted} THEN 'id' ELSE '' END - CASE WHEN ${staged} THEN 'created_at' ELSE '' END)::text AS body
       FROM analogies ORDER BY seq`,
    );
    const journal = await client.query(`SELECT kind, cardinality(ids) AS n, seqs = (SELECT array_agg(s ORDER BY s) FROM unnest(seqs) s) AS ordered FROM workflow_changes ORDER BY written_at, seqs[1]`);
    return [...out, ...journal.rows.map((r) => ({ journal: r }))];
  } finally {
    await client.end();
  }
}

/** Imports `file` both ways; answers how many items the prepared way applied in prepared chunks. */
async function importBoth(file: string, stores: { prepared: Store; generic: Store }, workflowId: string): Promise<number> {
  const before = preparedItems.count;
  // The generic path: no prepared run (parallel: false), items through Backend.write.
  const p = await stores.prepared.analogies.import(file, { batchSize: BATCH, workflowId });
  const prepared = preparedItems.count - before;
  const g = await stores.generic.analogies.import(file, { batchSize: BATCH, workflowId, parallel: false });
  assert.equal(p.imported, g.imported);
  assert.equal(p.workflow.status, 'completed');
  assert.deepEqual({ ...p.workflow, created_at: 0, updated_at: 0 }, { ...g.workflow, created_at: 0, updated_at: 0 });
  return prepared;
}

/** Two fresh stores, one imported into the prepared way and one the generic way; closed after `fn`. */
async function withTwoStores(fn: (stores: { prepared: Store; generic: Store }, urls: { prepared: string; generic: string }) => Promise<void>): Promise<void> {
  if ('skip' in db) return;
  const urls = { prepared: db.freshStoreUrl(), generic: db.freshStoreUrl() };
  const stores = { prepared: await initStore(urls.prepared), generic: await initStore(urls.generic) };
  db.defer(async () => {
    await stores.prepared.close();
    await stores.generic.close();
  });
  try {
    await fn(stores, urls);
  } finally {
    await stores.prepared.close();
    await stores.generic.close();
  }
}

/** A fresh store and a client on its schema (`schema`: its name), both closed after `fn`. */
async function withStoreAndClient(fn: (store: Store, client: pg.Client, schema: string) => Promise<void>): Promise<void> {
  if ('skip' in db) return;
  const url = db.freshStoreUrl();
  const store = await initStore(url);
  db.defer(() => store.close());
  const where = parsePostgresUrl(url);
  const client = new pg.Client({ connectionString: where.connectionString, options: `-c search_path=${where.schema}` });
  await client.connect();
  try {
    await fn(store, client, where.schema);
  } finally {
    await client.end();
    await store.close();
  }
}

describe('PostgreSQL prepared import', { skip }, () => {
  test('chunks applied by the server leave the rows, journal and answers of the generic path; updates and repeated ids fall back to it', async () => {
    if ('skip' in db) return;
    await withTwoStores(async (stores, urls) => {
      const first = lines(N, 3, 'a-');
      // Every chunk of the first file the prepared way (the comparisons below would pass if none were).
      assert.equal(await importBoth(writeJsonl(join(dir, 'first.jsonl'), first), stores, 'wf-first'), N);
      assert.equal(await stores.prepared.analogies.count(), N);
      // The second file: new ids, then (from its third chunk on) ids of the first file and an id twice.
      const second = [...lines(2 * BATCH, 5, 'b-'), ...first.slice(0, 3000).map((a) => ({ ...a, quality_score: 0.5 })), ...lines(8000, 6, 'b-x')];
      second.push({ ...(second[BATCH * 2 + 3500] as object), quality_score: 0.25 });
      // Its first two chunks the prepared way, the rest the generic way.
      assert.equal(await importBoth(writeJsonl(join(dir, 'second.jsonl'), second), stores, 'wf-second'), 2 * BATCH);
      const [p, g] = [await rows(urls.prepared), await rows(urls.generic)];
      assert.equal(p.length, g.length);
      assert.deepEqual(p, g);
      // The given ids of the first file that the second one repeats are at version 2.
      const updated = first.find((a, i) => i < 3000 && typeof a.id === 'string') as { id: string };
      const history = await stores.prepared.analogies.history(updated.id);
      assert.deepEqual(history.map((h) => h.version), [2, 1]);
      for (const filter of [{ min_quality: 0.9, limit: 100 }, { tag: 'q"uote' }, { tag: 'new\nline' }, { frame_type: 'Fr"ame\\x' }, { domain: 'music', limit: 50 }]) {
        assert.deepEqual(
          (await stores.prepared.analogies.query(filter)).map((a) => a.id.startsWith('a-') || a.id.startsWith('b-') ? a.id : a.quality_score),
          (await stores.generic.analogies.query(filter)).map((a) => a.id.startsWith('a-') || a.id.startsWith('b-') ? a.id : a.quality_score),
          JSON.stringify(filter),
        );
      }
    });
  });

  test('the original system\'s lines (staged on worker threads by the legacy scanner): the rows, journal and refusals of the generic path', async () => {
    if ('skip' in db) return;
    await withTwoStores(async (stores, urls) => {
      // Large enough for parallel staging; repeated ids and deletions near the end; lines that are refused.
      const legacy = legacyFile(25_000, 'a-', true);
      const file = join(dir, 'legacy.jsonl');
      writeFileSync(file, legacy.join('\n') + '\n');
      assert.ok(statSync(file).size > PARALLEL_MIN_BYTES);
      const p = await stores.prepared.analogies.import(file, { batchSize: BATCH, workflowId: 'wf-legacy', lenient: true });
      const g = await stores.generic.analogies.import(file, { batchSize: BATCH, workflowId: 'wf-legacy', lenient: true, parallel: false });
      assert.equal(p.rejected, BAD_LINES.length);
      assert.deepEqual(p.rejected_reasons, g.rejected_reasons);
      assert.equal(readFileSync(p.rejects_file as string, 'utf8'), readFileSync(g.rejects_file as string, 'utf8'));
      for (const f of [p.rejects_file, p.reasons_file, g.rejects_file, g.reasons_file]) rmSync(f as string, { force: true });
      assert.equal(p.imported, g.imported);
      // A deletion's time is the import's own.
      const deletionTimes = (rs: unknown[]) => rs.map((r) => JSON.parse(JSON.stringify(r).replace(/(deleted_at\\?": ?\\?")[0-9TZ:.-]+/g, '$1(time)')) as unknown);
      const [pr, gr] = [deletionTimes(await rows(urls.prepared)), deletionTimes(await rows(urls.generic))];
      assert.ok(JSON.stringify(pr).includes('(time)'), 'some records deleted');
      assert.equal(pr.length, gr.length);
      assert.ok(pr.length > legacy.length / 2);
      assert.deepEqual(pr, gr);
    });
  });

  test('after a compaction dropped the version 1 of an updated record, a chunk that names it makes version 3 as the generic path does, not a second current record', async () => {
    if ('skip' in db) return;
    await withTwoStores(async (stores, urls) => {
      const first = lines(N, 3, 'a-');
      await importBoth(writeJsonl(join(dir, 'c-first.jsonl'), first), stores, 'wf-c-first');
      const updated = first.find((a) => typeof a.id === 'string') as { id: string };
      await importBoth(writeJsonl(join(dir, 'c-update.jsonl'), [{ ...updated, quality_score: 0.5 }]), stores, 'wf-c-update');
      await stores.prepared.compact();
      await stores.generic.compact();
      // Its version 1 is gone; it is in the first chunk of the next file, among new ids.
      const third = [...lines(100, 7, 'c-'), { ...updated, quality_score: 0.75 }, ...lines(N, 8, 'd-')];
      await importBoth(writeJsonl(join(dir, 'c-third.jsonl'), third), stores, 'wf-c-third');
      assert.deepEqual((await stores.prepared.analogies.history(updated.id)).map((h) => h.version), [3, 2]);
      assert.equal(await stores.prepared.analogies.count(), N + 100 + N);
      assert.deepEqual(await rows(urls.prepared), await rows(urls.generic));
    });
  });

  test('killed (SIGKILL) between the chunks of a prepared import: a resume applies the rest exactly once, the rows those of the generic path', async () => {
    if ('skip' in db) return;
    await withTwoStores(async (stores, urls) => {
      const n = 30_000;
      const file = writeJsonl(join(dir, 'kill.jsonl'), lines(n, 13, 'a-'));
      const where = parsePostgresUrl(urls.prepared);
      const client = new pg.Client({ connectionString: where.connectionString, options: `-c search_path=${where.schema}` });
      await client.connect();
      const processed = async () => (await client.query<{ n: number }>(`SELECT items_processed AS n FROM workflows WHERE workflow_id = 'wf-kill'`)).rows[0]?.n ?? 0;
      let killedAt: number;
      try {
        // A CLI import in chunks of 1,000 (the prepared way: 30,000 items), killed once some chunks committed.
        const child = cliSpawn(urls.prepared, ['analogies', 'import', file, '--batch-size', '1000', '--workflow-id', 'wf-kill'], { env: { ...process.env, SOFTLOGIC_LEASE_SECONDS: '0.5' } });
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        while ((await processed()) < 3000 && child.exitCode === null) await new Promise((r) => setTimeout(r, 5));
        child.kill('SIGKILL');
        await exited;
        killedAt = await processed();
        assert.ok(killedAt >= 3000 && killedAt < n, `killed mid-import (at ${killedAt} of ${n})`);
        // Exactly the committed chunks are there, each item once.
        assert.equal(await stores.prepared.analogies.count(), killedAt);
      } finally {
        await client.end();
      }
      // Once its lease ran out, the workflow is resumed here.
      await new Promise((r) => setTimeout(r, 700));
      const [done] = await stores.prepared.workflows.takeOver({ batchSize: 1000 });
      assert.equal(done?.workflow_id, 'wf-kill');
      assert.equal(done?.status, 'completed');
      assert.equal(done?.items_processed, n);
      assert.equal(done?.error_count, 0);
      assert.equal(await stores.prepared.analogies.count(), n);
      const g = await stores.generic.analogies.import(file, { batchSize: 1000, workflowId: 'wf-kill', parallel: false });
      assert.equal(g.imported, n);
      assert.deepEqual(await rows(urls.prepared), await rows(urls.generic));
    });
  });

  test('a workflow whose staged items are gone (removed by hand, a store restored without them) fails with STAGED_CORRUPT and applies nothing', async () => {
    if ('skip' in db) return;
    await withStoreAndClient(async (store, client) => {
      await store.analogies.import(writeJsonl(join(dir, 'lost-before.jsonl'), lines(50, 11, 'a-')));
      const file = writeJsonl(join(dir, 'lost.jsonl'), lines(N, 12, 'b-'));
      const before = await store.analogies.count();
      // Staged (pages of staged_pages, a logged table: a crash of the server keeps them), not
      // processed; then the pages go.
      const staged = await store.workflows.createFromFile(file);
      assert.equal(staged.status, 'pending');
      assert.equal((await client.query('SELECT relpersistence FROM pg_class WHERE oid = \'staged_pages\'::regclass')).rows[0].relpersistence, 'p');
      await client.query('TRUNCATE staged_pages');
      await assert.rejects(store.workflows.process(staged.workflow_id), (err: Error & { code?: string }) => err.code === 'STAGED_CORRUPT' && err.message.includes('missing'));
      const after = await store.workflows.get(staged.workflow_id);
      assert.equal(after.status, 'failed');
      assert.equal(after.items_processed, 0);
      assert.equal(await store.analogies.count(), before);
      // Asked again (a resume by id): the same refusal, still nothing applied.
      await assert.rejects(store.workflows.process(staged.workflow_id), (err: Error & { code?: string }) => err.code === 'STAGED_CORRUPT');
      assert.equal(await store.analogies.count(), before);
    });
  });

  test('an import builds the query indexes a dead bulk load left missing', async () => {
    if ('skip' in db) return;
    await withStoreAndClient(async (store, client, schema) => {
      await client.query(`DROP INDEX ${QUERY_INDEXES.map((i) => i.name).join(', ')}`);
      await store.analogies.import(writeJsonl(join(dir, 'small.jsonl'), lines(100, 9, 'a-')));
      const { rows: found } = await client.query(`SELECT indexname FROM pg_indexes WHERE schemaname = $1 AND indexname = ANY($2::text[]) ORDER BY indexname`, [schema, QUERY_INDEXES.map((i) => i.name)]);
      assert.deepEqual(found.map((r) => r.indexname), QUERY_INDEXES.map((i) => i.name).sort());
      assert.equal((await store.analogies.query({ min_quality: 0 })).length, 100);
    });
  });
});
