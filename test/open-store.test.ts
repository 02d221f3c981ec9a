/**
 * openStore chooses the backend from the location: a directory is the embedded backend; a
 * postgres:// or postgresql:// URL (any case) is the PostgreSQL backend, with the password kept out
 * of every message. SOFTLOGIC_STORE names the CLI's default store, a directory or a URL.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { initStore, openStore, SoftlogicError } from '../src/index.js';
import { CLI_PATH, cliErr, tempDir } from './helpers.js';
import { inScratchDirectory, usePostgres } from './pg-helpers.js';

const db = await usePostgres();
const skip = 'skip' in db ? db.skip : false;
inScratchDirectory();

test('library: a PostgreSQL URL nobody answers at is an error naming the store, its password not echoed', async () => {
  for (const url of ['postgres://user:secret@127.0.0.1:1/softlogic?retry_ms=0', 'postgresql://user:secret@127.0.0.1:1/softlogic?retry_ms=0', 'POSTGRES://user:secret@127.0.0.1:1/x?retry_ms=0']) {
    for (const open of [() => openStore(url), () => initStore(url)]) {
      await assert.rejects(
        open,
        (e: unknown) => e instanceof SoftlogicError && ['STORE_NOT_FOUND', 'STORE_UNAVAILABLE'].includes(e.code) && /127\.0\.0\.1:1/.test(e.message) && !JSON.stringify({ m: e.message, d: e.details }).includes('secret'),
        url,
      );
    }
  }
});

test('library: a directory opens the embedded backend', async () => {
  const dir = join(tempDir(), 'store');
  const store = await openStore(dir, { create: true });
  try {
    assert.equal(store.kind, 'embedded');
    assert.equal(store.root, dir);
    assert.deepEqual((await store.contexts.list()).map((c) => c.name), ['default']);
  } finally {
    await store.close();
  }
});

describe('PostgreSQL by its URL', { skip }, () => {
  test('library: initStore creates the schema, openStore opens it, a second init is STORE_EXISTS, an empty schema is STORE_NOT_FOUND', async () => {
    if ('skip' in db) return;
    const url = db.freshStoreUrl();
    await assert.rejects(() => openStore(url), (e: unknown) => e instanceof SoftlogicError && e.code === 'STORE_NOT_FOUND');
    const created = await initStore(url);
    await created.analogies.save({ id: 'a-1', source_domain: 'biology', target_domain: 'finance', quality_score: 0.9, concept_mappings: { cell: 'bank' } });
    await created.close();
    await assert.rejects(() => initStore(url), (e: unknown) => e instanceof SoftlogicError && e.code === 'STORE_EXISTS');
    const store = await openStore(url);
    try {
      assert.equal(store.kind, 'postgres');
      assert.equal((await store.analogies.get('a-1')).source_domain, 'biology');
    } finally {
      await store.close();
    }
  });

  test('CLI: SOFTLOGIC_STORE=postgres://... is the default store of every command', () => {
    if ('skip' in db) return;
    const url = db.freshStoreUrl();
    const env = { ...process.env, SOFTLOGIC_STORE: url };
    const init = spawnSync(process.execPath, [CLI_PATH, '--json', 'init'], { encoding: 'utf8', env });
    assert.equal(init.status, 0, init.stderr);
    const contexts = spawnSync(process.execPath, [CLI_PATH, '--json', 'contexts', 'create', 'finance'], { encoding: 'utf8', env });
    assert.equal(contexts.status, 0, contexts.stderr);
    const list = spawnSync(process.execPath, [CLI_PATH, '--json', 'contexts', 'list'], { encoding: 'utf8', env });
    assert.deepEqual((JSON.parse(list.stdout) as { contexts: Array<{ name: string }> }).contexts.map((c) => c.name).sort(), ['default', 'finance']);
  });
});

test('CLI: an unreachable --store postgres://... exits with the error, no password; SOFTLOGIC_STORE=DIR is the default store', () => {
  const err = cliErr('postgres://user:secret@127.0.0.1:1/softlogic?retry_ms=0', ['stats']);
  assert.ok(['STORE_NOT_FOUND', 'STORE_UNAVAILABLE'].includes(err.code), err.code);
  assert.doesNotMatch(JSON.stringify(err), /secret/);
  const dir = join(tempDir(), 'env-store');
  const init = spawnSync(process.execPath, [CLI_PATH, '--json', 'init'], { encoding: 'utf8', env: { ...process.env, SOFTLOGIC_STORE: dir } });
  assert.equal(init.status, 0, init.stderr);
  assert.equal(existsSync(join(dir, 'knowledge.sqlite')), true);
});
