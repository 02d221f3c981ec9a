/**
 * Bulk loads (issue 2 and 16): a large import drops the query indexes (and the id index for
 * records with their own ids into an empty context) and builds them at its end, or into a much
 * larger store writes a tier of its own; a dead owner's indexes are built by the next open.
 * SOFTLOGIC_BULK_LOAD_MIN_ROWS lowers the 100,000-row threshold for this file (children inherit
 * it), so each load is ~20,000 rows: still over the pipeline's 20,000 items, so the same paths
 * (staged on workers, chunks encoded while the main thread commits) as a production bulk load.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openStore } from '../src/index.js';
import type { Analogy } from '../src/core/records.js';
import { BULK_LOAD_MIN_ROWS, bulkLoadMinRows } from '../src/core/bulk-load-threshold.js';
import { analogyLine, contentOf } from './analogy-lines.js';
import { cli, collect, rng, tempDir } from './helpers.js';

const MIN_ROWS = 20_000;
process.env.SOFTLOGIC_BULK_LOAD_MIN_ROWS = String(MIN_ROWS);
/** A bulk load's size in the tests below: over MIN_ROWS. */
const N = 22_000;
/** The killed load's chunk: it dies after the first one committed. */
const KILLED_BATCH = 4000;

test('SOFTLOGIC_BULK_LOAD_MIN_ROWS: 100,000 by default, bad values refused (at open too); an import one row under it keeps the indexes, one of it bulk loads', async () => {
  const saved = process.env.SOFTLOGIC_BULK_LOAD_MIN_ROWS;
  try {
    delete process.env.SOFTLOGIC_BULK_LOAD_MIN_ROWS;
    assert.equal(bulkLoadMinRows(), 100_000);
    assert.equal(BULK_LOAD_MIN_ROWS, 100_000);
    for (const bad of ['0', '-5', '1.5', 'many', '1e400']) {
      process.env.SOFTLOGIC_BULK_LOAD_MIN_ROWS = bad;
      assert.throws(() => bulkLoadMinRows(), (err: Error & { code?: string }) => err.code === 'INVALID_INPUT' && err.message.includes('SOFTLOGIC_BULK_LOAD_MIN_ROWS'), bad);
    }
    const dir = tempDir();
    const storeDir = join(dir, 'store');
    // Refused at open, before any import consults it: a small command fails as clearly as a large import.
    process.env.SOFTLOGIC_BULK_LOAD_MIN_ROWS = 'many';
    await assert.rejects(openStore(storeDir, { create: true }), (err: Error & { code?: string }) => err.code === 'INVALID_INPUT' && err.message.includes('SOFTLOGIC_BULK_LOAD_MIN_ROWS'));
    const refused = cli(storeDir, ['stats'], { env: { ...process.env, SOFTLOGIC_BULK_LOAD_MIN_ROWS: '0' } });
    assert.equal(refused.status, 2, refused.stdout + refused.stderr);
    assert.match(refused.stdout + refused.stderr, /SOFTLOGIC_BULK_LOAD_MIN_ROWS must be a positive integer/);
    process.env.SOFTLOGIC_BULK_LOAD_MIN_ROWS = '300';
    const r = rng(3);
    const file = (n: number) => {
      const path = join(dir, `n${n}.jsonl`);
      writeFileSync(path, Array.from({ length: n }, (_, i) => JSON.stringify(analogyLine(i, r))).join('\n') + '\n');
      return path;
    };
    const started = () => readFileSync(join(storeDir, 'audit.jsonl'), 'utf8').split('\n').filter((l) => l.includes('"bulk_load_started"')).length;
    const store = await openStore(storeDir, { create: true });
    try {
      await store.analogies.import(file(299), { context: 'under' });
      assert.equal(started(), 0, 'one row under the threshold: indexes maintained');
      await store.analogies.import(file(300), { context: 'at' });
      assert.equal(started(), 1, 'at the threshold: a bulk load');
      assert.equal(await store.analogies.count({ context: 'at' }), 300);
      assert.equal((await store.verify()).valid, true);
    } finally {
      await store.close();
    }
  } finally {
    if (saved === undefined) delete process.env.SOFTLOGIC_BULK_LOAD_MIN_ROWS;
    else process.env.SOFTLOGIC_BULK_LOAD_MIN_ROWS = saved;
  }
});

