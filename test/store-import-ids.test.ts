/**
 * Imports of records that carry their own ids (issue 16): UUIDv4s and arbitrary strings, new,
 * existing, repeated within the file and mixed with records without ids, through the pipelined
 * path (chunks encoded on a worker, existence decided in bulk) and item by item. Every id's
 * current record is its last line, its history holds one version per line in file order, and
 * created_at is kept across versions unless a line sets it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openStore, type Store } from '../src/index.js';
import { preparedItems } from '../src/backend/embedded/prepared-chunks.js';
import { cliSpawn, paddedAnalogy, rng, tempDir } from './helpers.js';
import { startHarness } from './service-helpers.js';

/**
 * A guard against a hang, not a budget: at a load of ~17 on 2 cores the SIGKILL test took 264 s
 * (and failed at the 240 s it had) and the first one 265 s.
 */
const TIMEOUT = 900_000;

type Line = Record<string, unknown> & { metadata: { i: number; note: string } };

function content(i: number, r: () => number): Line {
  return paddedAnalogy(i, r);
}

/**
 * `n` lines: ids first in the line (the fast staging path) as UUIDv4s or strings, some without
 * id, some written other ways (id not first, created_at set, the original system's shape);
 * about one line in 12 repeats an earlier id, some within the same chunk, some far apart.
 */
function idLines(n: number, seed: number, ids: string[] = []): { lines: string[]; ids: string[] } {
  const r = rng(seed);
  const lines: string[] = [];
  const own = [...ids];
  // Membership by set: a scan of `own` per line made 60,000 lines cost ~28 s on a loaded VM.
  const owned = new Set(own);
  for (let i = 0; i < n; i++) {
    const c = content(i, r);
    const pick = r();
    let id: string | null;
    if (own.length > 0 && pick < 0.08) id = own[Math.floor(r() * own.length)];
    else if (own.length > 0 && pick < 0.1) id = own[Math.max(0, own.length - 1 - Math.floor(r() * 50))];
    else if (pick < 0.2) id = null;
    else id = pick < 0.6 ? randomUUID() : `item-${seed}-${i}`;
    if (id !== null && !owned.has(id) && own.length < 200_000) {
      own.push(id);
      owned.add(id);
    }
    const shape = r();
    if (id === null) lines.push(JSON.stringify(c));
    else if (shape < 0.9) lines.push(JSON.stringify({ id, ...c }));
    else if (shape < 0.94) lines.push(JSON.stringify({ ...c, id }));
    else if (shape < 0.97) lines.push(JSON.stringify({ id, ...c, created_at: `2020-01-0${1 + (i % 9)}T00:00:00Z` }));
    else lines.push(JSON.stringify({ type: 'analogy', id, ...c, reasoning: 'kept under metadata.legacy' }));
  }
  return { lines, ids: own };
}

interface Expected {
  /** metadata.i of every line with this id, in file order */
  lines: number[];
  /** created_at the line set, by metadata.i */
  dated: Map<number, string>;
}

function expectations(lines: string[], into = new Map<string, Expected>()): { byId: Map<string, Expected>; withoutId: number } {
  let withoutId = 0;
  for (const text of lines) {
    const v = JSON.parse(text) as Line & { id?: string; created_at?: string };
    if (v.id === undefined) {
      withoutId += 1;
      continue;
    }
    const e: Expected = into.get(v.id) ?? { lines: [], dated: new Map<number, string>() };
    e.lines.push(v.metadata.i);
    if (v.created_at) e.dated.set(v.metadata.i, v.created_at);
    into.set(v.id, e);
  }
  return { byId: into, withoutId };
}

/** What the same lines imported a second time make of each id. */
function importedTwice(byId: Map<string, Expected>): Map<string, Expected> {
  return new Map([...byId].map(([id, e]) => [id, { lines: [...e.lines, ...e.lines], dated: e.dated }]));
}

