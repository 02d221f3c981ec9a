import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, type Harness, analogy } from './service-helpers.js';

let h: Harness;
before(async () => {
  h = await startHarness({ bodyLimit: 64 * 1024, rateLimit: false });
});
after(async () => {
  await h.close();
});

interface ErrorBody {
  error: { code: string; message: string; details: Record<string, unknown> };
}

async function call(method: string, path: string, body?: unknown, raw?: string): Promise<{ status: number; json: unknown; text: string; type: string }> {
  const res = await fetch(h.base + path, {
    method,
    headers: body !== undefined || raw !== undefined ? { 'content-type': 'application/json' } : {},
    body: raw ?? (body === undefined ? undefined : JSON.stringify(body)),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text, type: res.headers.get('content-type') ?? '' };
}

function errorOf(json: unknown): ErrorBody['error'] {
  const e = (json as ErrorBody).error;
  assert.ok(e && typeof e.code === 'string', `error body expected, got ${JSON.stringify(json)}`);
  assert.ok(!JSON.stringify(json).includes('    at '), 'no stack trace');
  return e;
}

test('health and status', async () => {
  const health = await call('GET', '/health');
  assert.equal(health.status, 200);
  assert.deepEqual(health.json, { status: 'ok' });
  const status = await call('GET', '/status');
  assert.equal(status.status, 200);
  const s = status.json as { store: string; version: string; uptime_seconds: number; counts: { contexts: number }; workflows: object };
  assert.equal(s.store, '.', 'the store, relative to itself: no absolute server path (issue 13, item 10)');
  assert.match(s.version, /^\d+\.\d+\.\d+/);
  assert.equal(typeof s.uptime_seconds, 'number');
  assert.equal(typeof s.workflows, 'object');
});

test('contexts: create, list, conflict, bad name', async () => {
  const created = await call('POST', '/api/contexts', { name: 'science', description: 'sci' });
  assert.equal(created.status, 201);
  assert.equal((created.json as { name: string }).name, 'science');
  const list = await call('GET', '/api/contexts');
  assert.ok((list.json as { contexts: Array<{ name: string }> }).contexts.some((c) => c.name === 'science'));
  const bad = await call('POST', '/api/contexts', { name: '../etc' });
  assert.equal(bad.status, 400);
  assert.equal(errorOf(bad.json).code, 'INVALID_INPUT');
});

test('analogies: create, get, query, history, delete, restore', async () => {
  for (let i = 0; i < 20; i++) {
    const r = await call('POST', '/api/analogies', analogy(i, i < 12 ? 'finance' : 'music'));
    assert.equal(r.status, 201, r.text);
  }
  const got = await call('GET', '/api/analogies/a-3');
  assert.equal(got.status, 200);
  assert.equal((got.json as { source_domain: string }).source_domain, 'finance');

  const q = await call('GET', '/api/analogies?domain=finance&min_quality=0.5');
  assert.equal(q.status, 200);
  const qj = q.json as { count: number; analogies: Array<{ quality_score: number }> };
  assert.equal(qj.count, qj.analogies.length);
  assert.ok(qj.count > 0 && qj.analogies.every((a) => a.quality_score >= 0.5));
  const limited = await call('GET', '/api/analogies?limit=3');
  assert.equal((limited.json as { count: number }).count, 3);

  const del = await call('DELETE', '/api/analogies/a-3');
  assert.equal(del.status, 200);
  assert.notEqual((del.json as { deleted_at: string | null }).deleted_at, null);
  const deleted = await call('GET', '/api/analogies/a-3');
  assert.notEqual((deleted.json as { deleted_at: string | null }).deleted_at, null);
  const again = await call('DELETE', '/api/analogies/a-3');
  assert.equal(again.status, 409);
  assert.equal(errorOf(again.json).code, 'ALREADY_DELETED');
  const restored = await call('POST', '/api/analogies/a-3/restore');
  assert.equal(restored.status, 200);
  assert.equal((restored.json as { deleted_at: string | null }).deleted_at, null);
  const hist = await call('GET', '/api/analogies/a-3/history');
  assert.equal(hist.status, 200);
  const history = hist.json as { id: string; versions: Array<{ op: string; deleted_at: string | null }> };
  assert.equal(history.id, 'a-3');
  assert.ok(history.versions.length >= 3);
});

test('analogies: validation errors name the field', async () => {
  const missing = await call('POST', '/api/analogies', { source_domain: 'x', quality_score: 0.5 });
  assert.equal(missing.status, 400);
  const e = errorOf(missing.json);
  assert.equal(e.code, 'INVALID_INPUT');
  assert.match(e.message, /target_domain/);
  const range = await call('POST', '/api/analogies', { source_domain: 'x', target_domain: 'y', quality_score: 2 });
  assert.equal(range.status, 400);
  assert.match(errorOf(range.json).message, /quality_score/);
  const extra = await call('POST', '/api/analogies', { source_domain: 'x', target_domain: 'y', quality_score: 0.1, bogus: 1 });
  assert.equal(extra.status, 400);
  assert.match(errorOf(extra.json).message, /bogus/);
  const badQuery = await call('GET', '/api/analogies?min_quality=abc');
  assert.equal(badQuery.status, 400);
  assert.match(errorOf(badQuery.json).message, /min_quality/);
});

test('malformed JSON is 400, oversized body is 413, unknown route 404', async () => {
  const malformed = await call('POST', '/api/analogies', undefined, '{"source_domain": ');
  assert.equal(malformed.status, 400);
  assert.equal(errorOf(malformed.json).code, 'INVALID_INPUT');
  const big = await call('POST', '/api/analogies', { source_domain: 'x', target_domain: 'y', quality_score: 0.1, metadata: { blob: 'x'.repeat(100_000) } });
  assert.equal(big.status, 413);
  assert.equal(errorOf(big.json).code, 'PAYLOAD_TOO_LARGE');
  const unknown = await call('GET', '/api/nothing-here');
  assert.equal(unknown.status, 404);
  assert.equal(errorOf(unknown.json).code, 'NOT_FOUND');
});

test('hostile ids and context names are refused with 400', async () => {
  for (const id of ['..%2F..%2Fetc%2Fpasswd', '.hidden', '-x', 'a%20b', 'x'.repeat(300), '%00']) {
    const r = await call('GET', `/api/analogies/${id}`);
    assert.equal(r.status, 400, `id ${id}: ${r.text}`);
    assert.equal(errorOf(r.json).code, 'INVALID_INPUT');
  }
  const ctx = await call('GET', '/api/analogies/a-1?context=..%2Fx');
  assert.equal(ctx.status, 400);
  const wf = await call('GET', '/api/workflows/..%2Fx');
  assert.equal(wf.status, 400);
});

test('NDJSON stream matches the query count', async () => {
  const res = await fetch(`${h.base}/api/analogies/stream?domain=finance`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /ndjson/);
  const lines = (await res.text()).split('\n').filter(Boolean);
  const q = await call('GET', '/api/analogies?domain=finance');
  assert.equal(lines.length, (q.json as { count: number }).count);
  for (const l of lines) assert.equal((JSON.parse(l) as { source_domain: string; target_domain: string }).source_domain, 'finance');
  const bad = await call('GET', '/api/analogies/stream?min_quality=7');
  assert.equal(bad.status, 400);
});

test('delete by criteria: dry run, workflow, refusal without criteria', async () => {
  const dry = await call('DELETE', '/api/analogies?domain=music&dry_run=true');
  assert.equal(dry.status, 200);
  assert.deepEqual(dry.json, { dry_run: true, matched: 8 });
  const none = await call('DELETE', '/api/analogies');
  assert.equal(none.status, 400);
  const real = await call('DELETE', '/api/analogies?domain=music');
  assert.equal(real.status, 200);
  const r = real.json as { matched: number; workflow: { workflow_id: string; status: string; workflow_type: string } };
  assert.equal(r.matched, 8);
  assert.equal(r.workflow.status, 'completed');
  assert.equal(r.workflow.workflow_type, 'deletion_batch');
  const wf = await call('GET', `/api/workflows/${r.workflow.workflow_id}`);
  assert.equal(wf.status, 200);
  const list = await call('GET', '/api/workflows?status=completed');
  assert.ok((list.json as { workflows: Array<{ workflow_id: string }> }).workflows.some((w) => w.workflow_id === r.workflow.workflow_id));
  const badStatus = await call('GET', '/api/workflows?status=nope');
  assert.equal(badStatus.status, 400);
  const rb = await call('POST', `/api/workflows/${r.workflow.workflow_id}/process`);
  assert.equal(rb.status, 409);
  assert.equal((await call('GET', '/api/workflows/nope')).status, 404);
  assert.equal((await call('POST', '/api/workflows/nope/cancel')).status, 404);
});

test('compact, verify, stats', async () => {
  const compact = await call('POST', '/api/compact');
  assert.equal(compact.status, 200, compact.text);
  assert.ok(Array.isArray((compact.json as { contexts: unknown[] }).contexts));
  const verify = await call('GET', '/api/verify');
  assert.equal(verify.status, 200);
  assert.equal((verify.json as { valid: boolean }).valid, true);
  const stats = await call('GET', '/api/stats');
  assert.equal(stats.status, 200);
  assert.ok(Array.isArray((stats.json as { contexts: unknown[] }).contexts));
  const missingCtx = await call('POST', '/api/compact?context=nowhere');
  assert.equal(missingCtx.status, 404);
});

test('openapi.json documents the routes; /docs is served', async () => {
  const doc = await call('GET', '/openapi.json');
  assert.equal(doc.status, 200);
  const d = doc.json as { openapi: string; paths: Record<string, unknown> };
  assert.match(d.openapi, /^3\./);
  for (const p of ['/health', '/status', '/api/analogies', '/api/analogies/{id}', '/api/workflows/{id}/process', '/api/stats']) {
    assert.ok(p in d.paths, `${p} in openapi paths`);
  }
  const docs = await fetch(`${h.base}/docs`);
  assert.equal(docs.status, 200);
  await docs.arrayBuffer();
});
