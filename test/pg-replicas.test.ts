/**
 * Service replicas on one PostgreSQL store (issue 15): two or more `softlogic serve` processes on
 * one fresh database, checked only through HTTP and WebSockets.
 *
 * - Takeover: an import through replica A, which is killed with SIGKILL at several points
 *   (while staging, once staged before processing, mid-processing, near the end); replica B takes
 *   the workflow over once A's lease runs out and finishes it exactly once: exactly N distinct
 *   analogies, each at version 1 (a chunk applied twice would leave version 2), the workflow
 *   completed with N items and no error.
 * - Events: a WebSocket client of B follows a workflow that A runs, in order, to its final state.
 * - Vectors: a concept added through A is found by `similar` on B within a second.
 *
 * Leases are shortened to 1 s (SOFTLOGIC_LEASE_SECONDS) so the whole file stays well under a minute.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { usePostgres } from './pg-helpers.js';
import { analogyLines, getJson, startReplica, waitFor, type Replica } from './replica-harness.js';
import { WebSocket } from './service-helpers.js';
import { tempDir } from './helpers.js';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Workflow } from '../src/index.js';

const db = await usePostgres();
const skip = 'skip' in db ? db.skip : false;
const LEASE = { SOFTLOGIC_LEASE_SECONDS: '1' };
const LIVE_LEASE_SECONDS = 2;

/** Every replica runs in this directory, as replicas on one machine would: their temporary files meet there. */
const cwd = tempDir('softlogic-replicas-');
const started: Replica[] = [];
async function replica(name: string, store: string, env: Record<string, string> = {}): Promise<Replica> {
  const r = await startReplica(name, store, { ...LEASE, ...env }, cwd);
  started.push(r);
  return r;
}

after(async () => {
  for (const r of started) await r.kill();
});

async function upload(base: string, query: string, body: string): Promise<Response> {
  return fetch(`${base}/api/analogies/batch?${query}`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body });
}

async function workflow(base: string, id: string): Promise<Workflow> {
  const { status, body } = await getJson<Workflow>(`${base}/api/workflows/${id}`);
  assert.equal(status, 200, `workflow ${id}: HTTP ${status}`);
  return body;
}

async function finished(base: string, id: string, timeoutMs = 40_000): Promise<Workflow> {
  return waitFor(`workflow ${id} to finish`, async () => {
    const wf = await workflow(base, id);
    return ['completed', 'failed', 'cancelled'].includes(wf.status) ? wf : undefined;
  }, timeoutMs, 100);
}

/** Every analogy of a context through the NDJSON stream: distinct ids and the versions seen. */
async function contents(base: string, context: string): Promise<{ ids: Set<string>; lines: number; versions: Set<number> }> {
  const res = await fetch(`${base}/api/analogies/stream?context=${context}`);
  assert.equal(res.status, 200);
  const lines = (await res.text()).split('\n').filter((l) => l.length > 0);
  const ids = new Set<string>();
  const versions = new Set<number>();
  for (const line of lines) {
    const a = JSON.parse(line) as { id: string; version: number };
    ids.add(a.id);
    versions.add(a.version);
  }
  return { ids, lines: lines.length, versions };
}

/** The import of N analogies into `context` is there exactly once: N distinct ids, all version 1, counted N. */
async function assertExactlyOnce(base: string, context: string, n: number): Promise<void> {
  const got = await contents(base, context);
  assert.equal(got.lines, n, `${context}: analogies streamed`);
  assert.equal(got.ids.size, n, `${context}: distinct ids`);
  for (let i = 0; i < n; i += Math.max(1, Math.floor(n / 50))) assert.ok(got.ids.has(`${context}-${i}`), `${context}-${i} is there`);
  assert.deepEqual([...got.versions], [1], `${context}: no record written twice`);
  const counted = await getJson<{ total: number }>(`${base}/api/analogies?context=${context}&limit=1&total=true`);
  assert.equal(counted.body.total, n);
}

/** B completes workflow `id` (context `id` without its `wf-`) with all N items, exactly once. */
async function assertFinishedOnce(base: string, id: string, n: number): Promise<Workflow> {
  const done = await finished(base, id);
  assert.equal(done.status, 'completed');
  assert.equal(done.items_processed, n);
  assert.equal(done.error_count, 0);
  await assertExactlyOnce(base, id.replace(/^wf-/, ''), n);
  const verified = await getJson<{ valid: boolean; issues: unknown[] }>(`${base}/api/verify`);
  assert.deepEqual({ valid: verified.body.valid, issues: verified.body.issues }, { valid: true, issues: [] }, 'verify after the takeover');
  return done;
}

interface WsMessage {
  type: string;
  status?: string;
  items_processed?: number;
  final?: boolean;
  workflow?: Workflow;
}

