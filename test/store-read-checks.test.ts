import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openStore, type Store } from '../src/index.js';
import { buildServer } from '../src/service/server.js';
import { SoftlogicError } from '../src/core/errors.js';
import { cli, genAnalogies, tempDir, writeJsonl, type GenAnalogy, collect } from './helpers.js';

/** A store of 60 analogies in batches of 10, one record's digit flipped mid-log (still valid JSON). */
async function damagedStore(): Promise<{ dir: string; storeDir: string; data: GenAnalogy[]; victim: GenAnalogy; offset: number }> {
  const dir = tempDir();
  const storeDir = join(dir, 'store');
  const data = genAnalogies(60, 1401);
  const store = await openStore(storeDir, { create: true });
  try {
    await store.analogies.import(writeJsonl(join(dir, 'data.jsonl'), data), { batchSize: 10 });
    await store.analogies.save({ ...data[25], quality_score: 0.5 }); // a second version: history has two lines
  } finally {
    await store.close();
  }
  const log = join(storeDir, 'contexts', 'default', 'log.jsonl');
  const bytes = readFileSync(log);
  const victim = data[25];
  const idAt = bytes.indexOf(`"id":"${victim.id}"`);
  const lineStart = bytes.lastIndexOf(10, idAt) + 1;
  const digit = bytes.indexOf('"d25"', idAt) + 2; // concept_mappings value d25 -> d35
  bytes[digit] = '3'.charCodeAt(0);
  writeFileSync(log, bytes);
  return { dir, storeDir, data, victim, offset: lineStart };
}

async function corruptDetails(fn: () => unknown): Promise<Record<string, unknown>> {
  try {
    await fn();
  } catch (err) {
    assert.ok(err instanceof SoftlogicError, String(err));
    assert.equal(err.code, 'CORRUPT_LOG', err.message);
    assert.doesNotMatch(err.message, /retry/);
    return err.details;
  }
  assert.fail('expected CORRUPT_LOG');
}

test('issue 13.3: library reads of a record whose line fails its checksum are CORRUPT_LOG naming context, seq and offset', async () => {
  const { storeDir, data, victim } = await damagedStore();
  const store = await openStore(storeDir);
  try {
    // The current version (a later, intact line) still reads; its history reaches the damaged one.
    assert.equal((await store.analogies.get(victim.id)).quality_score, 0.5);
    const history = await corruptDetails(() => store.analogies.history(victim.id));
    assert.equal(history.context, 'default');
    // An untouched record is fine.
    assert.equal((await store.analogies.get(data[3].id)).id, data[3].id);
  } finally {
    await store.close();
  }
});

test('issue 13.3: get, query, stream, export and backup of the damaged line fail (library, CLI); no backup is written', async () => {
  const { dir, storeDir, data, offset } = await damagedStore();
  // Damage the current version too: a record with a single version.
  const log = join(storeDir, 'contexts', 'default', 'log.jsonl');
  const bytes = readFileSync(log);
  const victim = data[40];
  const at = bytes.indexOf(`"d40"`, bytes.indexOf(`"id":"${victim.id}"`)) + 2;
  const lineStart = bytes.lastIndexOf(10, at) + 1;
  bytes[at] = '9'.charCodeAt(0);
  writeFileSync(log, bytes);
  const seq = Number(/^\{"seq":(\d+)/.exec(bytes.toString('utf8', lineStart, lineStart + 20))![1]);
  const store = await openStore(storeDir);
  try {
    const get = await corruptDetails(() => store.analogies.get(victim.id));
    assert.deepEqual([get.context, get.seq, get.offset], ['default', seq, lineStart]);
    await corruptDetails(() => store.analogies.query({ limit: 1000 }));
    await corruptDetails(() => collect(store.analogies.stream()));
    await assert.rejects(store.export({ out: join(dir, 'export.jsonl') }), (err: SoftlogicError) => err.code === 'CORRUPT_LOG');
    assert.equal(existsSync(join(dir, 'export.jsonl')), false);
    await assert.rejects(store.backup({ out: join(dir, 'lib.slbak') }), (err: SoftlogicError) => err.code === 'CORRUPT_LOG' && err.details.context === 'default');
    assert.equal(existsSync(join(dir, 'lib.slbak')), false);
  } finally {
    await store.close();
  }
  for (const args of [['analogies', 'get', victim.id], ['analogies', 'stream'], ['export', '--out', join(dir, 'cli.jsonl')], ['backup']]) {
    const r = cli(storeDir, args);
    assert.equal(r.status, 1, `${args.join(' ')}: ${r.stdout.slice(0, 300)}`);
    assert.match(r.stdout, /"code":"CORRUPT_LOG"/, args.join(' '));
  }
  assert.equal(existsSync(join(dir, 'cli.jsonl')), false);
  const leftovers = existsSync(join(storeDir, 'backups')) ? readdirSync(join(storeDir, 'backups')) : [];
  assert.deepEqual(leftovers, []);
  assert.ok(offset > 0);
});

test('issue 13.3: HTTP get, query, stream, export and backup of a damaged line are errors, never 200 with altered data', async () => {
  const { storeDir, data } = await damagedStore();
  const log = join(storeDir, 'contexts', 'default', 'log.jsonl');
  const bytes = readFileSync(log);
  const victim = data[40];
  const at = bytes.indexOf(`"d40"`, bytes.indexOf(`"id":"${victim.id}"`)) + 2;
  bytes[at] = '9'.charCodeAt(0);
  writeFileSync(log, bytes);
  const store: Store = await openStore(storeDir);
  const app = await buildServer({ store, logLevel: 'silent' });
  try {
    const get = await app.inject({ method: 'GET', url: `/api/analogies/${victim.id}` });
    assert.equal(get.statusCode, 500);
    assert.equal((get.json() as { error: { code: string } }).error.code, 'CORRUPT_LOG');
    const query = await app.inject({ method: 'GET', url: '/api/analogies?limit=1000' });
    assert.equal(query.statusCode, 500);
    const exported = await app.inject({ method: 'GET', url: '/api/export' });
    assert.equal(exported.statusCode, 500);
    const backup = await app.inject({ method: 'POST', url: '/api/backup' });
    assert.equal(backup.statusCode, 500);
    // The stream fails mid-way: the damaged record is never served.
    const stream = await app.inject({ method: 'GET', url: '/api/analogies/stream' }).catch((err: Error) => err);
    if (!(stream instanceof Error)) assert.doesNotMatch(stream.body, /"d90"/);
  } finally {
    await app.close();
    await store.close();
  }
});
