import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { openStore } from '../src/index.js';
import { buildServer } from '../src/service/server.js';
import type { SoftlogicError } from '../src/core/errors.js';
import { byId, cliOk, genAnalogies, inputFields, tempDir, writeJsonl, collect } from './helpers.js';

test('issue 12.5: a store open in this process stays correct after another process compacts and rebuilds it (verify valid, reads right)', async () => {
  const dir = tempDir();
  const storeDir = join(dir, 'store');
  const data = genAnalogies(400, 1601);
  const store = await openStore(storeDir, { create: true });
  const app = await buildServer({ store, logLevel: 'silent' });
  try {
    await store.analogies.import(writeJsonl(join(dir, 'a.jsonl'), data), { batchSize: 50 });
    for (const a of data.slice(0, 100)) await store.analogies.delete(a.id);
    for (const a of data.slice(100, 120)) await store.analogies.save({ ...a, quality_score: 0.999 });
    const live = data.slice(100);
    const expected = byId(await store.analogies.query({ limit: 1000 }));
    assert.equal(expected.length, 300);
    // Read once so this process holds the log open and its rows' offsets cached.
    assert.equal((await store.analogies.get(data[150].id)).id, data[150].id);
    assert.equal((await store.verify()).valid, true);

    const compacted = cliOk(storeDir, ['compact']) as { contexts: Array<{ active_records: number }> };
    assert.equal(compacted.contexts[0].active_records, 300);
    const report = await store.verify();
    assert.equal(report.valid, true, JSON.stringify(report.issues.slice(0, 3)));
    const http = await app.inject({ method: 'GET', url: '/api/verify' });
    assert.equal((http.json() as { valid: boolean }).valid, true);
    assert.deepEqual(byId(await store.analogies.query({ limit: 1000 })), expected);
    assert.deepEqual(byId((await collect(store.analogies.stream()))), expected);
    for (const a of live.slice(20)) assert.deepEqual(inputFields(await store.analogies.get(a.id)), a);
    assert.equal((await store.analogies.history(data[110].id)).length, 1); // compaction keeps the current version only

    cliOk(storeDir, ['rebuild']);
    assert.equal((await store.verify()).valid, true);
    assert.deepEqual(byId(await store.analogies.query({ limit: 1000 })), expected);
    // Writes continue at the right place after both.
    await store.analogies.save({ id: 'after', source_domain: 'a', target_domain: 'b', quality_score: 0.5 });
    assert.equal(await store.analogies.count(), 301);
    assert.equal((await store.verify()).valid, true);
    assert.equal(cliOk(storeDir, ['verify']).valid, true);

    // A restore replaces the store's files: this process is told so rather than reading the old ones.
    const backup = cliOk(storeDir, ['backup', '--out', join(dir, 'b.slbak')]) as { file: string };
    cliOk(storeDir, ['restore', backup.file, '--force']);
    await assert.rejects(() => store.analogies.get('after'), (err: SoftlogicError) => err.code === 'CONFLICT' && /replaced/.test(err.message));
  } finally {
    await app.close();
    await store.close();
  }
});
