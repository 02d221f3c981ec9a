/**
 * A gzip'd JSON-lines file (issue 16) is decompressed into blocks of whole lines as the staging
 * workers take them, with no decompressed copy written first, and makes exactly what the plain
 * file makes. Bad input in it (a malformed line in the middle, a truncated gzip) refuses the
 * strict import as a whole; the same through the service's upload route, and an upload that
 * stops mid-body, leave the store as it was. Stores are compared through the library.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { openStore, type Store } from '../src/index.js';
import { lineBlocks, readAhead } from '../src/core/line-blocks.js';
import { preparedItems } from '../src/backend/embedded/prepared-chunks.js';
import { PARALLEL_MIN_BYTES, parallelStaged } from '../src/methods/analogies/stage-parallel.js';
import { uploadDir } from '../src/service/uploads.js';
import { asyncErr, sleep, tempDir } from './helpers.js';
import { slowUpload, startHarness } from './service-helpers.js';
import { cliWithoutCopy, dump, givenIds, values } from './import-compare.js';

const TIMEOUT = 900_000;
const vs = values(40_000, 5);
const given = givenIds(vs);
const lines = vs.map((v) => JSON.stringify(v));
const text = Buffer.from(lines.join('\n') + '\n');
/** Line `at` (0-based) is not JSON. */
const malformedAt = 25_000;
const malformed = Buffer.from(lines.map((l, i) => (i === malformedAt ? '{"source_domain": "x",, "target_domain": "y"}' : l)).join('\n') + '\n');
/** A store holding a few records of its own, each with two versions: what a refused import must leave as it was. */
const before = values(300, 9).map((v, i) => ({ ...v, id: `before-${i % 150}` }));
const beforeIds = new Set(before.map((v) => v.id));

async function seeded(dir: string, name: string): Promise<Store> {
  const store = await openStore(join(dir, name), { create: true });
  const file = join(dir, `${name}-before.jsonl`);
  writeFileSync(file, before.map((v) => JSON.stringify(v)).join('\n') + '\n');
  await store.analogies.import(file);
  return store;
}

/** Everything a refused import must leave unchanged, through the public interfaces. */
async function snapshot(store: Store): Promise<unknown> {
  return { count: await store.analogies.count(), records: await dump(store, new Set([...given, ...beforeIds]), '2021', true), workflows: await store.workflows.list(), contexts: await store.contexts.list() };
}

test('lineBlocks cuts a stream into blocks of whole lines, whatever its pieces: a long line grows its block, the last line may lack a newline', async () => {
  const input = Buffer.from(['a'.repeat(5), 'b'.repeat(30), '', 'c', 'd'.repeat(9), 'e'].join('\n'));
  for (const pieceBytes of [1, 3, 7, 64]) {
    const pieces = Array.from({ length: Math.ceil(input.length / pieceBytes) }, (_, k) => input.subarray(k * pieceBytes, (k + 1) * pieceBytes));
    const blocks: Buffer[] = [];
    for await (const block of lineBlocks(pieces, 8)) blocks.push(Buffer.from(block));
    assert.deepEqual(Buffer.concat(blocks), input, `pieces of ${pieceBytes}`);
    for (const block of blocks.slice(0, -1)) assert.equal(block[block.length - 1], 10, `pieces of ${pieceBytes}: a block ends with its last line's newline`);
    assert.ok(blocks.every((b) => b.length <= 8 || b.indexOf(10) >= 7), `pieces of ${pieceBytes}: a block is over the size only when its first line filled it`);
  }
});

test('readAhead yields the items in order, asks for the next ones while the first is used, and passes an error on', async () => {
  let pulled = 0;
  async function* source(fail: boolean): AsyncGenerator<number> {
    for (let i = 0; i < 5; i++) {
      pulled += 1;
      await sleep(1);
      if (fail && i === 3) throw new Error('damaged');
      yield i;
    }
  }
  const got: number[] = [];
  const pulledWhenTaken: number[] = [];
  for await (const i of readAhead(source(false), 2)) {
    got.push(i);
    await sleep(20);
    pulledWhenTaken.push(pulled);
  }
  assert.deepEqual(got, [0, 1, 2, 3, 4]);
  assert.deepEqual(pulledWhenTaken.slice(0, 3), [3, 4, 5], 'two items asked for ahead of the one in use');
  const before: number[] = [];
  await assert.rejects(async () => {
    for await (const i of readAhead(source(true), 2)) before.push(i);
  }, /damaged/);
  assert.deepEqual(before, [0, 1, 2]);
});

