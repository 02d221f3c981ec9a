/**
 * The fast import paths (issue 2): staging a large file on worker threads (line numbers, strict
 * and lenient outcomes must be exactly those of one sequential pass), input lines embedded
 * verbatim in their records, chunks encoded on a worker while the main thread commits (and the
 * fall back to item-by-item processing when it cannot go on), and bulk-built query indexes
 * (rebuilt by the next open after their owner dies).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openStore } from '../src/index.js';
import type { Analogy } from '../src/core/records.js';
import { cli, cliSpawn, itemsOnce, rng, tempDir, collect } from './helpers.js';

/** Lines of ~300 B; `n` of them make a file past the 8 MB parallel-staging threshold at n >= 30k. */
function analogyLine(i: number, r: () => number): Record<string, unknown> {
  return {
    source_domain: `d${Math.floor(r() * 40)}`,
    target_domain: `t${Math.floor(r() * 40)}`,
    quality_score: Math.round(r() * 1000) / 1000,
    concept_mappings: { [`a${i % 7}`]: 'b', c: `é${i % 3}` },
    frame_mappings: { [`F${i % 5}`]: 'G' },
    tags: [`tag${i % 9}`, 'x'],
    metadata: { i, note: 'a line long enough to make the file cross the parallel staging threshold quickly' },
  };
}

interface BigFile {
  path: string;
  /** 1-based line numbers of the invalid lines */
  bad: number[];
  /** the valid values by metadata.i */
  valid: Map<number, Record<string, unknown>>;
  lines: string[];
}

/**
 * A file of `n` records with blank lines, CRLF line ends and invalid lines spread over every
 * block; `bad` lists the invalid lines' numbers as a single pass counts them.
 */
function writeBigFile(dir: string, n: number, withBad: boolean): BigFile {
  const r = rng(99);
  const lines: string[] = [];
  const bad: number[] = [];
  const valid = new Map<number, Record<string, unknown>>();
  for (let i = 0; i < n; i++) {
    if (i % 4001 === 17) lines.push('');
    if (withBad && i % 5003 === 11) {
      lines.push(i % 2 === 0 ? '{"source_domain": "x", "quality_score": 1.5' : JSON.stringify({ ...analogyLine(i, r), quality_score: 2 }));
      bad.push(lines.length);
      continue;
    }
    const value = analogyLine(i, r);
    valid.set(i, value);
    // Some lines padded, re-ordered or CRLF-terminated: still embedded as they are.
    if (i % 3001 === 5) lines.push(`  ${JSON.stringify({ metadata: value.metadata, ...value })}  \r`);
    else lines.push(JSON.stringify(value));
  }
  const path = join(dir, withBad ? 'bad.jsonl' : 'big.jsonl');
  writeFileSync(path, lines.join('\n') + '\n');
  return { path, bad, valid, lines };
}

function contentOf(a: Analogy | Record<string, unknown>): Record<string, unknown> {
  const { source_domain, target_domain, quality_score, concept_mappings, frame_mappings, tags, metadata } = a as Analogy;
  return { source_domain, target_domain, quality_score, concept_mappings, frame_mappings, tags, metadata };
}

