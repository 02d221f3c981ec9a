/**
 * Faults on PostgreSQL (issue 15): connections the server terminates during an import (as a
 * restart does: 57P01 admin_shutdown), a COMMIT whose answer is lost, a transaction cut before
 * its COMMIT, a database that cannot be reached for a while or for longer than the retry time,
 * a full connection pool under load, and /health. Through the library and the service; counts
 * are checked through the public interfaces (and, for the versions, the history).
 *
 * Faults come from pg_terminate_backend on this run's own database (never other databases of
 * the shared server) and from a TCP proxy in front of the server (pg-proxy.ts). No timing is
 * asserted tightly: only generous bounds that say "did not hang".
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import pg from 'pg';
import type { FastifyInstance } from 'fastify';
import { Store } from '../src/index.js';
import { buildServer } from '../src/service/server.js';
import { SoftlogicError } from '../src/core/errors.js';
import { asyncErr, writeJsonl } from './helpers.js';
import { PG_SERVER_URL, usePostgres, type PgTestDatabase } from './pg-helpers.js';
import { startPgProxy } from './pg-proxy.js';

const db = await usePostgres();
const skip = 'skip' in db ? db.skip : false;
const proxy = skip ? undefined : await startPgProxy(PG_SERVER_URL);
const dir = mkdtempSync(join(tmpdir(), 'softlogic-pg-faults-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function database(): PgTestDatabase {
  if ('skip' in db) throw new Error(db.skip);
  return db;
}

/** A new store's URL, through the proxy when asked, with pool settings in its query. */
function storeUrl(params: Record<string, string | number> = {}, viaProxy = false): string {
  const url = new URL(database().freshStoreUrl());
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, String(v));
  return viaProxy && proxy ? proxy.via(url.toString()) : url.toString();
}

async function openFresh(url: string): Promise<Store> {
  const store = await Store.init(url);
  database().defer(() => store.close());
  return store;
}

let files = 0;
function analogyFile(n: number, prefix: string): string {
  const records = Array.from({ length: n }, (_, i) => ({
    id: `${prefix}-${i}`,
    source_domain: i % 2 === 0 ? 'finance' : 'law',
    target_domain: 'biology',
    quality_score: (i % 10) / 10,
    concept_mappings: { bank: `b${i}` },
  }));
  return writeJsonl(join(dir, `in-${++files}.jsonl`), records);
}

/** Ends every session on this run's database but the admin's own: what a restart does to them. */
async function terminateSessions(): Promise<number> {
  const admin = new pg.Client({ connectionString: database().url, connectionTimeoutMillis: 5000 });
  await admin.connect();
  try {
    const { rows } = await admin.query<{ n: string }>('SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()');
    return Number(rows[0]?.n ?? 0);
  } finally {
    await admin.end();
  }
}

/**
 * Every analogy of the store: each of the `n` ids once, each at version 1, and (for a sample)
 * a history of one version: nothing applied twice, nothing lost.
 */
async function assertExactly(store: Store, n: number, prefix: string): Promise<void> {
  assert.equal(await store.analogies.count(), n);
  const seen = new Set<string>();
  for await (const a of store.analogies.stream()) {
    assert.ok(!seen.has(a.id), `${a.id} streamed twice`);
    seen.add(a.id);
    assert.equal(a.version, 1, `${a.id} has version ${a.version}: a chunk was applied twice`);
  }
  assert.equal(seen.size, n);
  for (let i = 0; i < n; i += Math.max(1, Math.floor(n / 10))) {
    assert.ok(seen.has(`${prefix}-${i}`), `${prefix}-${i} missing`);
    assert.equal((await store.analogies.history(`${prefix}-${i}`)).length, 1, `${prefix}-${i} has more than one stored version`);
  }
}

/** An import that a fault stopped must say which workflow and how to go on. */
function assertResumable(err: unknown): string {
  assert.ok(err instanceof SoftlogicError, `not a SoftlogicError: ${String(err)}`);
  const id = err.details.workflow_id;
  assert.equal(typeof id, 'string', `the error names no workflow: ${err.message}`);
  assert.match(err.message, new RegExp(`workflow ${id as string}`));
  assert.match(err.message, /resume|next open/);
  return id as string;
}

