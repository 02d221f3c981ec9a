/**
 * The fast import paths (issue 2): staging a large file on worker threads (line numbers, strict
 * and lenient outcomes must be exactly those of one sequential pass), input lines embedded
 * verbatim in their records, chunks encoded on a worker while the main thread commits (and the
 * fall back to item-by-item processing when it cannot go on). Bulk loads: store-import-bulk.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openStore } from '../src/index.js';
import { analogyLine, contentOf } from './analogy-lines.js';
import { cli, cliSpawn, itemsOnce, rng, tempDir, collect } from './helpers.js';

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