test('a large file staged on workers: every record exact, strict refusal lists exactly the bad lines, lenient rejects exactly them', { timeout: 120_000 }, async () => {
  const dir = tempDir();
  const clean = writeBigFile(dir, 40_000, false);
  assert.ok(readFileSync(clean.path).length > 9 * 1024 * 1024, 'the file must cross the parallel threshold');
  const store = await openStore(join(dir, 'store'), { create: true });
  try {
    const result = await store.analogies.import(clean.path, { context: 'clean' });
    assert.equal(result.imported, clean.valid.size);
    const seen = new Set<number>();
    for await (const a of store.analogies.stream({ context: 'clean' })) {
      const i = (a.metadata as { i: number }).i;
      assert.ok(!seen.has(i), `record ${i} stored twice`);
      seen.add(i);
      assert.deepEqual(contentOf(a), contentOf(clean.valid.get(i) as Record<string, unknown>), `record ${i}`);
      assert.equal(a.version, 1);
      assert.equal(a.deleted_at, null);
      assert.equal(a.context, 'clean');
      assert.equal(a.workflow_id, result.workflow.workflow_id);
      assert.deepEqual(await store.analogies.get(a.id, 'clean'), a);
    }
    assert.equal(seen.size, clean.valid.size);
    // One thread (what the service asks for): the same records.
    const sequential = await store.analogies.import(clean.path, { context: 'sequential', parallel: false });
    assert.equal(sequential.imported, clean.valid.size);
    const content = async (context: string) => (await collect(store.analogies.stream({ context }))).map((a) => JSON.stringify(contentOf(a))).sort();
    assert.deepEqual(await content('sequential'), await content('clean'));

    const dirty = writeBigFile(dir, 40_000, true);
    await assert.rejects(store.analogies.import(dirty.path, { context: 'strict' }), (err: Error & { code?: string; details?: { issues: Array<{ line: number }>; rejected: number } }) => {
      assert.equal(err.code, 'IMPORT_REJECTED');
      assert.equal(err.details?.rejected, dirty.bad.length);
      assert.deepEqual([...new Set(err.details?.issues.map((i) => i.line))], dirty.bad);
      return true;
    });
    assert.ok(!(await store.contexts.list()).some((c) => c.name === 'strict'), 'a refused file imports nothing, not even its context');

    const lenient = await store.analogies.import(dirty.path, { context: 'lenient', lenient: true });
    assert.equal(lenient.imported, dirty.valid.size);
    assert.equal(lenient.rejected, dirty.bad.length);
    const rejects = readFileSync(lenient.rejects_file as string, 'utf8').split('\n').filter(Boolean);
    assert.deepEqual(rejects, dirty.bad.map((n) => dirty.lines[n - 1]));
    assert.equal(await store.analogies.count({ context: 'lenient' }), dirty.valid.size);
    assert.equal((await store.verify()).valid, true);
  } finally {
    await store.close();
  }
});

test('a large workflow whose items are not all fresh puts falls back mid-way: every item applied once', { timeout: 120_000 }, async () => {
  const dir = tempDir();
  const store = await openStore(join(dir, 'store'), { create: true });
  try {
    const r = rng(5);
    const values: unknown[] = [];
    for (let i = 0; i < 30_000; i++) values.push(analogyLine(i, r));
    // An explicit id (not minted by the store) two thirds in, and a deletion of it at the end.
    values.splice(20_000, 0, { ...analogyLine(-1, r), id: 'explicit-1' });
    values.push({ type: 'deletion', target_id: 'explicit-1' });
    const file = join(dir, 'mixed.jsonl');
    writeFileSync(file, values.map((v) => JSON.stringify(v)).join('\n') + '\n');
    const result = await store.analogies.import(file, { batchSize: 4000 });
    assert.equal(result.workflow.status, 'completed');
    assert.equal(result.workflow.items_processed, 30_002);
    assert.equal(result.workflow.error_count, 0);
    assert.equal(await store.analogies.count(), 30_000);
    assert.notEqual((await store.analogies.get('explicit-1')).deleted_at, null);
    assert.equal((await itemsOnce(store)).size, 30_000);
    assert.equal((await store.verify()).valid, true);
  } finally {
    await store.close();
  }
});

test('a write into the same context between two prepared chunks: the chunk is encoded again, nothing lost or doubled', { timeout: 120_000 }, async () => {
  const dir = tempDir();
  const store = await openStore(join(dir, 'store'), { create: true });
  try {
    const r = rng(6);
    const file = join(dir, 'a.jsonl');
    writeFileSync(file, Array.from({ length: 30_000 }, (_, i) => JSON.stringify(analogyLine(i, r))).join('\n') + '\n');
    const wf = await store.workflows.createFromFile(file);
    let interleaved = 0;
    store.events.on('progress', async (p: { items_processed: number; final: boolean }) => {
      // After the first committed chunk: a write that moves the log under the prepared ones.
      if (!p.final && p.items_processed === 5000 && interleaved === 0) {
        interleaved += 1;
        await store.analogies.save({ ...analogyLine(-1, r), id: 'between' });
      }
    });
    const done = await store.workflows.process(wf.workflow_id, { batchSize: 5000 });
    assert.equal(interleaved, 1);
    assert.equal(done.items_processed, 30_000);
    assert.equal(await store.analogies.count(), 30_001);
    assert.equal((await store.analogies.get('between')).version, 1);
    assert.equal((await itemsOnce(store)).size, 30_001);
    assert.equal((await store.verify()).valid, true);
  } finally {
    await store.close();
  }
});

