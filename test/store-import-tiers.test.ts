/**
 * Tiered bulk loads (issue 16: 1M into a 5M store): a large import into a store much larger than
 * itself writes its rows in a tier of their own, with query indexes built from its rows alone,
 * leaving the store's untouched. Every answer must be the one a single index gives: checked
 * against a brute-force reference made from the stream, before and after mutations, and after
 * the merge by compact. SOFTLOGIC_BULK_LOAD_MIN_ROWS lowers the bulk-load threshold to 20,000 rows
 * (a fifth of the default): the same plans at a fifth of the sizes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openStore, type Store } from '../src/index.js';
import type { AnalogyFilter } from '../src/core/schemas.js';
import { collect, matches, rng, tempDir } from './helpers.js';

process.env.SOFTLOGIC_BULK_LOAD_MIN_ROWS = '20000';

/** Lines of ~300 B with their own ids; quality in steps of 0.001, so many ties (ordered by key). */
function lines(n: number, prefix: string, seed: number): string[] {
  const r = rng(seed);
  return Array.from({ length: n }, (_, i) =>
    JSON.stringify({
      id: `${prefix}-${i}`,
      source_domain: `d${Math.floor(r() * 40)}`,
      target_domain: r() < 0.05 ? 'd3' : `t${Math.floor(r() * 40)}`,
      quality_score: Math.round(r() * 1000) / 1000,
      concept_mappings: { [`a${i % 7}`]: 'b' },
      frame_mappings: { [`F${i % 5}`]: 'G' },
      tags: [`tag${i % 9}`, 'x'],
      metadata: { i, note: 'a line long enough to look like a real record of a few hundred bytes' },
    }),
  );
}

const FILTERS: AnalogyFilter[] = [
  {},
  { min_quality: 0.99 },
  { min_quality: 0.5, max_quality: 0.502 },
  { domain: 'd3', min_quality: 0.9 },
  { domain: 't5' },
  { tag: 'tag3', min_quality: 0.95 },
];

/**
 * Every filter's query pages and count equal the reference: the active records from the stream
 * (key order), matched by brute force, best quality first and the later key first among equals.
 */
async function assertAnswers(store: Store, label: string, options: { verify: boolean }): Promise<void> {
  const active = await collect(store.analogies.stream());
  const position = new Map(active.map((a, i) => [a.id, i]));
  for (const filter of FILTERS) {
    const expected = active
      .filter((a) => matches(a as Parameters<typeof matches>[0], filter))
      .sort((a, b) => b.quality_score - a.quality_score || (position.get(b.id) as number) - (position.get(a.id) as number))
      .map((a) => a.id);
    assert.equal(await store.analogies.count(filter), expected.length, `${label}: count ${JSON.stringify(filter)}`);
    for (const [offset, limit] of [[0, 50], [400, 25]]) {
      const got = (await store.analogies.query({ ...filter, offset, limit })).map((a) => a.id);
      assert.deepEqual(got, expected.slice(offset, offset + limit), `${label}: query ${JSON.stringify({ ...filter, offset, limit })}`);
    }
  }
  if (options.verify) assert.equal((await store.verify()).valid, true, `${label}: verify`);
}

