/**
 * openStore chooses the backend from the location: a directory is the embedded backend; a
 * postgres:// URL is refused (INVALID_INPUT, exit 2) until the PostgreSQL backend exists, with the
 * password kept out of the message. SOFTLOGIC_STORE still names the CLI's default store.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { initStore, openStore, SoftlogicError } from '../src/index.js';
import { CLI_PATH, cliErr, tempDir } from './helpers.js';

test('library: a postgres:// or postgresql:// location is INVALID_INPUT, its password not echoed', async () => {
  for (const url of ['postgres://user:secret@db.example/softlogic', 'postgresql://user:secret@db.example/softlogic', 'POSTGRES://db/x']) {
    await assert.rejects(
      () => openStore(url),
      (e: unknown) => e instanceof SoftlogicError && e.code === 'INVALID_INPUT' && /PostgreSQL backend is not available/.test(e.message) && !JSON.stringify(e.details).includes('secret'),
      url,
    );
    await assert.rejects(() => initStore(url), (e: unknown) => e instanceof SoftlogicError && e.code === 'INVALID_INPUT');
  }
});

test('library: a directory opens the embedded backend', async () => {
  const dir = join(tempDir(), 'store');
  const store = await openStore(dir, { create: true });
  try {
    assert.equal(store.root, dir);
    assert.deepEqual((await store.contexts.list()).map((c) => c.name), ['default']);
  } finally {
    await store.close();
  }
});

test('CLI: --store postgres://... and SOFTLOGIC_STORE=postgres://... exit 2 with INVALID_INPUT; SOFTLOGIC_STORE=DIR is the default store', () => {
  const err = cliErr('postgres://user:secret@db.example/softlogic', ['stats']);
  assert.equal(err.code, 'INVALID_INPUT');
  assert.doesNotMatch(JSON.stringify(err), /secret/);
  const viaEnv = spawnSync(process.execPath, [CLI_PATH, '--json', 'stats'], { encoding: 'utf8', env: { ...process.env, SOFTLOGIC_STORE: 'postgresql://db.example/x' } });
  assert.equal(viaEnv.status, 2, viaEnv.stderr);
  assert.equal((JSON.parse(viaEnv.stdout) as { error: { code: string } }).error.code, 'INVALID_INPUT');
  const dir = join(tempDir(), 'env-store');
  const init = spawnSync(process.execPath, [CLI_PATH, '--json', 'init'], { encoding: 'utf8', env: { ...process.env, SOFTLOGIC_STORE: dir } });
  assert.equal(init.status, 0, init.stderr);
  assert.equal(existsSync(join(dir, 'knowledge.sqlite')), true);
});