test('bulk load: indexes are dropped for a large import and built at its end; a dead owner is recovered by the next open', { timeout: 120_000 }, async () => {
  const dir = tempDir();
  const storeDir = join(dir, 'store');
  const r = rng(7);
  const file = join(dir, 'a.jsonl');
  writeFileSync(file, Array.from({ length: 110_000 }, (_, i) => JSON.stringify(analogyLine(i, r))).join('\n') + '\n');
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
  assert.equal(await store.analogies.count({ context: 'second' }), 110_000);
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
  const n = 110_000;
  const lines = Array.from({ length: n }, (_, i) => JSON.stringify({ id: `g-${i}`, ...analogyLine(i, r) }));
  const given = join(dir, 'given.jsonl');
  writeFileSync(given, lines.join('\n') + '\n');
  const minted = join(dir, 'minted.jsonl');
  writeFileSync(minted, Array.from({ length: n }, (_, i) => JSON.stringify(analogyLine(i, r))).join('\n') + '\n');
  // A knowledge import whose file repeats an id after its 100,000th line: the rest goes item by item.
  const repeated = join(dir, 'repeated.jsonl');
  writeFileSync(repeated, [...lines.slice(0, 100_000), JSON.stringify({ id: 'g-10', ...analogyLine(10, r), tags: ['again'] }), ...lines.slice(100_000)].join('\n') + '\n');
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
    await knowledge.import(repeated, { merge: 'merge' });
    assert.deepEqual(started().map((e) => e.id_index_dropped), [true]);
    // Put back before the items went one by one (they look ids up), not only at the end.
    assert.deepEqual(cache.set.slice(0, 2), ['-32768', String(initial)]);
    assert.equal(cache.now(), initial);
    // Built where the items began to go one by one (by id lookups, which without it scan the table).
    const built = readFileSync(join(storeDir, 'audit.jsonl'), 'utf8').split('\n').filter((l) => l.includes('"bulk_load_id_index_built"')).map((l) => (JSON.parse(l) as { before_item: number }).before_item);
    assert.deepEqual(built, [100_000]);
    assert.ok(idIndexPresent(knowledge));
    assert.equal(await knowledge.analogies.count(), n);
    const again = await knowledge.analogies.get('g-10');
    assert.equal(again.version, 2, 'the repeated id merged item by item into a second version');
    assert.ok(again.tags.includes('again'), again.tags.join());
    assert.equal((await knowledge.analogies.get('g-109999')).version, 1);
    assert.equal((await knowledge.verify()).valid, true);
  } finally {
    await knowledge.close();
  }
});

/** `n` lines of content fields only (fresh puts: staged on the fast path, processed by the pipeline). */
function freshFile(dir: string, n: number, seed: number, quality?: (i: number) => number | undefined): string {
  const r = rng(seed);
  const file = join(dir, `fresh-${seed}.jsonl`);
  writeFileSync(file, Array.from({ length: n }, (_, i) => JSON.stringify({ ...analogyLine(i, r), ...(quality?.(i) !== undefined ? { quality_score: quality(i) } : {}) })).join('\n') + '\n');
  return file;
}

test('rows that fail after a chunk was handed to the log writer: its lines are cut off, so no replay applies them', { timeout: 120_000 }, async () => {
  const dir = tempDir();
  const storeDir = join(dir, 'store');
  // Item 12,345 carries a quality a trigger refuses: the third chunk of 5,000 fails in its inserts.
  const file = freshFile(dir, 30_000, 21, (i) => (i === 12_345 ? 0.123456 : undefined));
  let store = await openStore(storeDir, { create: true });
  await store.close();
  const db = new Database(join(storeDir, 'knowledge.sqlite'));
  db.exec(`CREATE TRIGGER refuse BEFORE INSERT ON analogies WHEN NEW.quality = 0.123456 BEGIN SELECT RAISE(ABORT, 'refused by the test'); END`);
  db.close();
  store = await openStore(storeDir);
  try {
    await assert.rejects(store.analogies.import(file, { batchSize: 5000, workflowId: 'trig' }), /refused by the test/);
  } finally {
    await store.close();
  }
  const log = join(storeDir, 'contexts', 'default', 'log.jsonl');
  const lines = readFileSync(log, 'utf8').split('\n').filter(Boolean);
  assert.equal(lines.length, 10_000 + 2, 'two committed chunks and their commit lines, nothing of the third');
  const raw = new Database(join(storeDir, 'knowledge.sqlite'));
  raw.exec('DROP TRIGGER refuse');
  raw.close();
  store = await openStore(storeDir, { resume: false });
  try {
    assert.equal(await store.analogies.count(), 10_000);
    assert.equal((await itemsOnce(store)).size, 10_000);
    assert.equal((await store.workflows.get('trig')).items_processed, 10_000);
    assert.equal((await store.verify()).valid, true);
    const done = await store.workflows.process('trig');
    assert.equal(done.items_processed, 30_000);
    assert.equal((await itemsOnce(store)).size, 30_000);
    assert.equal((await store.verify()).valid, true);
  } finally {
    await store.close();
  }
});

