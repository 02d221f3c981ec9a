/**
 * Imports yield to foreground queries (workflows/pacer.ts): the pacer's duty and pauses, the
 * server's foreground signal (a request its client abandoned ends too), and an import through
 * a service on a PostgreSQL store while queries run: paced, and still exact.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import Fastify from 'fastify';
import { Pacer } from '../src/workflows/pacer.js';
import { foregroundLatency, QUIET_MS, ServerActivity } from '../src/service/activity.js';
import { buildServer } from '../src/service/server.js';
import { Store } from '../src/api/store.js';
import { usePostgres } from './pg-helpers.js';

/** A pacer on a fake clock whose sleeps advance it; `latency` is what the foreground reports. */
function fakePacer(latency: { ms: number | null }, options: { budgetMs?: number; floor?: number; maxPauseMs?: number } = {}) {
  const clock = { now: 0 };
  const pacer = new Pacer(() => latency.ms, { ...options, now: () => clock.now, sleep: async (ms) => void (clock.now += ms) });
  /** One piece of work of `ms`, then the pacer's pause. */
  const work = async (ms: number) => {
    clock.now += ms;
    await pacer.pace();
  };
  return { pacer, clock, work };
}

test('pacer: no pause while nothing is answered; over the budget the duty halves down to the floor, under it it climbs back', async () => {
  const latency: { ms: number | null } = { ms: null };
  const { pacer, work } = fakePacer(latency, { budgetMs: 20, floor: 0.25 });
  await work(100);
  assert.equal(pacer.duty, 1);
  assert.equal(pacer.pausedMs, 0);

  latency.ms = 35;
  assert.equal(pacer.pauseAfter(100), 100); // duty 0.5: as long a pause as the work
  assert.equal(pacer.duty, 0.5);
  assert.equal(pacer.pauseAfter(100), 300); // 0.25: three times the work
  assert.equal(pacer.pauseAfter(100), 300); // never below the floor
  assert.equal(pacer.duty, 0.25);

  latency.ms = 10;
  for (let i = 0; i < 3; i++) pacer.pauseAfter(100);
  assert.ok(Math.abs(pacer.duty - 0.55) < 1e-9, String(pacer.duty));
  for (let i = 0; i < 10; i++) pacer.pauseAfter(100);
  assert.equal(pacer.duty, 1);
  assert.equal(pacer.pauseAfter(100), 0);

  latency.ms = 35;
  pacer.pauseAfter(100);
  latency.ms = null; // the queries stopped: full speed at once
  assert.equal(pacer.pauseAfter(100), 0);
  assert.equal(pacer.duty, 1);
});

test('pacer: under queries that stay over the budget the work still gets its floor share of the time, pauses capped', async () => {
  const latency = { ms: 500 };
  const { pacer, clock, work } = fakePacer(latency, { budgetMs: 20, floor: 0.2, maxPauseMs: 1000 });
  let worked = 0;
  for (let i = 0; i < 200; i++) {
    await work(50);
    worked += 50;
  }
  const share = worked / clock.now;
  assert.ok(share >= 0.2 - 0.01 && share < 0.25, `work share ${share}`);
  assert.equal(pacer.pauses, 200);
  assert.equal(pacer.pausedMs, clock.now - worked);
  assert.deepEqual(pacer.takeCounts(), { pauses: 200, paused_ms: Math.round(clock.now - worked) });
  await work(50);
  assert.equal(pacer.takeCounts().pauses, 1, 'counted from the last take');
  // A long piece of work is not followed by a pause longer than the cap.
  assert.equal(pacer.pauseAfter(10_000), 1000);
  assert.throws(() => new Pacer(() => null, { floor: 0 }), RangeError);
});