test('bulk load: indexes are dropped for a large import and built at its end; a dead owner is recovered by the next open', { timeout: 120_000 }, async () => {
  const dir = tempDir();
  const storeDir = join(dir, 'store');
  const r = rng(7);
  const file = join(dir, 'a.jsonl');
  writeFileSync(file, Array.from({ length: N }, (_, i) => JSON.stringify(analogyLine(i, r))).join('\n') + '\n');
  let store = await openStore(storeDir, { create: true });
  await store.analogies.import(file);
  const audit = readFileSync(join(storeDir, 'audit.jsonl'), 'utf8');
  assert.match(audit, /"event":"bulk_load_started"/);
  assert.match(audit, /"event":"bulk_load_indexed"/);
  const plan = (store.backend.db.prepare(`EXPLAIN QUERY PLAN SELECT key FROM analogies WHERE ctx = 1 AND deleted_at IS NULL AND tier IS NULL AND qb >= 900 ORDER BY qb DESC, quality DESC LIMIT 5`).all() as Array<{ detail: string }>).map((p) => p.detail).join(' ');
  assert.match(plan, /analogies_quality/);
  const top = await store.analogies.query({ min_quality: 0.99, limit: 5 });
  // bulkLoad: false (what the service asks for) keeps the indexes during a large import.
  const wf = await store.workflows.createFromFile(file, { context: 'second' });
  await store.workflows.process(wf.workflow_id, { bulkLoad: false });
  assert.equal(readFileSync(join(storeDir, 'audit.jsonl'), 'utf8').match(/"event":"bulk_load_started"/g)?.length, 1);
  assert.equal(await store.analogies.count({ context: 'second' }), N);
  await store.close();

  // A bulk load whose owner died: indexes missing, owner recorded with a pid that is gone.
  const db = new Database(join(storeDir, 'knowledge.sqlite'));
  db.exec('DROP INDEX analogies_quality; DROP INDEX analogies_source; DROP INDEX analogies_target');
  db.prepare(`INSERT OR REPLACE INTO meta(key, value) VALUES ('bulk_load', ?)`).run(JSON.stringify({ pid: 2 ** 22 + 12345, owner: 'dead', started_at: new Date().toISOString() }));
  db.close();
  store = await openStore(storeDir);
  try {
    assert.equal((await store.verify()).valid, true);
    assert.deepEqual(await store.analogies.query({ min_quality: 0.99, limit: 5 }), top);
    const present = store.backend.db.prepare(`SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'analogies_%'`).pluck().all();
    assert.ok(present.includes('analogies_quality') && present.includes('analogies_source') && present.includes('analogies_target'));
  } finally {
    await store.close();
  }

  // An index dropped behind the store's back, with no bulk load running: verify reports it.
  store = await openStore(storeDir);
  try {
    store.backend.db.exec('DROP INDEX analogies_source');
    const report = await store.verify();
    assert.equal(report.valid, false);
    assert.ok(report.issues.some((i) => i.check === 'sqlite_schema' && i.message.includes('analogies_source')), JSON.stringify(report.issues));
  } finally {
    await store.close();
  }
  const reopened = cli(storeDir, ['verify']);
  assert.equal(reopened.status, 0, 'the next open builds the missing index');
});