/** Every id's current record is its last line; its history one version per line, newest first. */
async function checkIds(store: Store, byId: Map<string, Expected>, context = 'default'): Promise<void> {
  for (const [id, e] of byId) {
    const history = await store.analogies.history(id, context);
    assert.deepEqual(
      history.map((h) => (h.metadata as { i: number }).i),
      [...e.lines].reverse(),
      `history of ${id}`,
    );
    assert.deepEqual(
      history.map((h) => h.version),
      e.lines.map((_, k) => e.lines.length - k),
      `versions of ${id}`,
    );
    // created_at: what a line set, else its previous version's.
    for (let k = history.length - 2; k >= 0; k--) {
      const set = e.dated.get((history[k].metadata as { i: number }).i);
      assert.equal(history[k].created_at, set ?? history[k + 1].created_at, `created_at of ${id} v${history[k].version}`);
    }
    const current = await store.analogies.get(id, context);
    assert.equal(current.version, e.lines.length);
    assert.equal(current.deleted_at, null);
  }
}

test('records with their own ids: new, repeated in the file, then all updated by a second import; pipelined and item by item agree', { timeout: TIMEOUT }, async () => {
  const dir = tempDir();
  const n = 30_000;
  const { lines } = idLines(n, 5);
  const file = join(dir, 'ids.jsonl');
  writeFileSync(file, lines.join('\n') + '\n');
  const { byId, withoutId } = expectations(lines);
  assert.ok([...byId.values()].some((e) => e.lines.length > 2), 'the file repeats ids');
  for (const parallel of [true, false]) {
    const store = await openStore(join(dir, `store-${parallel}`), { create: true });
    try {
      const before = preparedItems.count;
      const first = await store.analogies.import(file, { batchSize: 4000, parallel });
      assert.equal(first.imported, n);
      if (parallel) assert.ok(preparedItems.count - before === n, `pipelined ${preparedItems.count - before} of ${n}`);
      assert.equal(await store.analogies.count(), byId.size + withoutId);
      await checkIds(store, byId);
      // The same file again: every line with an id is a new version of its record.
      const again = await store.analogies.import(file, { batchSize: 4000, parallel });
      assert.equal(again.imported, n);
      assert.equal(await store.analogies.count(), byId.size + 2 * withoutId);
      await checkIds(store, importedTwice(byId));
      assert.equal((await store.verify()).valid, true);
    } finally {
      await store.close();
    }
  }
});

test('into a context holding other records: existing ids become versions (a deleted one too), new ones are inserted; gzip and JSON arrays take the same path', { timeout: TIMEOUT }, async () => {
  const dir = tempDir();
  const store = await openStore(join(dir, 'store'), { create: true });
  try {
    const old = idLines(25_000, 7);
    const oldFile = join(dir, 'old.jsonl');
    writeFileSync(oldFile, old.lines.join('\n') + '\n');
    await store.analogies.import(oldFile, { context: 'kb' });
    const expected = expectations(old.lines).byId;
    // New lines: about one in ten an id of the old file.
    const next = idLines(24_000, 8, old.ids.slice(0, 3000));
    // Deleted before the import; the file's last line puts it again (the item path does that one).
    const deleted = old.ids[5000];
    const oldVersions = expected.get(deleted)?.lines.length ?? 0;
    const nextLines = [...next.lines, JSON.stringify({ id: deleted, ...content(99_999, rng(1)) })];
    await store.analogies.delete(deleted, 'kb');
    const before = preparedItems.count;
    writeFileSync(join(dir, 'next.jsonl.gz'), gzipSync(nextLines.join('\n') + '\n'));
    const result = await store.analogies.import(join(dir, 'next.jsonl.gz'), { context: 'kb', batchSize: 5000 });
    assert.equal(result.imported, nextLines.length);
    assert.ok(preparedItems.count - before >= next.lines.length - 5000, `pipelined ${preparedItems.count - before}`);
    // The decompressed copy it was staged from is gone.
    assert.deepEqual(existsSync(join(dir, 'store', 'tmp')) ? readdirSync(join(dir, 'store', 'tmp')) : [], []);
    expectations(nextLines, expected);
    // The deleted record's history holds its tombstone between the two puts.
    const history = await store.analogies.history(deleted, 'kb');
    assert.deepEqual(
      history.map((h) => h.op),
      ['put', 'delete', ...Array<string>(oldVersions).fill('put')],
    );
    expected.delete(deleted);
    await checkIds(store, expected, 'kb');
    assert.equal((await store.analogies.get(deleted, 'kb')).deleted_at, null);

    // A JSON array of 21,000 records: the same machinery (pipelined, ids repeated).
    const array = idLines(21_000, 9, old.ids.slice(0, 100));
    const arrayFile = join(dir, 'a.json');
    writeFileSync(arrayFile, '[\n' + array.lines.join(',\n') + '\n]\n');
    const pipelined = preparedItems.count;
    await store.analogies.import(arrayFile, { context: 'kb', batchSize: 7000 });
    assert.equal(preparedItems.count - pipelined, array.lines.length);
    expectations(array.lines, expected);
    await checkIds(store, expected, 'kb');
    assert.equal((await store.verify()).valid, true);
  } finally {
    await store.close();
  }
});