/** Settles within `ms`, or fails the test saying it hung. */
async function within<T>(ms: number, what: string, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([work, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

describe('PostgreSQL faults: the library', { skip }, () => {
  test('connections terminated during an import (as by a restart): the chunks are retried, N distinct analogies, one version each', async () => {
    const store = await openFresh(storeUrl());
    const n = 6000;
    const file = analogyFile(n, 'kill');
    // Sessions are ended while staging and then after some chunks commit, so the next chunk's
    // transaction (or the read before it) loses its connection.
    let chunks = 0;
    const kills: Array<Promise<number>> = [];
    const onProgress = () => {
      chunks += 1;
      if (chunks === 2 || chunks === 6 || chunks === 11) kills.push(terminateSessions());
    };
    store.events.on('progress', onProgress);
    const staging = setTimeout(() => kills.push(terminateSessions()), 30);
    let id: string;
    try {
      const result = await within(120_000, 'the import', store.analogies.import(file, { batchSize: 300, parallel: false }));
      assert.equal(result.workflow.status, 'completed');
      assert.equal(result.imported, n);
      id = result.workflow.workflow_id;
    } catch (err) {
      // Allowed: a clear failure naming the workflow; processing it again finishes it.
      id = assertResumable(err);
      const done = await store.workflows.process(id, { batchSize: 300 });
      assert.equal(done.status, 'completed');
    } finally {
      clearTimeout(staging);
      store.events.off('progress', onProgress);
    }
    const ended = (await Promise.all(kills)).reduce((a, b) => a + b, 0);
    assert.ok(kills.length >= 3, `only ${kills.length} rounds of termination happened`);
    assert.ok(ended >= 1, 'no session was terminated: the test tested nothing');
    const wf = await store.workflows.get(id);
    assert.equal(wf.items_processed, n);
    assert.equal(wf.error_count, 0);
    await assertExactly(store, n, 'kill');
  });

  test("a chunk's COMMIT whose answer is lost: its progress row says it committed, the import goes on without applying it twice", async () => {
    const store = await openFresh(storeUrl({}, true));
    const n = 2000;
    const file = analogyFile(n, 'commit');
    let cut: Promise<void> | undefined;
    const onProgress = () => {
      // Once processing starts: the next COMMIT (the first chunk's) reaches the server, its answer does not come back.
      cut ??= proxy!.cutAfter('COMMIT', 300);
    };
    store.events.on('progress', onProgress);
    try {
      const result = await within(60_000, 'the import', store.analogies.import(file, { batchSize: 250, parallel: false }));
      assert.equal(result.workflow.status, 'completed');
      assert.equal(result.imported, n);
    } finally {
      store.events.off('progress', onProgress);
    }
    assert.ok(cut, 'no chunk committed');
    await within(5000, 'the cut', cut);
    await assertExactly(store, n, 'commit');
  });

  test('a transaction cut before its COMMIT (during the COPY of its rows) runs again on a new connection', async () => {
    const store = await openFresh(storeUrl({}, true));
    const n = 1200;
    const cut = proxy!.cutAfter('COPY analogies');
    const result = await within(60_000, 'the import', store.analogies.import(analogyFile(n, 'copy'), { batchSize: 400, parallel: false }));
    await within(5000, 'the cut', cut);
    assert.equal(result.workflow.status, 'completed');
    await assertExactly(store, n, 'copy');
  });

  test('a single write whose COMMIT answer is lost is OUTCOME_UNKNOWN, and says so; the store tells what happened', async () => {
    const store = await openFresh(storeUrl({}, true));
    const record = { id: 'unknown-1', source_domain: 'finance', target_domain: 'biology', quality_score: 0.5, concept_mappings: { bank: 'river' } };
    const cut = proxy!.cutAfter('COMMIT', 300);
    const err = await asyncErr(() => store.analogies.save(record));
    await within(5000, 'the cut', cut);
    assert.equal(err.code, 'OUTCOME_UNKNOWN', err.message);
    assert.match(err.message, /may or may not have taken effect/);
    // It was committed (the server got the COMMIT); not written again behind the caller's back.
    assert.equal((await store.analogies.get('unknown-1')).version, 1);
    assert.equal((await store.analogies.history('unknown-1')).length, 1);
  });

  test('a short outage: reads wait and retry; a longer one than retry_ms is STORE_UNAVAILABLE naming the database; back again, all works', async () => {
    const store = await openFresh(storeUrl({ retry_ms: 2000, acquire_timeout_ms: 1000 }, true));
    await store.analogies.import(analogyFile(10, 'outage'), { parallel: false });
    proxy!.down();
    const back = setTimeout(() => proxy!.up(), 600);
    try {
      assert.equal(await within(30_000, 'a read across a short outage', store.analogies.count()), 10);
    } finally {
      clearTimeout(back);
      proxy!.up();
    }
    proxy!.down();
    try {
      const err = await within(30_000, 'a read during a long outage', asyncErr(() => store.analogies.count()));
      assert.equal(err.code, 'STORE_UNAVAILABLE', err.message);
      assert.match(err.message, /could not get it back/);
      assert.match(err.message, /127\.0\.0\.1/);
      assert.doesNotMatch(err.message, /password/);
    } finally {
      proxy!.up();
    }
    assert.equal(await store.analogies.count(), 10);
  });

  test('pool settings come from the URL or the environment; a bad value is INVALID_INPUT naming it', async () => {
    const bad = await asyncErr(() => Store.open(storeUrl({ pool_max: 0 })));
    assert.equal(bad.code, 'INVALID_INPUT');
    assert.match(bad.message, /pool_max/);
    process.env.SOFTLOGIC_PG_ACQUIRE_TIMEOUT_MS = 'soon';
    try {
      const env = await asyncErr(() => Store.open(storeUrl()));
      assert.equal(env.code, 'INVALID_INPUT');
      assert.match(env.message, /SOFTLOGIC_PG_ACQUIRE_TIMEOUT_MS/);
    } finally {
      delete process.env.SOFTLOGIC_PG_ACQUIRE_TIMEOUT_MS;
    }
  });
});

interface Service {
  app: FastifyInstance;
  base: string;
  store: Store;
}

async function serve(url: string, processInWorker = false): Promise<Service> {
  const store = await openFresh(url);
  const app = await buildServer({ store, logLevel: 'silent', rateLimit: false, processInWorker });
  database().defer(() => app.close());
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  return { app, store, base: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}` };
}

/** A request that cannot hang the test: aborted (and failed) after `ms`. */
async function request(url: string, init: RequestInit = {}, ms = 30_000): Promise<Response> {
  return fetch(url, { ...init, signal: AbortSignal.timeout(ms) });
}

describe('PostgreSQL faults: the service', { skip }, () => {
  test('connections terminated during POST /api/analogies/batch: 201 with every item, or an error naming the workflow that resumes; counts exact', async () => {
    const service = await serve(storeUrl(), true);
    const n = 5000;
    const body = analogyFile(n, 'svc');
    let kills = 0;
    let ended = 0;
    let done = false;
    const killing = (async () => {
      // A round every 400 ms while the request runs (a restart's effect, several times).
      for (let i = 0; i < 8 && !done; i++) {
        await new Promise((r) => setTimeout(r, 400));
        if (done) break;
        ended += await terminateSessions();
        kills += 1;
      }
    })();
    const res = await request(`${service.base}/api/analogies/batch?batch_size=250`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: readFileSync(body) }, 120_000);
    done = true;
    await killing;
    const answer = (await res.json()) as { workflow?: { workflow_id: string; status: string }; imported?: number; error?: { code: string; message: string; details: Record<string, unknown> } };
    if (res.status === 201) {
      assert.equal(answer.workflow?.status, 'completed');
      assert.equal(answer.imported, n);
    } else {
      // Allowed: a clear error naming the workflow; processing it again finishes it.
      assert.ok(answer.error, `status ${res.status} without an error body`);
      const id = assertResumable(new SoftlogicError(answer.error.code as never, answer.error.message, answer.error.details));
      const again = await request(`${service.base}/api/workflows/${id}/process`, { method: 'POST' }, 120_000);
      assert.ok(again.status < 300, `processing again answered ${again.status}: ${await again.text()}`);
    }
    assert.ok(kills >= 1 && ended >= 1, 'no session was terminated while the request ran: the test tested nothing');
    const page = (await (await request(`${service.base}/api/analogies?limit=1&total=true`)).json()) as { total: number };
    assert.equal(page.total, n);
    await assertExactly(service.store, n, 'svc');
  });

  test('a full pool under load: requests wait briefly, then 503 STORE_BUSY with Retry-After; none hangs; all succeed once the load drops', async () => {
    const service = await serve(storeUrl({ pool_max: 2, acquire_timeout_ms: 1000 }, true));
    await service.store.analogies.import(analogyFile(20, 'busy'), { parallel: false });
    // Every answer from the database held back 400 ms: two connections serve ~5 queries a
    // second (a new connection, one round trip with trust auth, still opens within the timeout).
    proxy!.slow(400);
    const started = Date.now();
    let answers: Response[];
    try {
      answers = await Promise.all(Array.from({ length: 16 }, () => request(`${service.base}/api/analogies?limit=5`, {}, 60_000)));
    } finally {
      proxy!.slow(0);
    }
    const elapsed = Date.now() - started;
    const busy = answers.filter((r) => r.status === 503);
    const ok = answers.filter((r) => r.status === 200);
    assert.equal(busy.length + ok.length, answers.length, `unexpected statuses: ${answers.map((r) => r.status).join(',')}`);
    assert.ok(busy.length > 0, 'no request was refused: the pool was never full');
    for (const r of busy) {
      assert.match(r.headers.get('retry-after') ?? '', /^\d+$/);
      const e = (await r.json()) as { error: { code: string; message: string } };
      assert.equal(e.error.code, 'STORE_BUSY');
      assert.match(e.error.message, /all 2 connections/);
    }
    for (const r of ok) assert.equal(((await r.json()) as { analogies: unknown[] }).analogies.length, 5);
    assert.ok(elapsed < 25_000, `the burst took ${elapsed} ms`);
    // The load is gone: the same burst is served in full.
    const calm = await Promise.all(Array.from({ length: 16 }, () => request(`${service.base}/api/analogies?limit=5`)));
    assert.deepEqual(
      calm.map((r) => r.status),
      calm.map(() => 200),
    );
  });

  test('/health: 200 while PostgreSQL answers, 503 STORE_UNAVAILABLE with Retry-After (not a hang) when it refuses or never answers, 200 when it is back', async () => {
    // A long acquire timeout: /health must not wait for it.
    const service = await serve(storeUrl({ acquire_timeout_ms: 60_000 }, true));
    assert.equal((await request(`${service.base}/health`)).status, 200);
    for (const silent of [false, true]) {
      proxy!.down({ silent });
      try {
        const started = Date.now();
        const res = await request(`${service.base}/health`, {}, 20_000);
        assert.equal(res.status, 503, `silent=${silent}`);
        assert.match(res.headers.get('retry-after') ?? '', /^\d+$/);
        assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'STORE_UNAVAILABLE');
        assert.ok(Date.now() - started < 15_000, `health took ${Date.now() - started} ms (silent=${silent})`);
      } finally {
        proxy!.up();
      }
      assert.equal((await request(`${service.base}/health`)).status, 200);
    }
  });

  test('/health while every connection is in use: 503 STORE_BUSY with Retry-After within its bound, not a wait for the pool', async () => {
    const service = await serve(storeUrl({ pool_max: 1, acquire_timeout_ms: 60_000 }, true));
    assert.equal((await request(`${service.base}/health`)).status, 200);
    // The one connection is held by a query whose answer the proxy holds back 5 s.
    proxy!.slow(5000);
    try {
      const held = request(`${service.base}/api/analogies?limit=1`);
      await new Promise((r) => setTimeout(r, 300));
      const started = Date.now();
      const res = await request(`${service.base}/health`, {}, 20_000);
      const took = Date.now() - started;
      assert.equal(res.status, 503);
      assert.match(res.headers.get('retry-after') ?? '', /^\d+$/);
      assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'STORE_BUSY');
      assert.ok(took < 4500, `health took ${took} ms: it waited for the held connection`);
      assert.equal((await held).status, 200);
    } finally {
      proxy!.slow(0);
    }
    assert.equal((await request(`${service.base}/health`)).status, 200);
  });
});