test('bulk load of records with their own ids into an empty context leaves out the id index too; it is built before items go one by one, and at the end', { timeout: 180_000 }, async () => {
  const dir = tempDir();
  let storeDir = join(dir, 'store');
  const r = rng(11);
  // Over 8 MB (~28,000 lines): a knowledge import stages on workers, the prepared path, only from there.
  const n = 30_000;
  const lines = Array.from({ length: n }, (_, i) => JSON.stringify({ id: `g-${i}`, ...analogyLine(i, r) }));
  const given = join(dir, 'given.jsonl');
  writeFileSync(given, lines.join('\n') + '\n');
  const minted = join(dir, 'minted.jsonl');
  writeFileSync(minted, Array.from({ length: n }, (_, i) => JSON.stringify(analogyLine(i, r))).join('\n') + '\n');
  // A knowledge import whose file repeats an id after its MIN_ROWS-th line: the rest goes item by item.
  const repeated = join(dir, 'repeated.jsonl');
  writeFileSync(repeated, [...lines.slice(0, MIN_ROWS), JSON.stringify({ id: 'g-10', ...analogyLine(10, r), tags: ['again'] }), ...lines.slice(MIN_ROWS)].join('\n') + '\n');
  const started = () => readFileSync(join(storeDir, 'audit.jsonl'), 'utf8').split('\n').filter((l) => l.includes('"bulk_load_started"')).map((l) => JSON.parse(l) as { id_index_dropped: boolean });
  const idIndexPresent = (store: Awaited<ReturnType<typeof openStore>>) => store.backend.db.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = 'analogies_id'`).pluck().get() === 1;
  // The page cache sizes the import's connection was set to (a load that only appends keeps a small one).
  const cacheSizes = (store: Awaited<ReturnType<typeof openStore>>) => {
    const db = store.backend.db;
    const pragma = db.pragma.bind(db);
    const set: string[] = [];
    db.pragma = ((source: string, options?: Parameters<typeof pragma>[1]) => {
      if (/^cache_size = /.test(source)) set.push(source.slice('cache_size = '.length));
      return pragma(source, options);
    }) as typeof db.pragma;
    return { set, now: () => pragma('cache_size', { simple: true }) as number };
  };
  const store = await openStore(storeDir, { create: true });
  try {
    await store.contexts.create('minted');
    const before = await store.analogies.count();
    const cache = cacheSizes(store);
    const initial = cache.now();
    await store.analogies.import(given);
    assert.deepEqual(started().map((e) => e.id_index_dropped), [true], 'given ids into an empty context');
    // Every row of that load appends: a 32 MB page cache (-32768 KiB) meanwhile, put back before the indexes are built.
    assert.deepEqual(cache.set.slice(0, 2), ['-32768', String(initial)]);
    assert.equal(cache.now(), initial);
    cache.set.length = 0;
    assert.ok(idIndexPresent(store), 'built at the end');
    assert.equal(await store.analogies.count(), before + n);
    assert.deepEqual([(await store.analogies.get('g-77')).version, (await store.analogies.get('g-77')).source_domain], [1, JSON.parse(lines[77]).source_domain]);
    // Into a context holding records (minted ids, which append to the id index): it stays, ids are looked up.
    await store.analogies.import(minted, { context: 'minted' });
    await store.analogies.import(given, { context: 'minted' });
    assert.deepEqual(started().map((e) => e.id_index_dropped), [true, false, false]);
    assert.ok(!cache.set.includes('-32768'), 'loads that keep the id index keep their page cache');
    assert.equal(cache.now(), initial);
    assert.equal((await store.analogies.get('g-77', 'minted')).version, 1);
    assert.equal((await store.verify()).valid, true);
  } finally {
    await store.close();
  }
  // A fresh store (a bulk load needs one not much larger than the import).
  storeDir = join(dir, 'knowledge');
  const knowledge = await openStore(storeDir, { create: true });
  try {
    const cache = cacheSizes(knowledge);
    const initial = cache.now();
    await knowledge.import(repeated, { merge: 'merge', batchSize: 5000 });
    assert.deepEqual(started().map((e) => e.id_index_dropped), [true]);
    // Put back before the items went one by one (they look ids up), not only at the end.
    assert.deepEqual(cache.set.slice(0, 2), ['-32768', String(initial)]);
    assert.equal(cache.now(), initial);
    // Built where the items began to go one by one (by id lookups, which without it scan the table).
    const built = readFileSync(join(storeDir, 'audit.jsonl'), 'utf8').split('\n').filter((l) => l.includes('"bulk_load_id_index_built"')).map((l) => (JSON.parse(l) as { before_item: number }).before_item);
    assert.deepEqual(built, [MIN_ROWS]);
    assert.ok(idIndexPresent(knowledge));
    assert.equal(await knowledge.analogies.count(), n);
    const again = await knowledge.analogies.get('g-10');
    assert.equal(again.version, 2, 'the repeated id merged item by item into a second version');
    assert.ok(again.tags.includes('again'), again.tags.join());
    assert.equal((await knowledge.analogies.get(`g-${n - 1}`)).version, 1);
    assert.equal((await knowledge.verify()).valid, true);
  } finally {
    await knowledge.close();
  }
});

test('bulk load into a store several times larger whose indexes outgrow the page cache; kept out when the caller may end it early or the context is small; SIGKILL mid-load: indexes built by the next open, the rest resumed exactly', { timeout: 420_000 }, async () => {
  const dir = tempDir();
  const storeDir = join(dir, 'store');
  const r = rng(31);
  const lines = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => JSON.stringify({ id: `${prefix}-${i}`, ...analogyLine(i, r) }));
  const write = (name: string, values: string[]) => {
    writeFileSync(join(dir, name), values.join('\n') + '\n');
    return join(dir, name);
  };
  const existing = write('existing.jsonl', lines(42_000, 'e'));
  const second = write('second.jsonl', lines(MIN_ROWS, 's'));
  const third = write('third.jsonl', lines(MIN_ROWS, 't'));
  const killedLines = lines(MIN_ROWS, 'k');
  const killed = write('killed.jsonl', killedLines);
  const started = () => readFileSync(join(storeDir, 'audit.jsonl'), 'utf8').split('\n').filter((l) => l.includes('"bulk_load_started"')).length;
  let store = await openStore(storeDir, { create: true });
  try {
    await store.analogies.import(existing);
    assert.equal(started(), 1, 'into an empty store');
    // 42,000 rows against 20,000: more than twice the import, and their indexes (~4 MB) fit in the 256 MB cache: maintained.
    await store.analogies.import(second);
    assert.equal(started(), 1);
    // The same store seen through a 1 MB page cache: its indexes no longer fit, so a rebuild is cheaper...
    store.backend.db.pragma('cache_size = -1024');
    // ...unless the caller may end the load when queries arrive (the service): then they are maintained...
    await store.analogies.import(third, { endBulkLoadWhen: () => false });
    assert.equal(started(), 1);
    // ...or the import goes to another context, whose entries (after the others' in every index) fit.
    await store.analogies.import(third, { context: 'other' });
    assert.equal(started(), 1);
    assert.equal(await store.analogies.count(), 82_000);
    assert.equal(await store.analogies.count({ context: 'other' }), MIN_ROWS);
  } finally {
    await store.close();
  }
  // The same through a 1 MB cache in a process killed after its first chunk committed during the bulk load.
  const script = `import { openStore } from ${JSON.stringify(new URL('../src/index.js', import.meta.url).href)};
const store = await openStore(${JSON.stringify(storeDir)});
store.backend.db.pragma('cache_size = -1024');
await store.analogies.import(${JSON.stringify(killed)}, { workflowId: 'killed', batchSize: ${KILLED_BATCH} });
await store.close();`;
  writeFileSync(join(dir, 'killed-import.mjs'), script);
  const child = spawnSync(process.execPath, [join(dir, 'killed-import.mjs')], { encoding: 'utf8', env: { ...process.env, SOFTLOGIC_KILL_AT: 'bulk-load-chunk-committed' }, timeout: 240_000 });
  assert.equal(child.signal, 'SIGKILL', `the import was not killed mid bulk load: ${child.stderr}`);
  assert.equal(started(), 2, 'the killed import bulk loaded');
  store = await openStore(storeDir, { resume: false });
  try {
    const present = store.backend.db.prepare(`SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'analogies_%'`).pluck().all();
    // The load went to a tier of its own (the store is five times the import): the tier's indexes.
    assert.deepEqual([...present].sort(), ['analogies_id', 'analogies_id_t1', 'analogies_quality', 'analogies_quality_t1', 'analogies_source', 'analogies_source_t1', 'analogies_target', 'analogies_target_t1'], 'built by the open after the owner died');
    assert.equal((await store.workflows.get('killed')).items_processed, KILLED_BATCH);
    assert.equal(await store.analogies.count(), 82_000 + KILLED_BATCH);
    assert.equal((await store.verify()).valid, true);
    await store.workflows.process('killed');
    assert.equal((await store.workflows.get('killed')).status, 'completed');
    assert.equal(await store.analogies.count(), 102_000);
    const all = await collect(store.analogies.stream());
    assert.equal(new Set(all.map((a) => a.id)).size, 102_000, 'every record once');
    for (const id of ['e-5', 's-19999', 't-0', 'k-0', `k-${KILLED_BATCH - 1}`, `k-${KILLED_BATCH}`, 'k-19999']) {
      const a = await store.analogies.get(id);
      assert.equal(a.version, 1, id);
      assert.equal((await store.analogies.history(id)).length, 1, id);
    }
    assert.deepEqual(contentOf(await store.analogies.get('k-14321')), contentOf(JSON.parse(killedLines[14_321]) as Record<string, unknown>));
    // Queries through the rebuilt indexes give what a scan of every record gives.
    const expected = (keep: (a: Analogy) => boolean) => all.filter(keep).map((a) => a.id).sort();
    const got = async (filter: Parameters<typeof store.analogies.query>[0]) => (await store.analogies.query({ ...filter, limit: 1_000_000 })).map((a) => a.id).sort();
    assert.deepEqual(await got({ min_quality: 0.995 }), expected((a) => a.quality_score >= 0.995));
    assert.deepEqual(await got({ domain: 'd3', min_quality: 0.9 }), expected((a) => (a.source_domain === 'd3' || a.target_domain === 'd3') && a.quality_score >= 0.9));
    assert.equal((await store.verify()).valid, true);
  } finally {
    await store.close();
  }
});
