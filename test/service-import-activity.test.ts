/**
 * The service imports an upload the CLI's way (staged on every core, a bulk load) only while it
 * answers no queries; while queries are answered, the query indexes are kept. And a bulk load
 * ends (indexes built) at the first commit after the condition it was given turns true.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../src/index.js';
import { startHarness } from './service-helpers.js';

// The bulk load's minimum lowered from 100,000 rows (children and the in-process service read it).
process.env.SOFTLOGIC_BULK_LOAD_MIN_ROWS = '20000';
/** Over that minimum, and ~9 MB: past the 8 MB from which an upload is staged on every core. */
const N = 50_000;

function lines(n: number, domain: string): string {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    out.push(JSON.stringify({ id: `${domain}-${i}`, source_domain: domain, target_domain: `t${i % 13}`, quality_score: (i % 1000) / 1000, tags: [`tag${i % 9}`], metadata: { i, note: 'padding for the parallel staging threshold' } }));
  }
  return out.join('\n') + '\n';
}

interface AuditEntries {
  entries: Array<{ event: string; workflow_id?: string; owner?: string }>;
}

test('an upload to a quiet server is bulk loaded; one that arrives while queries are answered keeps the indexes; every record is imported either way', { timeout: 300_000 }, async () => {
  const h = await startHarness({ rateLimit: false, uploadLimit: 64 * 1024 * 1024 });
  try {
    const post = async (body: string) => {
      const res = await fetch(`${h.base}/api/analogies/batch?batch_size=20000`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body });
      const json = (await res.json()) as { imported: number; workflow: { workflow_id: string; status: string } };
      assert.equal(res.status, 201, JSON.stringify(json).slice(0, 500));
      return json;
    };
    const bulkStarts = async () => ((await (await fetch(`${h.base}/api/audit?event=bulk_load_started&limit=100`)).json()) as AuditEntries).entries;

    // Quiet: no request but the upload.
    const quiet = await post(lines(N, 'quietland'));
    assert.equal(quiet.imported, N);
    assert.equal(quiet.workflow.status, 'completed');
    const started = await bulkStarts();
    assert.equal(started.length, 1);
    assert.equal(started[0].owner, quiet.workflow.workflow_id);

    // Busy: queries keep coming while the second body is uploaded and imported.
    let querying = true;
    let answered = 0;
    const queries = (async () => {
      while (querying) {
        const res = await fetch(`${h.base}/api/analogies?domain=quietland&limit=5`);
        assert.equal(res.status, 200);
        assert.equal(((await res.json()) as { count: number }).count, 5);
        answered += 1;
      }
    })();
    while (answered === 0) await new Promise((r) => setTimeout(r, 10));
    const busy = await post(lines(N, 'busyland'));
    querying = false;
    await queries;
    assert.equal(busy.imported, N);
    assert.equal((await bulkStarts()).length, 1, 'no bulk load while queries are answered');

    // Both imports are whole, queryable and the store verifies (its query indexes all present).
    for (const domain of ['quietland', 'busyland']) {
      const res = (await (await fetch(`${h.base}/api/analogies?domain=${domain}&min_quality=0.999&total=true&limit=1000`)).json()) as { total: number };
      assert.equal(res.total, N / 1000);
    }
    assert.equal(await h.store.analogies.count(), 2 * N);
    const verify = (await (await fetch(`${h.base}/api/verify`)).json()) as { valid: boolean; issues: unknown[] };
    assert.equal(verify.valid, true, JSON.stringify(verify.issues));
  } finally {
    await h.close();
  }
});

test('endBulkLoadWhen: the query indexes are built at the first commit after it turns true, and kept for the rest', { timeout: 300_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'softlogic-endbulk-'));
  const store = await openStore(join(dir, 'store'), { create: true });
  try {
    const file = join(dir, 'a.jsonl');
    writeFileSync(file, lines(N, 'endland'));
    const indexes = () => (store.backend.db.prepare(`SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name IN ('analogies_quality', 'analogies_source', 'analogies_target')`).pluck().get() as number);
    const seen: number[] = [];
    const result = await store.analogies.import(file, {
      batchSize: 10_000,
      endBulkLoadWhen: () => {
        seen.push(indexes());
        return seen.length >= 3;
      },
    });
    assert.equal(result.imported, N);
    // Asked once before the load began (false: it began, indexes dropped) and after each commit.
    assert.deepEqual(seen.slice(0, 3), [3, 0, 0]);
    assert.equal(seen.length, 3, 'not asked again once ended');
    assert.equal(indexes(), 3);
    assert.equal(await store.analogies.count({ domain: 'endland', min_quality: 0.999 }), N / 1000);
    assert.equal((await store.verify()).valid, true);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a large knowledge import into an empty store bulk loads (indexes built at its end); bulkLoad: false keeps them', { timeout: 300_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'softlogic-kbulk-'));
  const store = await openStore(join(dir, 'store'), { create: true });
  try {
    const file = join(dir, 'k.jsonl');
    writeFileSync(file, lines(N, 'kland'));
    const starts = async () => (await store.audit.list({ event: 'bulk_load_started' })).map((e) => (e as { owner?: string }).owner);
    const first = await store.import(file, { merge: 'merge' });
    assert.equal(first.applied.created, N);
    assert.deepEqual(await starts(), [first.workflows[0].workflow_id]);
    const again = await store.import(file, { merge: 'overwrite', context: 'other', bulkLoad: false });
    assert.equal(again.applied.created, N);
    assert.equal((await starts()).length, 1, 'no bulk load when asked not to');
    for (const context of ['default', 'other']) assert.equal(await store.analogies.count({ context, domain: 'kland', min_quality: 0.999 }), N / 1000);
    assert.equal((await store.verify()).valid, true);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
