/**
 * The knowledge routes over a real server: concepts (add, batch, get, search, delete / restore,
 * similar), similarity, analogy completion and evaluation, embeddings export / import / info,
 * frames (JSON and YAML), fields (discover, list, cross-domain), with their main errors. Concepts
 * use the hash provider; only analogy evaluation needs GloVe (from the shared test cache).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeEmbeddingsNpz, readEmbeddingsNpz } from '../src/embeddings/npz.js';
import { startHarness, type Harness } from './service-helpers.js';
import { COMMERCE_FRAMES_YAML } from './helpers.js';

process.env.SOFTLOGIC_CACHE_DIR ??= join(tmpdir(), 'softlogic-test-glove-cache');

let h: Harness;
before(async () => {
  h = await startHarness({ rateLimit: false, uploadLimit: 1024 * 1024, processInWorker: false });
});
after(async () => {
  await h.close();
});

interface ErrorBody {
  error: { code: string; message: string; details: Record<string, unknown> };
}
interface Res {
  status: number;
  json: unknown;
  text: string;
  bytes: Uint8Array;
  headers: Headers;
}

async function send(method: string, path: string, body?: unknown, type?: string): Promise<Res> {
  let payload: string | Uint8Array | undefined;
  let contentType = type;
  if (body instanceof Uint8Array || typeof body === 'string') payload = body;
  else if (body !== undefined) {
    payload = JSON.stringify(body);
    contentType ??= 'application/json';
  }
  const res = await fetch(h.base + path, { method, headers: contentType ? { 'content-type': contentType } : {}, body: payload as BodyInit | undefined });
  const bytes = new Uint8Array(await res.arrayBuffer());
  const text = Buffer.from(bytes).toString('utf8');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text, bytes, headers: res.headers };
}

const get = (path: string) => send('GET', path);

function fails(r: Res, status: number, code: string): ErrorBody['error'] {
  assert.equal(r.status, status, r.text);
  const e = (r.json as ErrorBody).error;
  assert.ok(e && typeof e.code === 'string', `error body expected, got ${r.text}`);
  assert.equal(e.code, code, r.text);
  assert.ok(!r.text.includes(join(h.store.root, 'tmp')), 'no temporary path in errors');
  assert.ok(!r.text.includes('    at '), 'no stack traces');
  return e;
}

interface Concept {
  id: string;
  name: string;
  version: number;
  deleted_at: string | null;
  embedding: { provider: string; dimension: number } | null;
}

const WORDS = ['bank', 'river', 'money', 'water', 'fish', 'coin', 'boat', 'loan'];

test('concepts: add, get, search, list, delete / restore, similar; errors', async () => {
  for (const name of WORDS) {
    const r = await send('POST', '/api/concepts', { name, provider: 'hash', context: 'kn', description: `the ${name}` });
    assert.equal(r.status, 201, r.text);
    const c = r.json as Concept;
    assert.equal(c.id, `kn:${name}`);
    assert.equal(c.embedding?.provider, 'hash');
  }
  const viaQuery = await send('POST', '/api/concepts?context=kn', { name: 'bank', description: 'again' });
  assert.equal(viaQuery.status, 201, viaQuery.text);
  assert.equal((viaQuery.json as Concept).version, 2);

  const one = await get('/api/concepts/kn:bank');
  assert.equal(one.status, 200, one.text);
  assert.equal((one.json as Concept).name, 'bank');

  const found = await get('/api/concepts?search=oa&context=kn');
  assert.equal(found.status, 200, found.text);
  assert.deepEqual((found.json as { concepts: Concept[] }).concepts.map((c) => c.name).sort(), ['boat', 'loan']);
  const all = await get('/api/concepts?context=kn&limit=3');
  assert.equal((all.json as { count: number }).count, 3);

  const del = await send('DELETE', '/api/concepts/kn:loan');
  assert.equal(del.status, 200, del.text);
  assert.ok((del.json as Concept).deleted_at);
  fails(await send('DELETE', '/api/concepts/kn:loan'), 409, 'ALREADY_DELETED');
  assert.ok(((await get('/api/concepts/kn:loan')).json as Concept).deleted_at, 'a deleted concept is still readable, as deleted');
  assert.ok(!((await get('/api/concepts?context=kn')).json as { concepts: Concept[] }).concepts.some((c) => c.name === 'loan'), 'and no longer listed');
  const restored = await send('POST', '/api/concepts/kn:loan/restore');
  assert.equal(restored.status, 200, restored.text);
  assert.equal((restored.json as Concept).deleted_at, null);

  const similar = await get('/api/concepts/bank/similar?context=kn&k=3');
  assert.equal(similar.status, 200, similar.text);
  const sim = similar.json as { k: number; results: Array<{ id: string; score: number }> };
  assert.equal(sim.results.length, 3);
  assert.ok(!sim.results.some((x) => x.id === 'kn:bank'), 'the query itself is excluded');

  fails(await get('/api/concepts/kn:ghost'), 404, 'NOT_FOUND');
  fails(await get('/api/concepts/kn:bank?context=nowhere'), 404, 'CONTEXT_NOT_FOUND');
  fails(await get('/api/concepts/bank/similar?context=kn&k=0'), 400, 'INVALID_INPUT');
  fails(await get('/api/concepts/bank/similar?context=kn&k=abc'), 400, 'INVALID_INPUT');
  fails(await get('/api/concepts/bank/similar?context=kn&scope=galaxy'), 400, 'INVALID_INPUT');
  for (const hostile of ['..%2F..%2Fetc%2Fpasswd', '%00x', '-rf', 'a%0Ab', 'x'.repeat(300)]) {
    fails(await get(`/api/concepts/${hostile}`), 400, 'INVALID_INPUT');
    fails(await send('DELETE', `/api/concepts/${hostile}`), 400, 'INVALID_INPUT');
  }
  fails(await get('/api/concepts?context=..%2Fetc'), 400, 'INVALID_INPUT');
  fails(await send('POST', '/api/concepts', { name: 'x', provider: 'word2vec' }), 400, 'INVALID_INPUT');
  fails(await send('POST', '/api/concepts', { name: 'bad/name', context: 'kn' }), 400, 'INVALID_NAME');
  fails(await send('POST', '/api/concepts', { provider: 'hash' }), 400, 'INVALID_INPUT');
});

test('concepts batch: an upload body as one concept_batch workflow', async () => {
  const body = ['anchor', 'harbor', 'sail'].map((name) => JSON.stringify({ name })).join('\n') + '\n';
  const r = await send('POST', '/api/concepts/batch?context=kb&provider=hash', body, 'application/x-ndjson');
  assert.equal(r.status, 201, r.text);
  const out = r.json as { imported: number; workflow: { workflow_type: string; status: string } };
  assert.equal(out.imported, 3);
  assert.equal(out.workflow.workflow_type, 'concept_batch');
  assert.equal(out.workflow.status, 'completed');
  assert.ok(!r.text.includes(h.store.root), 'no server path in the result');
  const arr = await send('POST', '/api/concepts/batch?context=kb', JSON.stringify([{ name: 'keel' }]), 'application/json');
  assert.equal(arr.status, 201, arr.text);
  assert.equal((await get('/api/concepts?context=kb')).json && ((await get('/api/concepts?context=kb')).json as { count: number }).count, 4);
  const bad = await send('POST', '/api/concepts/batch?context=kb', '{"name":"ok"}\n{"nome":"typo"}\n', 'application/x-ndjson');
  assert.ok(bad.status === 400 || bad.status === 422, bad.text);
  fails(await send('POST', '/api/concepts/batch?context=kb', '', 'application/x-ndjson'), 400, 'EMPTY_INPUT');
  fails(await send('POST', '/api/concepts/batch?context=..', '{"name":"x"}', 'application/x-ndjson'), 400, 'INVALID_INPUT');
});

test('similarity and analogy completion (GET and POST)', async () => {
  const cos = await get('/api/similarity?a=bank&b=river&context=kn');
  assert.equal(cos.status, 200, cos.text);
  const c = cos.json as { kind: string; score: number; method: string; a: { concept: string } };
  assert.equal(c.kind, 'similarity');
  assert.equal(c.method, 'cosine');
  assert.equal(c.a.concept, 'kn:bank');
  assert.ok(c.score >= -1 && c.score <= 1);
  const euc = await get('/api/similarity?a=kn:bank&b=kn:river&context=kn&method=euclidean');
  assert.equal((euc.json as { kind: string }).kind, 'distance', euc.text);
  fails(await get('/api/similarity?a=bank&b=river&context=kn&method=telepathy'), 400, 'INVALID_INPUT');
  fails(await get('/api/similarity?a=bank&context=kn'), 400, 'INVALID_INPUT');
  fails(await get('/api/similarity?a=bank&b=river&context=nowhere'), 404, 'CONTEXT_NOT_FOUND');

  const g = await get('/api/analogy/complete?a=bank&b=river&c=money&k=2&context=kn');
  assert.equal(g.status, 200, g.text);
  const res = g.json as { results: Array<{ id: string }>; method: string; trace: string[] };
  assert.equal(res.results.length, 2);
  assert.equal(res.method, 'cosadd');
  assert.ok(!res.results.some((x) => ['kn:bank', 'kn:river', 'kn:money'].includes(x.id)));
  const p = await send('POST', '/api/analogy/complete', { a: 'bank', b: 'river', c: 'money', k: 2, method: 'cosmul', context: 'kn' });
  assert.equal(p.status, 200, p.text);
  assert.equal((p.json as { method: string }).method, 'cosmul');
  fails(await get('/api/analogy/complete?a=bank&b=river&c=ghost&context=kn'), 404, 'NOT_IN_VOCABULARY');
  fails(await get('/api/analogy/complete?a=bank&b=river&c=money&k=0&context=kn'), 400, 'INVALID_INPUT');
  fails(await send('POST', '/api/analogy/complete', { a: 'bank', b: 'river', c: 'money', k: 100_000 }), 400, 'INVALID_INPUT');
  fails(await send('POST', '/api/analogy/complete', { a: 'bank', b: 'river' }), 400, 'INVALID_INPUT');
});

test('embeddings: info, export as .npz, import (and NaN / wrong type / empty refusals)', async () => {
  const info = await get('/api/embeddings/info?context=kn');
  assert.equal(info.status, 200, info.text);
  const i = info.json as { settings: { provider: string; dimension: number }; index: { size: number } | null };
  assert.equal(i.settings.provider, 'hash');
  fails(await get('/api/embeddings/info?context=nowhere'), 404, 'CONTEXT_NOT_FOUND');

  const ex = await get('/api/embeddings/export?context=kn');
  assert.equal(ex.status, 200, ex.text);
  assert.equal(ex.headers.get('content-type'), 'application/octet-stream');
  const table = readEmbeddingsNpz(ex.bytes);
  assert.equal(table.ids.length, WORDS.length);
  assert.equal(String(table.ids.length), ex.headers.get('x-softlogic-count'));
  assert.equal(table.dimension, i.settings.dimension);
  fails(await get('/api/embeddings/export?context=nowhere'), 404, 'CONTEXT_NOT_FOUND');

  // back into its own context: every concept updated
  const back = await send('POST', '/api/embeddings/import?context=kn', ex.bytes, 'application/octet-stream');
  assert.equal(back.status, 201, back.text);
  const b = back.json as { count: number; created: number; updated: number; workflow: { metadata: Record<string, unknown> } };
  assert.deepEqual([b.count, b.created, b.updated], [WORDS.length, 0, WORDS.length]);
  assert.ok(!back.text.includes(h.store.root), 'no server path in the result');
  // ids as bare names into a new context: concepts created
  const names = encodeEmbeddingsNpz({ ids: table.ids.map((id) => id.split(':')[1]), dimension: table.dimension, vectors: table.vectors });
  const im = await send('POST', '/api/embeddings/import?context=imp', names, 'application/octet-stream');
  assert.equal(im.status, 201, im.text);
  const r = im.json as { count: number; created: number; updated: number; dimension: number };
  assert.deepEqual([r.count, r.created, r.updated, r.dimension], [WORDS.length, WORDS.length, 0, table.dimension]);
  const sim = await get('/api/similarity?a=bank&b=river&context=imp');
  assert.equal(sim.status, 200, sim.text);
  assert.equal(((await get('/api/embeddings/info?context=imp')).json as { index: { size: number } }).index.size, WORDS.length);

  const nan = new Float32Array([1, 0, Number.NaN, 1]);
  const bad = encodeEmbeddingsNpz({ ids: ['a', 'b'], dimension: 2, vectors: nan });
  const e = fails(await send('POST', '/api/embeddings/import?context=imp2', bad, 'application/octet-stream'), 400, 'INVALID_INPUT');
  assert.match(e.message, /NaN/);
  assert.match(e.message, /request body/);
  fails(await send('POST', '/api/embeddings/import?context=imp2', 'not a zip at all', 'application/octet-stream'), 415, 'UNSUPPORTED_FORMAT');
  fails(await send('POST', '/api/embeddings/import?context=imp2', ex.bytes, 'application/x-ndjson'), 415, 'UNSUPPORTED_FORMAT');
  fails(await send('POST', '/api/embeddings/import?context=imp2', new Uint8Array(0), 'application/octet-stream'), 400, 'EMPTY_INPUT');
  fails(await send('POST', '/api/embeddings/import?context=a%2Fb', ex.bytes, 'application/octet-stream'), 400, 'INVALID_INPUT');
  const tooBig = await send('POST', '/api/embeddings/import?context=imp2', new Uint8Array(1024 * 1024 + 1), 'application/octet-stream');
  fails(tooBig, 413, 'PAYLOAD_TOO_LARGE');
});

const FRAMES_YAML = COMMERCE_FRAMES_YAML;

test('frames: add as YAML and JSON, list, get, instances, query, delete / restore; errors', async () => {
  for (const name of ['customer', 'bread', 'coin']) assert.equal((await send('POST', '/api/concepts', { name, provider: 'hash', context: 'shop' })).status, 201);
  const y = await send('POST', '/api/frames?context=shop', FRAMES_YAML, 'application/yaml');
  assert.equal(y.status, 201, y.text);
  const added = y.json as { frames: number; relations: number; instances: number; workflow: { workflow_type: string } };
  assert.deepEqual([added.frames, added.relations, added.instances], [2, 1, 1]);
  assert.equal(added.workflow.workflow_type, 'frame_expansion');
  assert.ok(!y.text.includes(h.store.root), 'no server path in the result');

  const json = { frames: [{ name: 'Travel', core_elements: [{ name: 'Traveler' }] }] };
  const j = await send('POST', '/api/frames?context=shop', json);
  assert.equal(j.status, 201, j.text);
  assert.equal((await send('POST', '/api/frames?context=shop', 'frames:\n  - name: Gift\n', 'text/yaml')).status, 201);

  const list = await get('/api/frames?context=shop');
  assert.equal(list.status, 200, list.text);
  assert.deepEqual((list.json as { frames: Array<{ name: string }> }).frames.map((f) => f.name).sort(), ['Commerce', 'Commerce_buy', 'Gift', 'Travel']);
  const one = await get('/api/frames/Commerce?context=shop');
  assert.equal(one.status, 200, one.text);
  const f = one.json as { name: string; core_elements: Array<{ name: string }>; relations: Array<{ type: string }> };
  assert.deepEqual(f.core_elements.map((e) => e.name), ['Buyer', 'Goods']);
  assert.equal(f.relations.length, 1);
  const inst = await get('/api/frames/Commerce_buy/instances?context=shop');
  assert.equal((inst.json as { count: number }).count, 1, inst.text);
  const q = await get('/api/frames/query?context=shop&concept=shop:bread');
  assert.deepEqual((q.json as { instances: Array<{ id: string }> }).instances.map((x) => x.id), ['sale1'], q.text);
  const q2 = await get('/api/frames/query?context=shop&element=Money&concept=shop:bread');
  assert.equal((q2.json as { count: number }).count, 0);

  const di = await send('DELETE', '/api/frames/sale1?context=shop&instance=true');
  assert.equal(di.status, 200, di.text);
  assert.equal(((await get('/api/frames/Commerce_buy/instances?context=shop')).json as { count: number }).count, 0);
  assert.equal((await send('POST', '/api/frames/sale1/restore?context=shop&instance=true')).status, 200);
  const df = await send('DELETE', '/api/frames/Gift?context=shop');
  assert.equal(df.status, 200, df.text);
  assert.ok((df.json as { deleted_at: string | null }).deleted_at);
  fails(await send('DELETE', '/api/frames/Gift?context=shop'), 409, 'ALREADY_DELETED');
  assert.equal((await send('POST', '/api/frames/Gift/restore?context=shop')).status, 200);

  fails(await get('/api/frames/Nope?context=shop'), 404, 'NOT_FOUND');
  fails(await get('/api/frames/query?context=shop'), 400, 'INVALID_INPUT');
  fails(await get('/api/frames/..%2Fx'), 400, 'INVALID_INPUT');
  const malformed = fails(await send('POST', '/api/frames?context=shop', 'frames:\n  - name: [unclosed\n', 'application/yaml'), 400, 'INVALID_INPUT');
  assert.match(malformed.message, /malformed YAML/);
  assert.match(malformed.message, /request body/);
  fails(await send('POST', '/api/frames?context=shop', '{"frames": [', 'application/json'), 400, 'INVALID_INPUT');
  const unknown = fails(
    await send('POST', '/api/frames?context=shop', { instances: [{ frame_name: 'Commerce', element_bindings: { Buyer: 'shop:ghost', Goods: 'shop:bread' } }] }),
    400,
    'INVALID_INPUT',
  );
  assert.match(unknown.message, /ghost/);
  fails(await send('POST', '/api/frames?context=shop', FRAMES_YAML, 'text/plain'), 415, 'UNSUPPORTED_FORMAT');
  fails(await send('POST', '/api/frames?context=shop', '', 'application/yaml'), 400, 'EMPTY_INPUT');
});

test('fields: discover, list, cross-domain; errors', async () => {
  const d = await send('POST', '/api/fields/discover', { k: 2, seed: 7, context: 'kn', min_coherence: -1 });
  assert.equal(d.status, 200, d.text);
  const r = d.json as { k: number; concepts: number; clusters: unknown[]; fields: Array<{ name: string; core_concepts: string[] }>; workflow: { workflow_type: string } };
  assert.equal(r.workflow.workflow_type, 'cluster_update');
  assert.equal(r.clusters.length, 2);
  assert.equal(r.concepts, WORDS.length);
  assert.equal(r.fields.length, 2);
  const list = await get('/api/fields?context=kn');
  assert.equal(list.status, 200, list.text);
  assert.equal((list.json as { fields: unknown[] }).fields.length, 2);

  const x = await send('POST', '/api/fields/cross-domain', { context: 'kn', min_quality: 0 });
  assert.equal(x.status, 200, x.text);
  const xr = x.json as { pairs: number; analogies: Array<{ quality_score: number }> };
  assert.equal(xr.pairs, 2);
  for (const a of xr.analogies) assert.ok(a.quality_score >= 0);
  const pair = await send('POST', '/api/fields/cross-domain', { context: 'kn', source: r.fields[0].name, target: r.fields[1].name, min_quality: 0, max: 1 });
  assert.equal(pair.status, 200, pair.text);
  assert.equal((pair.json as { pairs: number }).pairs, 1);

  fails(await send('POST', '/api/fields/discover', { k: 0, context: 'kn' }), 400, 'INVALID_INPUT');
  fails(await send('POST', '/api/fields/discover', { k: 'two', context: 'kn' }), 400, 'INVALID_INPUT');
  fails(await send('POST', '/api/fields/discover', { k: 500, context: 'kn' }), 400, 'INVALID_INPUT');
  fails(await send('POST', '/api/fields/discover', { context: 'kn' }), 400, 'INVALID_INPUT');
  fails(await send('POST', '/api/fields/discover', { k: 2, context: 'nowhere' }), 404, 'CONTEXT_NOT_FOUND');
  fails(await send('POST', '/api/fields/cross-domain', { context: 'kn', source: 'nope', target: r.fields[1].name }), 404, 'NOT_FOUND');
  fails(await send('POST', '/api/fields/cross-domain', { context: 'kn', source: r.fields[0].name }), 400, 'INVALID_INPUT');
  fails(await send('POST', '/api/fields/cross-domain', { context: 'kn', min_quality: 2 }), 400, 'INVALID_INPUT');
  fails(await get('/api/fields?context=%2E%2E'), 400, 'INVALID_INPUT');
});

test('analogy eval: a questions file as the body, over GloVe', async () => {
  const questions = ': capital-common-countries\nathens greece baghdad iraq\nathens greece berlin germany\n: gram1-adjective-to-adverb\nquick quickly slow slowly\nqwzx qwzy qwzz qwza\n';
  const r = await send('POST', '/api/analogy/eval?top=30000', questions, 'text/plain');
  assert.equal(r.status, 200, r.text);
  const e = r.json as { method: string; top: number; sections: unknown[]; total: { seen: number; skipped: number; questions: number; accuracy: number } };
  assert.equal(e.method, 'cosadd');
  assert.equal(e.sections.length, 2);
  assert.equal(e.total.questions, 4);
  assert.equal(e.total.skipped, 1);
  assert.equal(e.total.seen, 3);
  assert.ok(e.total.accuracy >= 0 && e.total.accuracy <= 1);
  fails(await send('POST', '/api/analogy/eval?top=0', questions, 'text/plain'), 400, 'INVALID_INPUT');
  fails(await send('POST', '/api/analogy/eval?method=cosdiv', questions, 'text/plain'), 400, 'INVALID_INPUT');
  fails(await send('POST', '/api/analogy/eval', '', 'text/plain'), 400, 'EMPTY_INPUT');
  fails(await send('POST', '/api/analogy/eval', questions, 'application/yaml'), 415, 'UNSUPPORTED_FORMAT');
});

test('/openapi.json documents the knowledge routes', async () => {
  const r = await get('/openapi.json');
  const doc = r.json as { paths: Record<string, Record<string, { requestBody?: unknown; responses: Record<string, unknown> }>> };
  const expected: Array<[string, string]> = [
    ['/api/concepts', 'post'],
    ['/api/concepts', 'get'],
    ['/api/concepts/batch', 'post'],
    ['/api/concepts/{id}', 'get'],
    ['/api/concepts/{id}', 'delete'],
    ['/api/concepts/{id}/restore', 'post'],
    ['/api/concepts/{name}/similar', 'get'],
    ['/api/similarity', 'get'],
    ['/api/analogy/complete', 'get'],
    ['/api/analogy/complete', 'post'],
    ['/api/analogy/eval', 'post'],
    ['/api/embeddings/export', 'get'],
    ['/api/embeddings/import', 'post'],
    ['/api/embeddings/info', 'get'],
    ['/api/frames', 'post'],
    ['/api/frames', 'get'],
    ['/api/frames/query', 'get'],
    ['/api/frames/{name}', 'get'],
    ['/api/frames/{name}', 'delete'],
    ['/api/frames/{name}/instances', 'get'],
    ['/api/frames/{name}/restore', 'post'],
    ['/api/fields', 'get'],
    ['/api/fields/discover', 'post'],
    ['/api/fields/cross-domain', 'post'],
  ];
  for (const [path, method] of expected) {
    const op = doc.paths[path]?.[method];
    assert.ok(op, `${method.toUpperCase()} ${path} documented`);
    assert.ok(Object.keys(op.responses).some((s) => s.startsWith('2')), `${method} ${path} has a success response`);
    assert.ok(op.responses['4XX'] ?? op.responses['4xx'], `${method} ${path} documents errors`);
  }
  assert.ok(doc.paths['/api/frames'].post.requestBody, 'the frames body is documented');
  assert.ok(doc.paths['/api/embeddings/import'].post.requestBody, 'the npz body is documented');
});
