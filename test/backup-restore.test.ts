import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Store } from '../src/api/store.js';
import { backupStore } from '../src/backend/embedded/backup.js';
import { restoreStore } from '../src/backend/embedded/restore.js';
import { countsOf } from '../src/backend/embedded/backup.js';
import { EmbeddedStore } from '../src/backend/embedded/embedded-store.js';
import { verifyStore } from '../src/backend/embedded/verify.js';
import { asyncErr, cliAny, cliSpawn, errCode, genAnalogies, tempDir, writeJsonl } from './helpers.js';

async function smallStore(dir: string, n = 500): Promise<Store> {
  const store = await Store.open(dir, { create: true });
  await store.analogies.import(writeJsonl(join(tempDir(), 'in.jsonl'), genAnalogies(n, 7)));
  await store.analogies.delete('s7-3');
  return store;
}

test('backup while a child process imports: the restore verifies and matches the manifest', async () => {
  const root = tempDir();
  const dir = join(root, 'store');
  const store = await smallStore(dir, 200);
  const big = writeJsonl(join(root, 'big.jsonl'), genAnalogies(60_000, 11));
  const child = cliSpawn(dir, ['analogies', 'import', big, '--batch-size', '500']);
  child.stdout?.resume();
  child.stderr?.resume();
  let running = true;
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => {
    running = false;
    r(code);
  }));
  // Wait until the import has committed something, however long a loaded machine takes to
  // start the child (a fixed cut-off took the backups before its first batch at load 17).
  while (running && (store.backend.db.prepare('SELECT COUNT(*) FROM analogies').pluck().get() as number) <= 200) await new Promise((r) => setTimeout(r, 20));
  const results = [];
  for (let i = 0; i < 3; i++) results.push(await backupStore(store.backend, { out: join(root, `b${i}.slbak`) }));
  assert.equal(await exited, 0);
  await store.close();
  assert.ok(results.some((b) => b.contexts[0].analogies.active > 199 && b.contexts[0].analogies.active < 60_199), 'a backup was taken mid-import');
  const seen = new Set<number>();
  for (const [i, b] of results.entries()) {
    const active = b.contexts[0].analogies.active;
    seen.add(active);
    assert.ok(active >= 199 && active <= 60_199, `backup ${i} holds ${active}`);
    const r = restoreStore(b.file, join(root, `restored${i}`), { verify: true });
    assert.equal(r.verify?.valid, true);
    const restored = EmbeddedStore.open(join(root, `restored${i}`));
    try {
      assert.deepEqual(countsOf(restored.db).contexts, b.contexts);
      assert.equal(verifyStore(restored).valid, true);
      assert.equal(verifyStore(restored).contexts[0].active_in_log, active);
    } finally {
      restored.close();
    }
  }
  // the restored store can finish the interrupted import (its staged file came along)
  const last = await Store.open(join(root, 'restored0'));
  assert.equal((await last.verify()).valid, true);
  await last.close();
});

