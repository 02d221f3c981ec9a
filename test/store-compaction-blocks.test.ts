/**
 * Compacted logs in compressed blocks (issue 2, store density): the block lines are JSON lines
 * whose payload is decoded here independently of the store; every read path (get, query,
 * stream, history through `prev` into a block, restore, verify, rebuild, backup and restore of
 * the whole store, a second compaction) gives what it gave before compaction; a flipped byte in
 * a block is reported, never read as data.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { openStore, Store } from '../src/index.js';
import type { Analogy } from '../src/core/records.js';
import { blockLines, genAnalogies, tempDir, writeJsonl, collect } from './helpers.js';

function streamAll(store: Store): Promise<Analogy[]> {
  return collect(store.analogies.stream());
}

test('a compacted log: JSON lines of compressed blocks, read back identically by every path', { timeout: 120_000 }, async () => {
  const dir = tempDir();
  const storeDir = join(dir, 'store');
  const data = genAnalogies(3000, 11);
  const file = writeJsonl(join(dir, 'a.jsonl'), data);
  let store = await openStore(storeDir, { create: true });
  await store.analogies.import(file);
  for (const a of data.slice(0, 50)) await store.analogies.save({ ...a, quality_score: 0.25 });
  for (const a of data.slice(100, 130)) await store.analogies.delete(a.id);
  const before = await streamAll(store);
  const top = await store.analogies.query({ min_quality: 0.8, limit: 40 });
  const byDomain = await store.analogies.query({ domain: data[7].source_domain, limit: 25 });

  const report = (await store.compact())[0];
  const logPath = join(storeDir, 'contexts', 'default', 'log.jsonl');
  assert.equal(report.bytes_after, statSync(logPath).size);
  assert.ok(report.bytes_after * 4 < report.bytes_before, `compacted ${report.bytes_before} B to only ${report.bytes_after} B`);

  // On disk: JSON lines, each a block whose payload holds whole, checksummed log lines.
  const raw = readFileSync(logPath, 'utf8').split('\n');
  assert.equal(raw.pop(), '');
  const inner: string[] = [];
  for (const line of raw) {
    assert.ok(line.startsWith('{"op":"block"'), line.slice(0, 40));
    const body = line.slice(0, line.length - ',"crc":"xxxxxxxx"}'.length);
    assert.equal(line.slice(body.length + 8, body.length + 16), crc32(body).toString(16).padStart(8, '0'));
    inner.push(...blockLines(line));
  }
  const records = inner.filter((l) => l.startsWith('{"seq":'));
  assert.equal(records.length, 2970);
  for (const l of inner) {
    const b = l.slice(0, l.length - ',"crc":"xxxxxxxx"}'.length);
    assert.equal(l.slice(b.length + 8, b.length + 16), crc32(b).toString(16).padStart(8, '0'));
  }

  assert.deepEqual(await streamAll(store), before);
  assert.deepEqual(await store.analogies.query({ min_quality: 0.8, limit: 40 }), top);
  assert.deepEqual(await store.analogies.query({ domain: data[7].source_domain, limit: 25 }), byDomain);
  for (const a of before.slice(0, 200)) assert.deepEqual(await store.analogies.get(a.id), a);
  assert.equal((await store.verify()).valid, true);

  // Writes go on after the blocks; a tombstone's `prev` points into a block.
  const more = genAnalogies(20, 12);
  for (const a of more) await store.analogies.save(a);
  const victim = before[10];
  await store.analogies.delete(victim.id);
  const history = await store.analogies.history(victim.id);
  assert.equal(history.length, 2);
  assert.deepEqual({ ...history[1], op: undefined }, { ...victim, op: undefined });
  assert.equal((await store.analogies.restore(victim.id)).deleted_at, null);
  const after = await streamAll(store);
  assert.equal(after.length, 2990);
  assert.equal((await store.verify()).valid, true);

  // Backup and restore of a store with blocks and a plain tail.
  const backup = await store.backup({ out: join(dir, 'b.slbk') });
  await store.close();
  await Store.restore(backup.file, join(dir, 'restored'));
  const restored = await openStore(join(dir, 'restored'));
  try {
    assert.equal((await restored.verify()).valid, true);
    assert.deepEqual(await streamAll(restored), after);
  } finally {
    await restored.close();
  }

  // Rebuild from the logs, then a second compaction (blocks into blocks).
  store = await openStore(storeDir);
  try {
    await store.rebuild();
    assert.deepEqual(await streamAll(store), after);
    await store.compact();
    assert.deepEqual(await streamAll(store), after);
    assert.deepEqual((await store.analogies.get(victim.id)).version, 3);
    assert.equal((await store.verify()).valid, true);
  } finally {
    await store.close();
  }
});

test('a flipped byte inside a compressed block is reported by verify and fails reads loudly', { timeout: 60_000 }, async () => {
  const dir = tempDir();
  const storeDir = join(dir, 'store');
  const data = genAnalogies(500, 13);
  let store = await openStore(storeDir, { create: true });
  await store.analogies.import(writeJsonl(join(dir, 'a.jsonl'), data));
  await store.compact();
  const ids = (await streamAll(store)).map((a) => a.id);
  await store.close();
  const logPath = join(storeDir, 'contexts', 'default', 'log.jsonl');
  const bytes = readFileSync(logPath);
  const at = bytes.indexOf('"z":"') + 200;
  bytes[at] = bytes[at] === 0x41 ? 0x42 : 0x41;
  writeFileSync(logPath, bytes);
  store = await openStore(storeDir);
  try {
    const report = await store.verify();
    assert.equal(report.valid, false);
    assert.ok(report.issues.some((i) => i.check === 'log_checksum' && /block/.test(i.message)), JSON.stringify(report.issues));
    await assert.rejects(
      () => store.analogies.get(ids[0]),
      (err: Error & { code?: string }) => err.code === 'CORRUPT_LOG',
    );
  } finally {
    await store.close();
  }
});