test('SIGKILL during a pipelined import of fresh records: every committed chunk exactly once, then resumed to the end', { timeout: 180_000 }, async () => {
  const dir = tempDir();
  const storeDir = join(dir, 'store');
  const n = 120_000;
  const batch = 5000;
  const file = freshFile(dir, n, 22);
  await (await openStore(storeDir, { create: true })).close();
  const r = rng(23);
  let killedWhileProcessing = 0;
  for (let k = 0; k < 4; k++) {
    const peek = new Database(join(storeDir, 'knowledge.sqlite'), { readonly: true });
    const started = peek.prepare(`SELECT count(*) FROM workflows WHERE workflow_id = 'kill'`).pluck().get() === 1;
    peek.close();
    const child = cliSpawn(storeDir, started ? ['workflows', 'resume'] : ['analogies', 'import', file, '--workflow-id', 'kill', '--batch-size', String(batch)]);
    child.stdout?.resume();
    child.stderr?.resume();
    // The first kill lands at once (staging); the others once a chunk or more is committed.
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    let running = true;
    void exited.then(() => (running = false));
    if (k === 0) await new Promise((resolve) => setTimeout(resolve, 300));
    const target = 1 + Math.floor(r() * 3);
    while (running && k > 0) {
      const db = new Database(join(storeDir, 'knowledge.sqlite'), { readonly: true });
      const row = db.prepare(`SELECT items_processed FROM workflows WHERE workflow_id = 'kill'`).pluck().get() as number | undefined;
      db.close();
      if (row !== undefined && row >= target * batch) break;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    child.kill('SIGKILL');
    await exited;
    const store = await openStore(storeDir, { resume: false });
    try {
      const wf = (await store.workflows.list()).find((w) => w.workflow_id === 'kill');
      const processed = wf?.items_processed ?? 0;
      if (processed > 0 && processed < n) killedWhileProcessing += 1;
      assert.equal(await store.analogies.count(), processed, `after kill ${k + 1}`);
      assert.equal((await itemsOnce(store)).size, processed);
      assert.ok(processed % batch === 0 || processed === n, `items_processed ${processed}`);
      const report = await store.verify();
      assert.equal(report.valid, true, JSON.stringify(report.issues));
    } finally {
      await store.close();
    }
  }
  const store = await openStore(storeDir);
  try {
    let wf = (await store.workflows.list()).find((w) => w.workflow_id === 'kill');
    if (!wf) await store.analogies.import(file, { workflowId: 'kill', batchSize: batch });
    else if (wf.status === 'pending') await store.workflows.process('kill');
    wf = await store.workflows.get('kill');
    assert.equal(wf.status, 'completed');
    assert.equal(await store.analogies.count(), n);
    assert.equal((await itemsOnce(store)).size, n);
    assert.equal((await store.verify()).valid, true);
  } finally {
    await store.close();
  }
  assert.ok(killedWhileProcessing >= 1, 'at least one kill landed mid-processing');
});

test('chunks encoded while staging: a refused file leaves nothing and no thread behind; a file too small for the pipeline closes it', { timeout: 120_000 }, async () => {
  const dir = tempDir();
  const storeDir = join(dir, 'store');
  const r = rng(31);
  // 40,000 fresh lines (> 8 MB: staged on workers, encoded while staging) and one bad line at the end.
  const lines = Array.from({ length: 40_000 }, (_, i) => JSON.stringify(analogyLine(i, r)));
  const refused = join(dir, 'refused.jsonl');
  writeFileSync(refused, [...lines, '{"source_domain": "x", "quality_score": 7}'].join('\n') + '\n');
  cli(storeDir, ['init']);
  const started = Date.now();
  const e = cli(storeDir, ['analogies', 'import', refused, '--batch-size', '5000']);
  assert.equal(e.status, 2, e.stdout.slice(0, 300));
  assert.equal((e.json as { error: { code: string } }).error.code, 'IMPORT_REJECTED');
  // The process exits (no encoder thread left waiting for a file that will never grow).
  assert.ok(Date.now() - started < 60_000);
  assert.equal((cli(storeDir, ['analogies', 'query', '--limit', '1']).json as { count: number }).count, 0);
  const log = join(storeDir, 'contexts', 'default', 'log.jsonl');
  assert.ok(!existsSync(log) || readFileSync(log, 'utf8').length === 0);

  // ~1 KB lines: over 8 MB but under the pipeline's 20,000 items, so processing goes item by item.
  const wide = join(dir, 'wide.jsonl');
  writeFileSync(wide, Array.from({ length: 9000 }, (_, i) => JSON.stringify({ ...analogyLine(i, r), metadata: { i, pad: 'w'.repeat(900) } })).join('\n') + '\n');
  const store = await openStore(storeDir);
  try {
    const result = await store.analogies.import(wide, { batchSize: 1000 });
    assert.equal(result.imported, 9000);
    assert.equal((await itemsOnce(store)).size, 9000);
    assert.equal((await store.verify()).valid, true);
  } finally {
    await store.close();
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
  const existing = write('existing.jsonl', lines(210_000, 'e'));
  const second = write('second.jsonl', lines(100_000, 's'));
  const third = write('third.jsonl', lines(100_000, 't'));
  const killedLines = lines(100_000, 'k');
  const killed = write('killed.jsonl', killedLines);
  const started = () => readFileSync(join(storeDir, 'audit.jsonl'), 'utf8').split('\n').filter((l) => l.includes('"bulk_load_started"')).length;
  let store = await openStore(storeDir, { create: true });
  try {
    await store.analogies.import(existing);
    assert.equal(started(), 1, 'into an empty store');
    // 210,000 rows against 100,000: more than twice the import, and their indexes (~21 MB) fit in the 256 MB cache: maintained.
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
    assert.equal(await store.analogies.count(), 410_000);
    assert.equal(await store.analogies.count({ context: 'other' }), 100_000);
  } finally {
    await store.close();
  }
  // The same through a 1 MB cache in a process killed after its first chunk committed during the bulk load.
  const script = `import { openStore } from ${JSON.stringify(new URL('../src/index.js', import.meta.url).href)};
const store = await openStore(${JSON.stringify(storeDir)});
store.backend.db.pragma('cache_size = -1024');
await store.analogies.import(${JSON.stringify(killed)}, { workflowId: 'killed', batchSize: 20000 });
await store.close();`;
  writeFileSync(join(dir, 'killed-import.mjs'), script);
  const child = spawnSync(process.execPath, [join(dir, 'killed-import.mjs')], { encoding: 'utf8', env: { ...process.env, SOFTLOGIC_KILL_AT: 'bulk-load-chunk-committed' }, timeout: 240_000 });
  assert.equal(child.signal, 'SIGKILL', `the import was not killed mid bulk load: ${child.stderr}`);
  assert.equal(started(), 2, 'the killed import bulk loaded');
  store = await openStore(storeDir, { resume: false });
  try {
    const present = store.backend.db.prepare(`SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'analogies_%'`).pluck().all();
    // The load went to a tier of its own (the store is four times the import): the tier's indexes.
    assert.deepEqual([...present].sort(), ['analogies_id', 'analogies_quality', 'analogies_quality_t1', 'analogies_source', 'analogies_source_t1', 'analogies_target', 'analogies_target_t1'], 'built by the open after the owner died');
    assert.equal((await store.workflows.get('killed')).items_processed, 20_000);
    assert.equal(await store.analogies.count(), 430_000);
    assert.equal((await store.verify()).valid, true);
    await store.workflows.process('killed');
    assert.equal((await store.workflows.get('killed')).status, 'completed');
    assert.equal(await store.analogies.count(), 510_000);
    const all = await collect(store.analogies.stream());
    assert.equal(new Set(all.map((a) => a.id)).size, 510_000, 'every record once');
    for (const id of ['e-5', 's-99999', 't-0', 'k-0', 'k-19999', 'k-20000', 'k-99999']) {
      const a = await store.analogies.get(id);
      assert.equal(a.version, 1, id);
      assert.equal((await store.analogies.history(id)).length, 1, id);
    }
    assert.deepEqual(contentOf(await store.analogies.get('k-54321')), contentOf(JSON.parse(killedLines[54_321]) as Record<string, unknown>));
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
