import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openStore } from '../src/index.js';
import { auditEvents, byId, cli, cliOk, genAnalogies, tempDir, writeJsonl } from './helpers.js';

function removeIndex(storeDir: string): void {
  for (const suffix of ['', '-wal', '-shm']) rmSync(join(storeDir, `knowledge.sqlite${suffix}`), { force: true });
}

test('issue 13.4: with knowledge.sqlite deleted, the next command rebuilds it from the logs (said on stderr, audited); lost workflows are named', async () => {
  const dir = tempDir();
  const storeDir = join(dir, 'store');
  const data = genAnalogies(300, 1501);
  const store = await openStore(storeDir, { create: true });
  let before: unknown[];
  let workflowId: string;
  try {
    const imported = await store.analogies.import(writeJsonl(join(dir, 'a.jsonl'), data), { batchSize: 100 });
    workflowId = imported.workflow.workflow_id;
    await store.contexts.create('other');
    await store.analogies.save({ source_domain: 'x', target_domain: 'y', quality_score: 0.7, id: 'in-other' }, 'other');
    await store.analogies.delete(data[7].id);
    await store.concepts.add({ name: 'lion', description: 'a cat' });
    before = byId(await store.analogies.query({ limit: 1000 }));
    assert.equal(before.length, 299);
  } finally {
    await store.close();
  }
  removeIndex(storeDir);
  const r = cli(storeDir, ['analogies', 'query', '--limit', '1000']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /knowledge\.sqlite was missing: rebuilt it from the logs of 2 context\(s\)/);
  assert.match(r.stderr, new RegExp(workflowId!));
  const after = r.json as { analogies: unknown[] };
  assert.deepEqual(byId(after.analogies as Array<{ id: string }>), before);
  const event = auditEvents(storeDir).find((e) => e.event === 'index_rebuilt');
  assert.ok(event);
  assert.deepEqual((event.workflows_lost as Array<{ workflow_id: string; items_processed: number }>).map((w) => [w.workflow_id, w.items_processed]), [[workflowId!, 300]]);
  const reopened = await openStore(storeDir);
  try {
    assert.equal((await reopened.analogies.get('in-other', 'other')).quality_score, 0.7);
    assert.equal((await reopened.concepts.find('lion'))?.description, 'a cat');
    assert.equal((await reopened.analogies.get(data[7].id)).deleted_at !== null, true);
    assert.equal((await reopened.verify()).valid, true);
    assert.deepEqual((await reopened.contexts.list()).map((c) => c.name), ['default', 'other']);
  } finally {
    await reopened.close();
  }
  // Rebuilt once: the next open does not do it again.
  assert.equal(auditEvents(storeDir).filter((e) => e.event === 'index_rebuilt').length, 1);
});

test('issue 13.4: a missing index over a damaged log is refused with a clear error, and rebuild --salvage recovers it', async () => {
  const dir = tempDir();
  const storeDir = join(dir, 'store');
  const data = genAnalogies(50, 1502);
  const store = await openStore(storeDir, { create: true });
  try {
    await store.analogies.import(writeJsonl(join(dir, 'a.jsonl'), data), { batchSize: 10 });
  } finally {
    await store.close();
  }
  removeIndex(storeDir);
  const log = join(storeDir, 'contexts', 'default', 'log.jsonl');
  const bytes = readFileSync(log);
  bytes[bytes.indexOf(`"id":"${data[20].id}"`) + 7] ^= 1;
  writeFileSync(log, bytes);
  const r = cli(storeDir, ['stats']);
  assert.equal(r.status, 1);
  const err = (r.json as { error: { code: string; message: string; details: { context: string } } }).error;
  assert.equal(err.code, 'CORRUPT_LOG');
  assert.match(err.message, /knowledge\.sqlite is missing/);
  assert.match(err.message, /rebuild --salvage/);
  assert.equal(err.details.context, 'default');
  const out = cliOk(storeDir, ['rebuild', '--salvage']) as { salvaged: Array<{ kept_records: number }> };
  assert.equal(out.salvaged[0].kept_records, 49);
  assert.equal(cliOk(storeDir, ['verify']).valid, true);
  assert.equal((cliOk(storeDir, ['analogies', 'query', '--limit', '100']) as { count: number }).count, 49);
});