test('SIGKILL during a pipelined import of records with their own ids (repeated ones too): exactly once, then resumed', { timeout: TIMEOUT }, async () => {
  const dir = tempDir();
  const storeDir = join(dir, 'store');
  const n = 60_000;
  const batch = 4000;
  const { lines } = idLines(n, 11);
  const file = join(dir, 'kill.jsonl');
  writeFileSync(file, lines.join('\n') + '\n');
  const { byId, withoutId } = expectations(lines);
  await (await openStore(storeDir, { create: true })).close();
  let killedWhileProcessing = 0;
  for (let k = 0; k < 3; k++) {
    const peek = new Database(join(storeDir, 'knowledge.sqlite'), { readonly: true });
    const started = peek.prepare(`SELECT count(*) FROM workflows WHERE workflow_id = 'kill'`).pluck().get() === 1;
    peek.close();
    const child = cliSpawn(storeDir, started ? ['workflows', 'resume'] : ['analogies', 'import', file, '--workflow-id', 'kill', '--batch-size', String(batch)]);
    child.stdout?.resume();
    child.stderr?.resume();
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    let running = true;
    void exited.then(() => (running = false));
    while (running) {
      const db = new Database(join(storeDir, 'knowledge.sqlite'), { readonly: true });
      const row = db.prepare(`SELECT items_processed FROM workflows WHERE workflow_id = 'kill'`).pluck().get() as number | undefined;
      db.close();
      if (row !== undefined && row >= (2 * k + 1) * batch) break;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    child.kill('SIGKILL');
    await exited;
    const store = await openStore(storeDir, { resume: false });
    try {
      const processed = (await store.workflows.list()).find((w) => w.workflow_id === 'kill')?.items_processed ?? 0;
      if (processed > 0 && processed < n) killedWhileProcessing += 1;
      // Exactly the first `processed` lines are applied.
      const applied = expectations(lines.slice(0, processed));
      assert.equal(await store.analogies.count(), applied.byId.size + applied.withoutId, `after kill ${k + 1}`);
      await checkIds(store, applied.byId);
      assert.equal((await store.verify()).valid, true);
    } finally {
      await store.close();
    }
  }
  const store = await openStore(storeDir);
  try {
    const wf = await store.workflows.get('kill');
    assert.equal(wf.status, 'completed');
    assert.equal(await store.analogies.count(), byId.size + withoutId);
    await checkIds(store, byId);
    assert.equal((await store.verify()).valid, true);
  } finally {
    await store.close();
  }
  assert.ok(killedWhileProcessing >= 1, 'at least one kill landed mid-processing');
});

test('the service\'s batch route: records with their own ids go the pipelined path, a second upload makes new versions', { timeout: TIMEOUT }, async () => {
  const h = await startHarness({ rateLimit: false, processInWorker: false, uploadLimit: 64 * 1024 * 1024 });
  try {
    const { lines } = idLines(22_000, 13);
    const { byId, withoutId } = expectations(lines);
    const body = lines.join('\n') + '\n';
    for (let round = 1; round <= 2; round++) {
      const before = preparedItems.count;
      const res = await fetch(`${h.base}/api/analogies/batch?context=up&batch_size=5000`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body });
      const answer = (await res.json()) as { imported: number };
      assert.equal(res.status, 201, JSON.stringify(answer));
      assert.equal(answer.imported, lines.length);
      assert.equal(preparedItems.count - before, lines.length);
    }
    assert.equal(await h.store.analogies.count({ context: 'up' }), byId.size + 2 * withoutId);
    await checkIds(h.store, importedTwice(byId), 'up');
  } finally {
    await h.close();
  }
});