test('foreground signal: the recent latency while requests are answered, null once quiet, also after a client gave up on its request', { timeout: 30_000 }, async () => {
  const activity = new ServerActivity(true);
  const app = Fastify();
  activity.install(app);
  let release: () => void = () => {};
  app.get('/slow', async () => {
    await new Promise<void>((resolve) => (release = resolve));
    return { ok: true };
  });
  app.get('/fast', async () => ({ ok: true }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  try {
    const port = (app.server.address() as { port: number }).port;
    const read = foregroundLatency(activity.state().foreground as Int32Array);
    assert.equal(read(), null, 'nothing answered yet');
    for (let i = 0; i < 5; i++) await (await fetch(`http://127.0.0.1:${port}/fast`)).json();
    const recent = read();
    assert.ok(recent !== null && recent >= 0, String(recent));

    // A client that gives up: its request never gets a response, and must not count as in flight for ever.
    await new Promise<void>((resolve) => {
      const req = httpRequest({ host: '127.0.0.1', port, path: '/slow' });
      req.on('error', () => resolve());
      req.end();
      setTimeout(() => {
        req.destroy();
        resolve();
      }, 200);
    });
    await new Promise((r) => setTimeout(r, 100));
    release();
    await new Promise((r) => setTimeout(r, QUIET_MS + 200));
    assert.equal(read(), null, 'quiet again once the abandoned request is gone');
    // A directory store's server does not pace (it met its latency target without).
    assert.equal(new ServerActivity(false).state().foreground, null);
  } finally {
    await app.close();
  }
});

test('an upload to a PostgreSQL service while queries run is paced, and imported exactly', { timeout: 300_000 }, async (t) => {
  const db = await usePostgres();
  if ('skip' in db) return t.skip(db.skip);
  // A budget of 0 ms: every query is over it, so the import runs at the floor duty whatever the machine's speed.
  const saved = process.env.SOFTLOGIC_PACE_BUDGET_MS;
  process.env.SOFTLOGIC_PACE_BUDGET_MS = '0';
  const store = await Store.open(db.freshStoreUrl(), { create: true });
  const app = await buildServer({ store, logLevel: 'silent', rateLimit: false });
  await app.listen({ port: 0, host: '127.0.0.1' });
  try {
    const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    const N = 6_000;
    const body = (from: number, n: number, domain: string) =>
      Array.from({ length: n }, (_, i) => JSON.stringify({ id: `${domain}-${from + i}`, source_domain: domain, target_domain: `t${i % 7}`, quality_score: ((from + i) % 100) / 100 })).join('\n') + '\n';
    const post = async (text: string) => {
      const res = await fetch(`${base}/api/analogies/batch?batch_size=1000`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: text });
      const json = (await res.json()) as { imported: number; workflow: { workflow_id: string; status: string } };
      assert.equal(res.status, 201, JSON.stringify(json).slice(0, 500));
      return json;
    };
    await post(body(0, 100, 'seed'));

    let querying = true;
    let answered = 0;
    const queries = Array.from({ length: 4 }, async () => {
      while (querying) {
        const res = await fetch(`${base}/api/analogies?domain=seed&limit=20`);
        assert.equal(res.status, 200);
        assert.equal(((await res.json()) as { count: number }).count, 20);
        answered += 1;
      }
    });
    const imported = await post(body(0, N, 'paced'));
    querying = false;
    await Promise.all(queries);
    assert.ok(answered > 0);
    assert.equal(imported.imported, N);
    assert.equal(imported.workflow.status, 'completed');

    const audit = (await (await fetch(`${base}/api/audit?event=workflow_completed&limit=10`)).json()) as { entries: Array<{ workflow_id?: string; paced?: { pauses: number; paused_ms: number } }> };
    const done = audit.entries.find((e) => e.workflow_id === imported.workflow.workflow_id);
    assert.ok(done?.paced && done.paced.pauses > 0 && done.paced.paused_ms > 0, JSON.stringify(done));

    const total = (await (await fetch(`${base}/api/analogies?domain=paced&total=true&limit=1`)).json()) as { total: number };
    assert.equal(total.total, N);
    const verify = (await (await fetch(`${base}/api/verify`)).json()) as { valid: boolean; issues: unknown[] };
    assert.equal(verify.valid, true, JSON.stringify(verify.issues));
  } finally {
    await app.close();
    await store.close();
    // (Kept until here: the processing thread, started by the first upload, reads it then.)
    if (saved === undefined) delete process.env.SOFTLOGIC_PACE_BUDGET_MS;
    else process.env.SOFTLOGIC_PACE_BUDGET_MS = saved;
  }
});