function auditEvents(storeDir: string, event: string): Array<Record<string, unknown>> {
  return readFileSync(join(storeDir, 'audit.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.includes(`"event":"${event}"`))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

function tierIndexNames(store: Store): string[] {
  return (store.backend.db.prepare(`SELECT name FROM sqlite_master WHERE type = 'index' AND name GLOB 'analogies_*_t[0-9]*'`).pluck().all() as string[]).sort();
}

test('a bulk load into a much larger store goes to a tier of its own; queries, counts, gets, deletes, restores, updates and verify answer as over one index; compact merges the tiers', { timeout: 600_000 }, async () => {
  const dir = tempDir();
  const storeDir = join(dir, 'store');
  const write = (name: string, values: string[]) => {
    writeFileSync(join(dir, name), values.join('\n') + '\n');
    return join(dir, name);
  };
  const store = await openStore(storeDir, { create: true });
  try {
    await store.analogies.import(write('base.jsonl', lines(42_000, 'e', 1)));
    assert.equal(auditEvents(storeDir, 'bulk_load_started').length, 1, 'into an empty store: the indexes rebuilt');
    const storeIndexSql = () => store.backend.db.prepare(`SELECT name, sql FROM sqlite_master WHERE name IN ('analogies_quality', 'analogies_source', 'analogies_target') ORDER BY name`).all();
    const before = storeIndexSql();
    // Seen through a 1 MB page cache, the store's indexes outgrow it: a bulk load is worth it...
    store.backend.db.pragma('cache_size = -1024');
    await store.analogies.import(write('first.jsonl', lines(20_000, 's', 2)));
    // ...and, the store being twice the import, it goes to a tier, the store's indexes kept.
    const started = auditEvents(storeDir, 'bulk_load_started');
    assert.equal(started.length, 2);
    assert.equal(started[1].tier, 1);
    assert.equal(auditEvents(storeDir, 'bulk_load_indexed').at(-1)?.tier, 1);
    assert.deepEqual(tierIndexNames(store), ['analogies_id_t1', 'analogies_quality_t1', 'analogies_source_t1', 'analogies_target_t1']);
    assert.deepEqual(storeIndexSql(), before);
    assert.equal(store.backend.db.prepare('SELECT count(*) FROM analogies WHERE tier = 1').pluck().get(), 20_000);
    const plan = (store.backend.db.prepare(`EXPLAIN QUERY PLAN SELECT key FROM analogies a WHERE a.ctx = 1 AND a.deleted_at IS NULL AND a.tier = 1 ORDER BY qb DESC, quality DESC LIMIT 5`).all() as Array<{ detail: string }>).map((p) => p.detail).join(' ');
    assert.match(plan, /analogies_quality_t1/);
    assert.equal(await store.analogies.count(), 62_000);
    await assertAnswers(store, 'one tier', { verify: false });
    // The load's ids are in an id index of the tier's own, built at its end; the store's holds
    // its own rows only. A lookup by id probes each (the test's plan checks the tier's).
    const idPlan = (sql: string) => (store.backend.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all() as Array<{ detail: string }>).map((p) => p.detail).join(' ');
    assert.match(idPlan('SELECT key FROM analogies WHERE ctx = 1 AND tier = 1 AND idh = 5'), /analogies_id_t1 \(ctx=\? AND idh=\?\)/);
    assert.match(idPlan('SELECT key FROM analogies WHERE ctx = 1 AND tier IS NULL AND idh = 5'), /analogies_id \(ctx=\? AND idh=\?\)/);
    assert.equal(store.backend.db.prepare('SELECT count(*) FROM analogies INDEXED BY analogies_id WHERE ctx = 1 AND tier IS NULL').pluck().get(), 42_000);
    for (const id of ['e-3', 's-3']) assert.equal((await store.analogies.get(id)).id, id);

    // Mutations of rows in the tier and of rows outside it.
    const original = await store.analogies.get('s-10');
    await store.analogies.delete('s-5');
    await store.analogies.delete('e-7');
    await store.analogies.delete('s-6');
    await store.analogies.restore('s-5');
    const updated = await store.analogies.save({ ...original, quality_score: 0.9995, tags: ['moved'] });
    assert.equal(updated.version, 2);
    assert.equal((await store.analogies.get('s-10')).quality_score, 0.9995);
    assert.equal((await store.analogies.history('s-10')).length, 2);
    assert.equal((await store.analogies.get('s-6')).deleted_at !== null, true);
    assert.equal(await store.analogies.count(), 61_998, 'two deleted, one restored');
    await assertAnswers(store, 'after mutations', { verify: true });

    // An import of new versions of rows in the tier and outside it (the encoder's filter of
    // existing ids holds both tiers' hashes): each a version 2, history kept.
    const again = [...lines(300, 's', 3).slice(200), ...lines(300, 'e', 4).slice(200)];
    await store.analogies.import(write('again.jsonl', again));
    for (const id of ['s-250', 'e-299']) {
      assert.equal((await store.analogies.get(id)).version, 2, id);
      assert.equal((await store.analogies.history(id)).length, 2, id);
    }
    assert.equal(await store.analogies.count(), 61_998);
    await assertAnswers(store, 'after updates', { verify: true });

    // compact merges them: no tier left, the store's indexes over every row.
    await store.compact('default');
    assert.equal(auditEvents(storeDir, 'analogy_tiers_merged').length, 1);
    assert.deepEqual(tierIndexNames(store), []);
    assert.equal(store.backend.db.prepare('SELECT count(*) FROM analogies WHERE tier IS NOT NULL').pluck().get(), 0);
    await assertAnswers(store, 'merged', { verify: true });
    for (const id of ['e-0', 's-19999']) assert.equal((await store.analogies.get(id)).id, id);
  } finally {
    await store.close();
  }
});

test('a tiered load that goes on item by item (a new version of a deleted record stops the chunk encoder) builds its tier\'s id index first; every row found by id and query', { timeout: 300_000 }, async () => {
  const dir = tempDir();
  const storeDir = join(dir, 'store');
  const store = await openStore(storeDir, { create: true });
  try {
    writeFileSync(join(dir, 'base.jsonl'), lines(42_000, 'e', 1).join('\n') + '\n');
    await store.analogies.import(join(dir, 'base.jsonl'));
    store.backend.db.pragma('cache_size = -1024');
    await store.analogies.delete('e-5');
    const incoming = lines(20_000, 'n', 5);
    incoming[12_345] = lines(6, 'e', 9)[5];
    writeFileSync(join(dir, 'load.jsonl'), incoming.join('\n') + '\n');
    await store.analogies.import(join(dir, 'load.jsonl'), { batchSize: 5000 });
    assert.equal(auditEvents(storeDir, 'bulk_load_started')[1]?.tier, 1);
    // Chunks 0-10,000 went to the tier; from the chunk holding e-5 on, items one by one, which look ids up.
    assert.deepEqual(auditEvents(storeDir, 'bulk_load_id_index_built').map((e) => e.before_item), [10_000]);
    assert.deepEqual(tierIndexNames(store), ['analogies_id_t1', 'analogies_quality_t1', 'analogies_source_t1', 'analogies_target_t1']);
    assert.equal(store.backend.db.prepare('SELECT count(*) FROM analogies WHERE tier = 1').pluck().get(), 10_000);
    for (const id of ['n-0', 'n-9999', 'n-10000', 'n-19999']) assert.equal((await store.analogies.get(id)).id, id);
    assert.equal((await store.analogies.get('e-5')).version, 3);
    assert.equal(await store.analogies.count(), 62_000 - 1);
    await assertAnswers(store, 'item by item after a tier', { verify: true });
  } finally {
    await store.close();
  }
});
