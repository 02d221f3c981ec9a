/**
 * The page queries of a PostgreSQL store (GET /api/analogies, store.analogies.query/queryJson)
 * are prepared statements that PostgreSQL plans once per connection, not once per execution:
 * with the page's LIMIT and OFFSET bound as parameters, the generic plan was costed as reading a
 * tenth of the table and never chosen, so every query was planned again (as much CPU as running
 * it). Read from the connection's own pg_prepared_statements (generic_plans, custom_plans), on a
 * pool of one connection. Also: the answers stay right for every page, and the number of named
 * statements stays bounded however many pages are asked for.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Store } from '../src/index.js';
import { parseFilter } from '../src/methods/analogies/filter.js';
import { createPool, parsePostgresUrl } from '../src/backend/postgres/postgres-connection.js';
import { PostgresContexts } from '../src/backend/postgres/postgres-contexts.js';
import { MAX_PREPARED_QUERIES, PostgresRecordReader } from '../src/backend/postgres/postgres-record-reader.js';
import { inScratchDirectory, usePostgres } from './pg-helpers.js';

const db = await usePostgres();
const scratch = 'skip' in db ? '' : inScratchDirectory();

const DOMAINS = ['music', 'finance', 'biology', 'physics', 'law', 'cooking'];
const N = 6000;

/** A store of N analogies over six domains (enough rows that an unknown LIMIT's generic plan costs far more than a page's). */
async function filledStore(url: string): Promise<void> {
  const file = join(scratch, 'plans.jsonl');
  const lines: string[] = [];
  for (let i = 0; i < N; i++) {
    lines.push(JSON.stringify({ id: `p-${i}`, source_domain: DOMAINS[i % 6], target_domain: DOMAINS[(i * 7 + 1) % 6], quality_score: ((i * 37) % 1000) / 1000 }));
  }
  writeFileSync(file, lines.join('\n') + '\n');
  const store = await Store.init(url);
  try {
    assert.equal((await store.analogies.import(file)).imported, N);
  } finally {
    await store.close();
  }
}

test('page queries: planned once per connection (generic plans), answers unchanged, named statements bounded', { skip: 'skip' in db ? db.skip : false }, async () => {
  if ('skip' in db) return;
  const url = db.freshStoreUrl();
  await filledStore(url);
  const pool = createPool(parsePostgresUrl(url), { max: 1 });
  db.defer(() => pool.end());
  const reader = new PostgresRecordReader(pool, new PostgresContexts(pool));
  await pool.query('ANALYZE analogies');

  // The answers against the rows read without any page, sorted as the page queries sort.
  type Row = { id: string; source_domain: string; target_domain: string };
  const all = ((await pool.query('SELECT id, source_domain, target_domain FROM analogies WHERE current AND deleted_at IS NULL ORDER BY quality DESC, seq DESC')) as { rows: Row[] }).rows;
  for (const [domain, limit, offset] of [['music', 20, 0], ['law', 7, 33], [undefined, 15, 100]] as const) {
    const expected = all.filter((r) => domain === undefined || r.source_domain === domain || r.target_domain === domain).slice(offset, offset + limit).map((r) => r.id);
    for (let i = 0; i < 12; i++) {
      const page = await reader.queryAnalogyJson(parseFilter({ ...(domain === undefined ? {} : { domain }), limit, offset }));
      assert.deepEqual(page.map((t) => (JSON.parse(t) as { id: string }).id), expected, `${domain} limit ${limit} offset ${offset}`);
    }
  }
  // Every domain's first page, twelve times over: one statement, planned generically after PostgreSQL's five custom plans.
  for (let i = 0; i < 12; i++) for (const domain of DOMAINS) await reader.queryAnalogyJson(parseFilter({ domain, limit: 20 }));

  const { rows } = (await pool.query(`SELECT name, generic_plans, custom_plans FROM pg_prepared_statements WHERE name LIKE 'analogy_query_%' ORDER BY name`)) as {
    rows: Array<{ name: string; generic_plans: number; custom_plans: number }>;
  };
  for (const r of rows) {
    // Planned at most five times each (PostgreSQL's custom plans before it compares), then never again.
    assert.ok(r.custom_plans <= 5, `${r.name}: ${r.custom_plans} custom plans (planned at every execution)`);
    assert.ok(r.generic_plans >= r.custom_plans, `${r.name}: ${r.generic_plans} generic plans, ${r.custom_plans} custom`);
  }
  // One statement per page asked for; music's first page of 20 is that of every domain's first page.
  assert.equal(rows.length, 3, JSON.stringify(rows));

  // A client paging through many offsets prepares at most MAX_PREPARED_QUERIES statements; the
  // pages past them are still answered (unnamed, planned each time).
  for (let offset = 0; offset < MAX_PREPARED_QUERIES + 10; offset++) {
    const page = await reader.queryAnalogyJson(parseFilter({ limit: 1, offset }));
    assert.equal((JSON.parse(page[0]) as { id: string }).id, all[offset].id);
  }
  const named = (await pool.query(`SELECT count(*) AS n FROM pg_prepared_statements WHERE name LIKE 'analogy_query_%'`)) as { rows: Array<{ n: number }> };
  assert.equal(named.rows[0].n, MAX_PREPARED_QUERIES);
});
