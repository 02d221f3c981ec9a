import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness } from './service-helpers.js';
import { useTestGloveCache } from './helpers.js';
import { pca } from '../src/reasoning/pca.js';

useTestGloveCache();

const WORDS = ['king', 'queen', 'prince', 'princess', 'dog', 'cat', 'horse', 'joy', 'anger', 'fear'];

test('pca: points spread along a line land on one axis, in order', () => {
  const rows = [0, 1, 2, 3, 4].map((t) => [t, 2 * t, 5]);
  const xy = pca(rows);
  const xs = xy.map((p) => p[0]);
  const sign = Math.sign(xs[4] - xs[0]);
  for (let i = 1; i < 5; i++) assert.ok(sign * (xs[i] - xs[i - 1]) > 0, 'order kept on the first axis');
  assert.ok(Math.abs(Math.abs(xs[4] - xs[0]) - Math.hypot(4, 8)) < 1e-6, 'distances kept on the first axis');
  for (const p of xy) assert.ok(Math.abs(p[1]) < 1e-6, 'nothing left for the second axis');
});

test('GET /api/fields/projection: one point per concept with vector, each named and coloured by its field', async () => {
  const h = await startHarness({ rateLimit: false, processInWorker: false });
  try {
    await h.store.contexts.create('proj');
    for (const name of WORDS) await h.store.concepts.add({ name }, { context: 'proj' });
    const before = (await (await fetch(`${h.base}/api/fields/projection?context=proj`)).json()) as { points: Array<{ id: string; name: string; x: number; y: number; field: string | null }> };
    assert.equal(before.points.length, WORDS.length);
    assert.ok(before.points.every((p) => p.field === null), 'no fields discovered yet');
    const d = await fetch(`${h.base}/api/fields/discover`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ k: 3, seed: 1, context: 'proj', min_coherence: -1 }) });
    assert.equal(d.status, 200, await d.clone().text());
    const fields = ((await d.json()) as { fields: Array<{ name: string }> }).fields.map((f) => f.name);
    const r = await fetch(`${h.base}/api/fields/projection?context=proj`);
    assert.equal(r.status, 200);
    const body = (await r.json()) as { method: string; dimension: number; points: Array<{ id: string; name: string; x: number; y: number; field: string | null }> };
    assert.equal(body.method, 'pca');
    assert.ok(body.dimension > 2);
    assert.deepEqual(body.points.map((p) => p.name).sort(), [...WORDS].sort());
    assert.ok(body.points.every((p) => Number.isFinite(p.x) && Number.isFinite(p.y)));
    assert.ok(body.points.every((p) => p.field !== null && fields.includes(p.field)), 'every concept is in one of the discovered fields');
    assert.ok(new Set(body.points.map((p) => `${p.x},${p.y}`)).size > WORDS.length / 2, 'the points are spread out');
    const missing = await fetch(`${h.base}/api/fields/projection?context=nowhere`);
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as { error: { code: string } }).error.code, 'CONTEXT_NOT_FOUND');
  } finally {
    await h.close();
  }
});
