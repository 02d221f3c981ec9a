/**
 * Crafted backups (issue 13, item 5): names in a backup's manifest or index that point outside
 * the store are refused before any path is built from them; nothing is created outside the
 * target, and the target is left as it was.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Store } from '../src/api/store.js';
import { backupStore } from '../src/backend/embedded/backup.js';
import { restoreStore } from '../src/backend/embedded/restore.js';
import { ContainerWriter, openContainer, readMembers } from '../src/backend/backup-container.js';
import { storeLayout } from '../src/backend/embedded/layout.js';
import { insideDir } from '../src/core/paths.js';
import { errCode, genAnalogies, tempDir, writeJsonl } from './helpers.js';

/** Every path under `dir` (files and directories), relative, sorted. */
function tree(dir: string, base = dir, out: string[] = []): string[] {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    out.push(relative(base, p));
    if (e.isDirectory()) tree(p, base, out);
  }
  return out.sort();
}

/** A real backup of a small store, rewritten with `rename` applied to its context names. */
async function craftedBackup(root: string, rename: string, options: { inIndex: boolean; inManifest: boolean }): Promise<string> {
  const store = await Store.open(join(root, 'src-store'), { create: true });
  await store.analogies.import(writeJsonl(join(root, 'in.jsonl'), genAnalogies(20, 3)));
  const b = await backupStore(store.backend, { out: join(root, 'good.slbak') });
  await store.close();
  const c = openContainer(b.file);
  const members = new Map<string, Buffer[]>();
  readMembers(c, (e, chunk) => members.set(e.name, [...(members.get(e.name) ?? []), Buffer.from(chunk)]), (e) => members.set(e.name, members.get(e.name) ?? []));
  const scratch = join(root, 'scratch.sqlite');
  writeFileSync(scratch, Buffer.concat(members.get('knowledge.sqlite') ?? []));
  if (options.inIndex) {
    const db = new Database(scratch);
    db.prepare("UPDATE contexts SET name = ? WHERE name = 'default'").run(rename);
    db.prepare("UPDATE workflows SET context = ? WHERE context = 'default'").run(rename);
    db.close();
  }
  const out = join(root, 'crafted.slbak');
  const w = new ContainerWriter(out);
  for (const e of c.manifest.members) {
    if (e.name === 'knowledge.sqlite') w.addBuffer(e.name, readFileSync(scratch));
    else w.addBuffer(e.name, Buffer.concat(members.get(e.name) ?? []));
  }
  const manifest = { ...c.manifest } as unknown as Record<string, unknown> & { contexts: Array<{ name: string }> };
  if (options.inManifest) manifest.contexts = manifest.contexts.map((x) => (x.name === 'default' ? { ...x, name: rename } : x));
  delete manifest.members;
  w.finish(manifest);
  return out;
}

const EVIL = '../../../../some/dir';

for (const variant of [
  { name: 'manifest', inIndex: false, inManifest: true },
  { name: 'index (crafted SQLite)', inIndex: true, inManifest: false },
  { name: 'manifest and index alike', inIndex: true, inManifest: true },
]) {
  test(`restore refuses a context named ${EVIL} in the ${variant.name}: nothing outside, target untouched`, async () => {
    const root = tempDir();
    const file = await craftedBackup(root, EVIL, variant);
    // the target sits four levels down, so that the crafted name lands inside `root` if followed
    const parent = join(root, 'deep', 'a', 'b');
    const target = join(parent, 'target');
    const existing = await Store.open(target, { create: true });
    await existing.analogies.import(writeJsonl(join(root, 'mine.jsonl'), genAnalogies(5, 9)));
    await existing.close();
    const before = tree(root);
    const targetBefore = tree(target).map((p) => `${p}:${statSync(join(target, p)).size}`);
    for (const force of [false, true]) {
      const err = (() => {
        try {
          restoreStore(file, target, { force });
          return null;
        } catch (e) {
          return e as { code: string };
        }
      })();
      assert.ok(err, 'the restore is refused');
      assert.ok(['BACKUP_INVALID', 'STORE_EXISTS'].includes(err.code), err.code);
      assert.deepEqual(tree(root), before, 'no file or directory was created or removed anywhere');
      assert.deepEqual(tree(target).map((p) => `${p}:${statSync(join(target, p)).size}`), targetBefore);
    }
    // into an empty place too
    const fresh = join(parent, 'fresh');
    assert.equal(errCode(() => restoreStore(file, fresh)), 'BACKUP_INVALID');
    assert.deepEqual(tree(root), before);
    const store = await Store.open(target);
    assert.equal(await store.analogies.count(), 5);
    await store.close();
  });
}

test('the layout never builds a path outside the store from a name', () => {
  const layout = storeLayout(tempDir());
  for (const bad of ['..', '../x', '../../etc', 'a/../../b', '/etc']) {
    assert.equal(errCode(() => layout.log(bad)), 'INVALID_NAME', bad);
    assert.equal(errCode(() => layout.pending(`../${bad}`)), 'INVALID_NAME', bad);
  }
  assert.equal(layout.log('ok'), join(layout.contextsDir, 'ok', 'log.jsonl'));
  assert.equal(errCode(() => insideDir('/a/b', '..', 'bc')), 'INVALID_NAME');
  assert.equal(errCode(() => insideDir('/a/b', '../bc')), 'INVALID_NAME');
  assert.equal(insideDir('/a/b', 'c', 'd'), '/a/b/c/d');
});

test('a store whose index names a context outside it is refused at open, nothing outside touched', async () => {
  const root = tempDir();
  const dir = join(root, 'store');
  const store = await Store.open(dir, { create: true });
  await store.analogies.import(writeJsonl(join(root, 'in.jsonl'), genAnalogies(5, 1)));
  await store.close();
  const db = new Database(join(dir, 'knowledge.sqlite'));
  db.prepare("UPDATE contexts SET name = '../../evil'").run();
  db.close();
  const before = tree(root).filter((p) => !p.startsWith('store'));
  const err = await Store.open(dir).then(
    async (s) => {
      await s.close();
      return null;
    },
    (e: { code: string }) => e,
  );
  assert.equal(err?.code, 'INVALID_NAME');
  assert.deepEqual(tree(root).filter((p) => !p.startsWith('store')), before);
});
