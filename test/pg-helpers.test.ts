/**
 * The PostgreSQL test set-up itself: a fresh database per run, and an unreachable server that
 * fails the run under CI=true instead of skipping it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import { usePostgres, PG_SERVER_URL } from './pg-helpers.js';

const db = await usePostgres();
const skip = 'skip' in db ? db.skip : false;

test('the run gets a database of its own, empty', { skip }, async () => {
  if ('skip' in db) return;
  assert.match(db.name, /^softlogic_test_\d+_[0-9a-f]{8}$/);
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = 'public'`);
    assert.equal(rows[0]?.n, '0');
  } finally {
    await client.end();
  }
  assert.notEqual(db.freshStoreUrl(), db.freshStoreUrl());
});

test('an unreachable server fails under CI=true and is skipped with its reason otherwise', async () => {
  const wrongPort = new URL(PG_SERVER_URL);
  wrongPort.port = '1';
  const saved = process.env.CI;
  try {
    process.env.CI = 'true';
    await assert.rejects(usePostgres(wrongPort.toString()), /cannot be reached.*CI=true/s);
    process.env.CI = 'false';
    const result = await usePostgres(wrongPort.toString());
    assert.ok('skip' in result && /127\.0\.0\.1:1\/test cannot be reached/.test(result.skip), JSON.stringify(result));
  } finally {
    if (saved === undefined) delete process.env.CI;
    else process.env.CI = saved;
  }
});