test('restore refuses a flipped byte and a truncated file, naming the member', async () => {
  const root = tempDir();
  const store = await smallStore(join(root, 'store'));
  const b = await backupStore(store.backend, { out: join(root, 'b.slbak') });
  await store.close();
  const bytes = readFileSync(b.file);
  const find = (s: string) => bytes.indexOf(Buffer.from(s));
  // a byte inside the log member
  const logAt = find('{"name":"contexts/default/log.jsonl"') + 200;
  const flipped = Buffer.from(bytes);
  flipped[logAt] ^= 0x01;
  writeFileSync(join(root, 'flip.slbak'), flipped);
  const e1 = (() => {
    try {
      restoreStore(join(root, 'flip.slbak'), join(root, 'r1'));
    } catch (err) {
      return err as { code: string; details: { member?: string } };
    }
    return null;
  })();
  assert.equal(e1?.code, 'BACKUP_INVALID');
  assert.equal(e1?.details.member, 'contexts/default/log.jsonl');
  assert.equal(existsSync(join(root, 'r1')), false);
  assert.deepEqual(readdirSync(root).filter((n) => n.includes('restoring')), []);
  // a byte in the sqlite member, in the manifest, and in the trailer
  for (const at of [find('{"name":"knowledge.sqlite"') + 5000, find('"format": "softlogic-backup"') + 3, bytes.length - 10]) {
    const f = Buffer.from(bytes);
    f[at] ^= 0x20;
    writeFileSync(join(root, 'f.slbak'), f);
    assert.equal(errCode(() => restoreStore(join(root, 'f.slbak'), join(root, 'r2'))), 'BACKUP_INVALID');
  }
  for (const size of [bytes.length - 1, Math.floor(bytes.length / 2), 5]) {
    writeFileSync(join(root, 't.slbak'), bytes);
    truncateSync(join(root, 't.slbak'), size);
    assert.equal(errCode(() => restoreStore(join(root, 't.slbak'), join(root, 'r3'))), 'BACKUP_INVALID');
  }
  // through the CLI: exit 1 with BACKUP_INVALID
  const cli = cliAny(join(root, 'r4'), ['restore', join(root, 'flip.slbak')]);
  assert.equal(cli.status, 1);
  assert.equal(cli.json.error.code, 'BACKUP_INVALID');
  assert.match(cli.json.error.message, /contexts\/default\/log\.jsonl/);
  // the intact one restores
  const ok = cliAny(join(root, 'r5'), ['restore', b.file, '--verify']);
  assert.equal(ok.status, 0, ok.stdout);
  assert.equal(ok.json.verify.valid, true);
});

test('restore: refuses an existing store without --force; --force keeps the old one aside', async () => {
  const root = tempDir();
  const store = await smallStore(join(root, 'a'));
  const b = await backupStore(store.backend);
  assert.ok(b.file.startsWith(join(root, 'a', 'backups')) && b.file.endsWith('.slbak'));
  await store.close();
  const other = await smallStore(join(root, 'b'), 50);
  await other.close();
  assert.equal(cliAny(join(root, 'b'), ['restore', b.file]).json.error.code, 'STORE_EXISTS');
  writeFileSync(join(root, 'c.txt'), 'x');
  const r = cliAny(join(root, 'b'), ['restore', b.file, '--force']);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.ok(r.json.previous_store.startsWith(join(root, 'b.old-')));
  assert.ok(statSync(join(r.json.previous_store, 'store.json')).isFile());
  const restored = await Store.open(join(root, 'b'));
  assert.equal(await restored.analogies.count({}), 499);
  assert.equal((await restored.verify()).valid, true);
  await restored.close();
  const old = await Store.open(r.json.previous_store);
  assert.equal(await old.analogies.count({}), 49);
  await old.close();
  // a non-empty directory that is not a store, a missing file, a directory as the file
  const junk = tempDir();
  writeFileSync(join(junk, 'keep.txt'), 'mine');
  assert.equal(cliAny(junk, ['restore', b.file]).json.error.code, 'INVALID_INPUT');
  assert.equal(readFileSync(join(junk, 'keep.txt'), 'utf8'), 'mine');
  assert.equal(cliAny(join(root, 'z'), ['restore', join(root, 'nope.slbak')]).json.error.code, 'FILE_NOT_FOUND');
  assert.equal(cliAny(join(root, 'z'), ['restore', root]).json.error.code, 'INVALID_INPUT');
  assert.equal((await asyncErr(() => backupStore(EmbeddedStore.open(join(root, 'b')), { out: b.file }))).code, 'INVALID_INPUT');
});

test('a backup whose manifest names a path outside the store is refused', async () => {
  const root = tempDir();
  const store = await smallStore(join(root, 'a'), 20);
  const b = await backupStore(store.backend, { out: join(root, 'b.slbak') });
  await store.close();
  const text = readFileSync(b.file, 'latin1');
  // rename a member (same length) to a traversal: both its header and the manifest, and re-seal
  const hostile = text.split('contexts/default/metadata.json').join('contexts/../../../etc/passwd.x');
  writeFileSync(join(root, 'h.slbak'), Buffer.from(hostile, 'latin1'));
  assert.equal(errCode(() => restoreStore(join(root, 'h.slbak'), join(root, 'r'))), 'BACKUP_INVALID');
  assert.equal(existsSync(join(root, 'r')), false);
});
