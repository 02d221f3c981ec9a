/**
 * An upload to a quiet server is staged while its body arrives (issue 16): the import reads the
 * file's byte ranges as the lines that start in them are written (ImportOptions.arriving). It
 * makes exactly what the complete file makes; a body that stops before its end, or holds an
 * invalid line, leaves the store as it was.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openStore, type Store } from '../src/index.js';
import { arrivingFile, fileBroken, fileComplete, linesWritten } from '../src/core/arriving-file.js';
import { BLOCK_BYTES, PARALLEL_MIN_BYTES, parallelStaged } from '../src/methods/analogies/stage-parallel.js';
import { uploadDir } from '../src/service/uploads.js';
import { asyncErr, sleep, tempDir } from './helpers.js';
import { slowUpload, startHarness } from './service-helpers.js';
import { dump, givenIds, values } from './import-compare.js';

const TIMEOUT = 600_000;
const vs = values(40_000, 16);
const given = givenIds(vs);
const text = Buffer.from(vs.map((v) => JSON.stringify(v)).join('\n') + '\n');

/** What importing the complete file makes (and its count). */
async function plainImport(dir: string): Promise<{ dump: Map<string, unknown[]>; imported: number }> {
  const file = join(dir, 'whole.jsonl');
  writeFileSync(file, text);
  const store = await openStore(join(dir, 'plain'), { create: true });
  try {
    const result = await store.analogies.import(file, { batchSize: 5000 });
    return { dump: await dump(store, given), imported: result.imported };
  } finally {
    await store.close();
  }
}

async function until(what: string, ok: () => boolean, ms = 60_000): Promise<void> {
  const t0 = Date.now();
  while (!ok()) {
    if (Date.now() - t0 > ms) assert.fail(`timed out waiting: ${what}`);
    await sleep(10);
  }
}

async function emptyStore(store: Store): Promise<void> {
  assert.equal(await store.analogies.count(), 0);
  assert.deepEqual(await store.workflows.list(), []);
  assert.equal((await store.verify()).valid, true);
}

test('a file staged while it arrives (cut mid-line) makes exactly what the complete file makes; one that stops arriving leaves the store empty', { timeout: TIMEOUT }, async () => {
  assert.ok(text.length > Math.max(PARALLEL_MIN_BYTES, 2 * BLOCK_BYTES + 12_345), `${text.length} bytes: several blocks, staged on worker threads`);
  const dir = tempDir();
  const plain = await plainImport(dir);
  assert.equal(plain.imported, vs.length);

  const file = join(dir, 'arriving.jsonl');
  const arriving = arrivingFile(text.length);
  // The first part ends inside a line: only the lines before it are announced.
  const cut = 2 * BLOCK_BYTES + 12_345;
  writeFileSync(file, text.subarray(0, cut));
  linesWritten(arriving, text.lastIndexOf(10, cut - 1) + 1);
  const store = await openStore(join(dir, 'arrived'), { create: true });
  try {
    const blocks = parallelStaged.blocks;
    const importing = store.analogies.import(file, { batchSize: 5000, arriving });
    // Staged before the rest of the file exists: the blocks whose lines are all there.
    await until('the first blocks staged', () => parallelStaged.blocks - blocks >= 1);
    assert.ok(parallelStaged.blocks - blocks <= 2, 'no block past the announced lines');
    appendFileSync(file, text.subarray(cut));
    fileComplete(arriving, text.length);
    const result = await importing;
    assert.equal(result.imported, vs.length);
    assert.equal(parallelStaged.blocks - blocks, Math.ceil(text.length / BLOCK_BYTES));
    assert.deepEqual(await dump(store, given), plain.dump);
    assert.equal((await store.verify()).valid, true);
  } finally {
    await store.close();
  }

  // The writer fails half way: the import is refused and nothing is staged or applied.
  const broken = join(dir, 'broken.jsonl');
  const stops = arrivingFile(text.length);
  writeFileSync(broken, text.subarray(0, cut));
  linesWritten(stops, text.lastIndexOf(10, cut - 1) + 1);
  const other = await openStore(join(dir, 'broken'), { create: true });
  try {
    const importing = asyncErr(() => other.analogies.import(broken, { batchSize: 5000, arriving: stops }));
    await sleep(200);
    fileBroken(stops);
    const err = await importing;
    assert.equal(err.code, 'INVALID_INPUT');
    await emptyStore(other);
  } finally {
    await other.close();
  }
});

/** The batch route, slowly (see slowUpload). */
const upload = (base: string, body: Buffer, query = '', stopAfter = Infinity) => slowUpload(base, body, { query, stopAfter });

test('an upload to a quiet server, sent slowly, makes what the complete file makes; an invalid line or a body that stops leaves the store as it was', { timeout: TIMEOUT }, async () => {
  const dir = tempDir();
  const plain = await plainImport(dir);
  const h = await startHarness({ rateLimit: false, uploadLimit: 64 * 1024 * 1024 });
  try {
    const temporaries = () => readdirSync(uploadDir(h.store)).filter((n) => n.startsWith('upload-'));
    // An invalid line in the last block: refused as a whole, named by its line, nothing applied.
    const badAt = vs.length - 10;
    const bad = Buffer.from(text.toString('utf8').split('\n').map((l, i) => (i === badAt ? l.replace(/"quality_score":[0-9.]+/, '"quality_score":7') : l)).join('\n'));
    const refused = await upload(h.base, bad);
    assert.ok(!(refused instanceof Error), String(refused));
    assert.equal(refused.status, 422, JSON.stringify(refused.json).slice(0, 300));
    const issues = (refused.json as { error: { details: { issues: Array<{ line: number }> } } }).error.details.issues;
    assert.deepEqual(issues.map((i) => i.line), [badAt + 1]);
    await emptyStore(h.store);

    const ok = await upload(h.base, text);
    assert.ok(!(ok instanceof Error), String(ok));
    assert.equal(ok.status, 201, JSON.stringify(ok.json).slice(0, 300));
    assert.equal(ok.json.imported, vs.length);
    const before = await dump(h.store, given);
    assert.deepEqual(before, plain.dump);
    const workflows = await h.store.workflows.list();
    const contexts = await h.store.contexts.list();

    // The client stops half way: the upload is refused, the store is as it was.
    const stopped = await upload(h.base, text, '&context=other', Math.floor(text.length / 2));
    assert.ok(stopped instanceof Error || stopped.status >= 400, JSON.stringify(stopped));
    // The server notices the closed connection and gives up the import.
    await until('the temporary file removed', () => temporaries().length === 0);
    await sleep(500);
    assert.deepEqual(await dump(h.store, given), before);
    assert.deepEqual(await h.store.workflows.list(), workflows);
    assert.deepEqual(await h.store.contexts.list(), contexts);
    assert.equal((await h.store.verify()).valid, true);
    assert.deepEqual(temporaries(), []);
    assert.equal(readFileSync(join(dir, 'whole.jsonl')).length, text.length);
  } finally {
    await h.close();
  }
});
