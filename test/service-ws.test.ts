import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startHarness, collectWs, analogy } from './service-helpers.js';

interface Msg {
  type: string;
  status?: string;
  final?: boolean;
  count?: number;
  items_processed?: number;
  workflow?: { status: string };
}

test('auth: /health open, everything else (WebSockets too) needs the bearer key', async () => {
  const h = await startHarness({ apiKey: 'sekrit-key', rateLimit: false });
  try {
    assert.equal((await fetch(`${h.base}/health`)).status, 200);
    const denied = await fetch(`${h.base}/api/stats`);
    assert.equal(denied.status, 401);
    assert.equal(((await denied.json()) as { error: { code: string } }).error.code, 'UNAUTHORIZED');
    assert.equal((await fetch(`${h.base}/api/stats`, { headers: { authorization: 'Bearer wrong' } })).status, 401);
    // The API description is open (so /docs can be used to enter the key): see service-auth.test.ts.
    assert.equal((await fetch(`${h.base}/openapi.json`)).status, 200);
    const ok = await fetch(`${h.base}/api/stats`, { headers: { authorization: 'Bearer sekrit-key' } });
    assert.equal(ok.status, 200);
    await ok.arrayBuffer();
    const wsUrl = h.base.replace('http', 'ws') + '/ws/analogies/stream';
    const refused = await collectWs(wsUrl);
    assert.equal(refused.status, 401);
    const allowed = await collectWs(wsUrl, { authorization: 'Bearer sekrit-key' });
    assert.equal(allowed.status, undefined);
    assert.deepEqual(JSON.parse(allowed.messages.at(-1) ?? '{}'), { type: 'complete', count: 0 });
  } finally {
    await h.close();
  }
});

test('rate limit answers 429 RATE_LIMITED', async () => {
  const h = await startHarness({ rateLimit: { max: 3, timeWindow: 60_000 } });
  try {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await fetch(`${h.base}/api/contexts`);
      statuses.push(r.status);
      const body = (await r.json()) as { error?: { code: string } };
      if (r.status === 429) assert.equal(body.error?.code, 'RATE_LIMITED');
    }
    assert.deepEqual(statuses, [200, 200, 200, 429, 429]);
  } finally {
    await h.close();
  }
});

test('WebSocket stream sends every matching analogy, then the count', async () => {
  const h = await startHarness({ rateLimit: false });
  try {
    for (let i = 0; i < 3000; i++) await h.store.analogies.save({ ...analogy(i, i % 3 === 0 ? 'music' : 'finance'), metadata: { pad: 'p'.repeat(500) } });
    const ws = h.base.replace('http', 'ws');
    const res = await collectWs(`${ws}/ws/analogies/stream?domain=finance&min_quality=0.3`);
    const last = JSON.parse(res.messages.at(-1) ?? '{}') as Msg;
    assert.equal(last.type, 'complete');
    const expected = await h.store.analogies.count({ domain: 'finance', min_quality: 0.3 });
    assert.equal(last.count, expected);
    assert.equal(res.messages.length - 1, expected);
    const q = await fetch(`${h.base}/api/analogies?domain=finance&min_quality=0.3&limit=100000`);
    assert.equal(((await q.json()) as { count: number }).count, expected);
    assert.equal(res.code, 1000);
    const bad = await collectWs(`${ws}/ws/analogies/stream?min_quality=9`);
    assert.equal(bad.status, 400);
  } finally {
    await h.close();
  }
});

test('WebSocket workflow progress: state first, events in order, final last, then close', async () => {
  const h = await startHarness({ rateLimit: false });
  try {
    const file = join(h.dir, 'import.jsonl');
    const lines: string[] = [];
    for (let i = 0; i < 5000; i++) lines.push(JSON.stringify(analogy(i)));
    writeFileSync(file, lines.join('\n') + '\n');
    const wf = await h.store.workflows.createFromFile(file, { batchSize: 500 });
    const ws = h.base.replace('http', 'ws');
    let processing: Promise<Response> | undefined;
    const res = await collectWs(`${ws}/ws/workflows/${wf.workflow_id}`, {}, () => {
      processing = fetch(`${h.base}/api/workflows/${wf.workflow_id}/process`, { method: 'POST' });
    });
    const accepted = await processing;
    assert.equal(accepted?.status, 202);
    const msgs = res.messages.map((m) => JSON.parse(m) as Msg);
    assert.equal(msgs[0].type, 'state');
    const progress = msgs.slice(1);
    assert.ok(progress.length >= 2, `progress events: ${JSON.stringify(msgs)}`);
    for (let i = 1; i < progress.length; i++) assert.ok((progress[i].items_processed ?? 0) >= (progress[i - 1].items_processed ?? 0));
    const last = progress.at(-1);
    assert.equal(last?.final, true);
    assert.equal(last?.status, 'completed');
    assert.equal(progress.filter((p) => p.final).length, 1);
    assert.equal(res.code, 1000);

    // Already final: the state, then close.
    const again = await collectWs(`${ws}/ws/workflows/${wf.workflow_id}`);
    assert.equal(again.messages.length, 1);
    assert.equal((JSON.parse(again.messages[0]) as Msg).workflow?.status, 'completed');
    const unknown = await collectWs(`${ws}/ws/workflows/no-such-workflow`);
    assert.equal(unknown.status, 404);
    const hostile = await collectWs(`${ws}/ws/workflows/..%2Fetc`);
    assert.equal(hostile.status, 400);
    assert.equal(await h.store.analogies.count({}), 5000);
  } finally {
    await h.close();
  }
});