test('a gzip\'d JSON-lines file is staged from its decompressed blocks on worker threads, no decompressed copy written, and makes exactly what the plain file makes', { timeout: TIMEOUT }, async () => {
  const dir = tempDir();
  const plainFile = join(dir, 'in.jsonl');
  writeFileSync(plainFile, text);
  const gz = join(dir, 'in.jsonl.gz');
  writeFileSync(gz, gzipSync(text));
  assert.ok(text.length > PARALLEL_MIN_BYTES, `${text.length} bytes: large enough for parallel staging`);
  const results = new Map<string, { dump: Map<string, unknown[]>; blocks: number; pipelined: number }>();
  for (const [name, file] of [['plain', plainFile], ['gz', gz]]) {
    const store = await openStore(join(dir, name), { create: true });
    try {
      const blocks = parallelStaged.blocks;
      const pipelined = preparedItems.count;
      const result = await store.analogies.import(file, { batchSize: 5000 });
      assert.equal(result.imported, vs.length, name);
      assert.equal((await store.verify()).valid, true);
      results.set(name, { dump: await dump(store, given), blocks: parallelStaged.blocks - blocks, pipelined: preparedItems.count - pipelined });
    } finally {
      await store.close();
    }
  }
  const [plain, fromGz] = [results.get('plain'), results.get('gz')];
  assert.ok(fromGz && plain);
  assert.ok(fromGz.blocks > 2, `staged in ${fromGz.blocks} blocks on worker threads`);
  assert.equal(fromGz.pipelined, vs.length, 'every item through prepared chunks');
  assert.deepEqual(fromGz.dump, plain.dump);
  assert.ok([...plain.dump.values()].some((h) => h.length > 1), 'some records have several versions');

  // No decompressed copy: the kill point after writing one (import-after-gunzip) is never reached.
  await cliWithoutCopy(dir, ['analogies', 'import', gz], plain.dump, given);
});

test('a gzip\'d strict import with a malformed line in the middle, or a truncated gzip, is refused as a whole: the store is as it was', { timeout: TIMEOUT }, async () => {
  const dir = tempDir();
  const bad = join(dir, 'bad.jsonl.gz');
  writeFileSync(bad, gzipSync(malformed));
  const whole = gzipSync(text);
  const truncated = join(dir, 'truncated.jsonl.gz');
  writeFileSync(truncated, whole.subarray(0, Math.floor(whole.length * 0.6)));
  const store = await seeded(dir, 'store');
  try {
    const was = await snapshot(store);
    const refused = await asyncErr(() => store.analogies.import(bad, { batchSize: 5000 }));
    assert.equal(refused.code, 'IMPORT_REJECTED');
    assert.deepEqual((refused.details.issues as Array<{ line: number }>).map((i) => i.line), [malformedAt + 1]);
    assert.deepEqual(await snapshot(store), was);
    const cut = await asyncErr(() => store.analogies.import(truncated, { batchSize: 5000 }));
    assert.equal(cut.code, 'UNSUPPORTED_FORMAT');
    assert.doesNotMatch(cut.message, /^INTERNAL/);
    assert.deepEqual(await snapshot(store), was);
    assert.equal((await store.verify()).valid, true);
    // Lenient: the malformed line set aside, the others imported.
    const lenient = await store.analogies.import(bad, { batchSize: 5000, lenient: true });
    assert.deepEqual([lenient.imported, lenient.rejected], [vs.length - 1, 1]);
  } finally {
    await store.close();
  }
});

/** The batch route, a gzip'd body sent slowly (see slowUpload). */
const uploadGzip = (base: string, body: Buffer, stopAfter = Infinity) => slowUpload(base, body, { contentType: 'application/gzip', stopAfter, pieceBytes: 256 * 1024 });

test('a gzip\'d upload makes what the plain file makes; one with a malformed line in the middle, or stopped mid-body, leaves the store as it was', { timeout: TIMEOUT }, async () => {
  const dir = tempDir();
  const plainFile = join(dir, 'in.jsonl');
  writeFileSync(plainFile, text);
  const plain = await openStore(join(dir, 'plain'), { create: true });
  let expected: Map<string, unknown[]>;
  try {
    await plain.analogies.import(plainFile, { batchSize: 5000 });
    expected = await dump(plain, given);
  } finally {
    await plain.close();
  }
  const h = await startHarness({ rateLimit: false, uploadLimit: 64 * 1024 * 1024 });
  try {
    const temporaries = () => readdirSync(uploadDir(h.store)).filter((n) => n.startsWith('upload-') || n.startsWith('gunzip-'));
    const beforeFile = join(dir, 'before.jsonl');
    writeFileSync(beforeFile, before.map((v) => JSON.stringify(v)).join('\n') + '\n');
    await h.store.analogies.import(beforeFile);
    const was = await snapshot(h.store);

    const refused = await uploadGzip(h.base, gzipSync(malformed));
    assert.ok(!(refused instanceof Error), String(refused));
    assert.equal(refused.status, 422, JSON.stringify(refused.json).slice(0, 300));
    const issues = (refused.json as { error: { details: { issues: Array<{ line: number }> } } }).error.details.issues;
    assert.deepEqual(issues.map((i) => i.line), [malformedAt + 1]);
    assert.deepEqual(await snapshot(h.store), was);

    const body = gzipSync(text);
    const stopped = await uploadGzip(h.base, body, Math.floor(body.length / 2));
    assert.ok(stopped instanceof Error || stopped.status >= 400, JSON.stringify(stopped));
    const t0 = Date.now();
    while (temporaries().length > 0 && Date.now() - t0 < 60_000) await sleep(20);
    await sleep(300);
    assert.deepEqual(await snapshot(h.store), was);
    assert.deepEqual(temporaries(), []);

    const ok = await uploadGzip(h.base, body);
    assert.ok(!(ok instanceof Error), String(ok));
    assert.equal(ok.status, 201, JSON.stringify(ok.json).slice(0, 300));
    assert.equal(ok.json.imported, vs.length);
    const got = await dump(h.store, new Set([...given, ...beforeIds]));
    for (const id of beforeIds) got.delete(id);
    assert.deepEqual(got, expected);
    assert.equal((await h.store.verify()).valid, true);
  } finally {
    await h.close();
  }
});