/** Opens a WebSocket on /ws/workflows/:id and collects its messages until the server closes it. */
function follow(base: string, id: string): { opened: Promise<void>; done: Promise<WsMessage[]> } {
  const ws = new WebSocket(`${base.replace('http', 'ws')}/ws/workflows/${id}`);
  const messages: WsMessage[] = [];
  const opened = new Promise<void>((resolve, reject) => {
    ws.on('open', () => resolve());
    ws.on('error', reject);
  });
  const done = new Promise<WsMessage[]>((resolve) => {
    ws.on('message', (data) => messages.push(JSON.parse(data.toString('utf8')) as WsMessage));
    ws.on('close', () => resolve(messages));
  });
  return { opened, done };
}

describe('replicas on one PostgreSQL store', { skip }, () => {
  let store = '';
  let b: Replica;
  /** the replica each test runs its workflow on: killed ones are the tests' own; `a` lives throughout */
  const as: Record<string, Replica> = {};

  before(async () => {
    if ('skip' in db) return;
    store = db.freshStoreUrl();
    b = await replica('B', store);
    // Started one after the other (many node processes starting at once on a loaded machine take long).
    as.a = await replica('A', store);
    // A longer lease for the replica that must never lose its workflow: a loaded machine (CI shares
    // its cores among 6 replicas, PostgreSQL and another test file) can stall a process past 1 s.
    as.live = await replica('A-live', store, { SOFTLOGIC_LEASE_SECONDS: String(LIVE_LEASE_SECONDS) });
    as.mid = await replica('A-mid', store);
    as.end = await replica('A-end', store);
    as.staged = await replica('A-staged', store, { SOFTLOGIC_KILL_AT: 'workflow-created' });
    as.staging = await replica('A-staging', store, { SOFTLOGIC_KILL_AT: 'workflow-staged' });
  });

  // Each test has its own replica A and context; B serves them all. They run at once (most of
  // their time is spent waiting on the database and on leases).
  describe('at once', { concurrency: true }, () => {

    test('killed mid-processing: B takes the import over and finishes it exactly once; B\'s WebSocket follows it to the end', async () => {
      const a = as.mid as Replica;
      const n = 30_000;
      const response = await upload(a.base, 'async=true&batch_size=500&context=mid&workflow_id=wf-mid', analogyLines('mid', n));
      assert.equal(response.status, 202);
      const ws = follow(b.base, 'wf-mid');
      await ws.opened;
      const at = await waitFor('A to commit a third', async () => {
        const wf = await workflow(b.base, 'wf-mid');
        return wf.items_processed >= n / 3 ? wf.items_processed : undefined;
      }, 40_000);
      await a.kill();
      const killedAt = (await workflow(b.base, 'wf-mid')).items_processed;
      assert.ok(killedAt < n, `killed before the end (at ${killedAt})`);
      await assertFinishedOnce(b.base, 'wf-mid', n);
      // The WebSocket on B: A's progress (published by A), then B's own after the takeover, to the final state.
      const messages = await ws.done;
      assert.equal(messages[0]?.type, 'state');
      const progress = messages.filter((m) => m.type === 'progress');
      const seen = progress.map((m) => m.items_processed ?? -1);
      assert.deepEqual([...seen].sort((x, y) => x - y), seen, 'progress events in order');
      assert.ok(seen.some((p) => p > 0 && p <= at + 500 && p < killedAt + 1), `events of A's chunks reached B (${seen.slice(0, 5).join(',')}…)`);
      assert.ok(seen.some((p) => p > killedAt), "events of B's own chunks");
      const last = progress[progress.length - 1];
      assert.equal(last?.final, true);
      assert.equal(last?.status, 'completed');
      assert.equal(last?.items_processed, n);
      const audit = await getJson<{ entries: Array<{ event: string; workflow_id?: string; previous_owner?: string }> }>(`${b.base}/api/audit?workflow_id=wf-mid`);
      assert.deepEqual(
        audit.body.entries.filter((e) => e.event === 'workflow_resumed').map((e) => e.previous_owner),
        ['gone'],
        'taken over once, from an owner whose lease ran out',
      );
    });

    test('killed near the end: B finishes the last chunks exactly once', async () => {
      const a = as.end as Replica;
      const n = 5000;
      // Small chunks, so that the last fifth spans ten commits (a loaded machine answers the polls slowly).
      assert.equal((await upload(a.base, 'async=true&batch_size=100&context=end&workflow_id=wf-end', analogyLines('end', n))).status, 202);
      await waitFor('A near the end', async () => ((await workflow(a.base, 'wf-end')).items_processed >= n * 0.8 ? true : undefined), 90_000, 5);
      await a.kill();
      const killedAt = (await workflow(b.base, 'wf-end')).items_processed;
      assert.ok(killedAt < n, `killed before the end (at ${killedAt})`);
      await assertFinishedOnce(b.base, 'wf-end', n);
    });

    test('killed once staged, before processing: the pending import is taken over and finished', async () => {
      const a = as.staged as Replica;
      const n = 4000;
      // A dies while answering: the request fails, the staged workflow stays in the database.
      await assert.rejects(upload(a.base, 'async=true&batch_size=500&context=staged&workflow_id=wf-staged', analogyLines('staged', n)));
      await a.kill();
      await assertFinishedOnce(b.base, 'wf-staged', n);
    });

    test('killed while staging: no workflow and nothing applied; the same import through B lands exactly once', async () => {
      const a = as.staging as Replica;
      const n = 4000;
      const lines = analogyLines('staging', n);
      await assert.rejects(upload(a.base, 'context=staging&workflow_id=wf-staging', lines));
      await a.kill();
      assert.equal((await getJson(`${b.base}/api/workflows/wf-staging`)).status, 404);
      const nothing = await getJson<{ error: { code: string } }>(`${b.base}/api/analogies?context=staging&limit=1&total=true`);
      assert.deepEqual([nothing.status, nothing.body.error.code], [404, 'CONTEXT_NOT_FOUND'], 'not even its context was made');
      const retry = await upload(b.base, 'batch_size=1000&context=staging', lines);
      assert.equal(retry.status, 201);
      await assertExactlyOnce(b.base, 'staging', n);
    });

    test('a workflow whose owner is alive and renewing is never taken over', async () => {
      const a = as.live as Replica;
      const n = 30_000;
      const t0 = Date.now();
      assert.equal((await upload(a.base, 'async=true&batch_size=100&context=live&workflow_id=wf-live', analogyLines('live', n))).status, 202);
      await assertFinishedOnce(b.base, 'wf-live', n);
      // Meaningful only if A's lease would have run out without its heartbeats (B looks every 250 ms).
      const seconds = (Date.now() - t0) / 1000;
      assert.ok(seconds >= 2 * LIVE_LEASE_SECONDS, `A worked ${seconds} s: at least two lease lengths`);
      const audit = await getJson<{ entries: Array<{ event: string }> }>(`${b.base}/api/audit?workflow_id=wf-live`);
      assert.equal(audit.body.entries.filter((e) => e.event === 'workflow_resumed').length, 0, 'never resumed');
    });

    test("B's WebSocket receives the progress of a workflow A runs, in order, the same events as A's own, ending with its final state", async () => {
      const a = as.a as Replica;
      const n = 3000;
      const staged = await fetch(`${a.base}/api/workflows?context=ws&workflow_id=wf-ws`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: analogyLines('ws', n) });
      assert.equal(staged.status, 201);
      const onA = follow(a.base, 'wf-ws');
      const onB = follow(b.base, 'wf-ws');
      await Promise.all([onA.opened, onB.opened]);
      assert.equal((await fetch(`${a.base}/api/workflows/wf-ws/process?batch_size=300`, { method: 'POST' })).status, 202);
      const [fromA, fromB] = await Promise.all([onA.done, onB.done]);
      const progress = (ms: WsMessage[]) => ms.filter((m) => m.type === 'progress').map((m) => [m.status, m.items_processed, m.final]);
      assert.equal(fromB[0]?.type, 'state');
      assert.equal(fromB[0]?.workflow?.status, 'pending');
      assert.ok(progress(fromA).length >= 11, `one event per chunk (${progress(fromA).length})`);
      assert.deepEqual(progress(fromB), progress(fromA), 'B saw exactly what A emitted, in order');
      assert.deepEqual(progress(fromB).at(-1), ['completed', n, true]);
    });
  });

  test('a concept added through A is found by similar on B within a second, and a deleted one disappears', async () => {
    const a = as.a as Replica;
    const add = async (name: string) => {
      const res = await fetch(`${a.base}/api/concepts?context=vec`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, provider: 'hash' }) });
      assert.equal(res.status, 201, await res.clone().text());
      return ((await res.json()) as { id: string }).id;
    };
    const similarOnB = async (name: string) => (await getJson<{ results: Array<{ id: string }> }>(`${b.base}/api/concepts/${name}/similar?context=vec&k=50`)).body.results.map((r) => r.id);
    for (const name of ['river', 'bank', 'money', 'water']) await add(name);
    // B builds and holds its index now; what follows must reach it as changes.
    assert.equal((await similarOnB('river')).length, 3);
    const id = await add('stream');
    const t0 = Date.now();
    const found = await waitFor('B to find the new concept', async () => ((await similarOnB('river')).includes(id) ? Date.now() - t0 : undefined), 1000, 20);
    assert.ok(found < 1000, `found after ${found} ms`);
    assert.equal((await fetch(`${a.base}/api/concepts/${encodeURIComponent(id)}?context=vec`, { method: 'DELETE' })).status, 200);
    await waitFor('B to drop the deleted concept', async () => (!(await similarOnB('river')).includes(id) ? true : undefined), 1000, 20);
  });

  test('temporary files: uploads go to the work directory (never a directory named after the URL); a new replica removes only those of dead ones', async () => {
    assert.equal(existsSync(join(cwd, 'postgres:')), false);
    assert.deepEqual(readdirSync(cwd), ['softlogic-work']);
    await as.a?.stop();
    const c = await replica('C', store);
    assert.deepEqual(readdirSync(join(cwd, 'softlogic-work', 'tmp')).filter((f) => f.startsWith('upload-')), [], 'the killed replicas\' uploads were removed');
    await c.stop();
  });
});
