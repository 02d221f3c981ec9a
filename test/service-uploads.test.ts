import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync, gzipSync } from 'node:zlib';
import { startHarness, collectWs, type Harness } from './service-helpers.js';

let h: Harness;
before(async () => {
  h = await startHarness({ rateLimit: false, uploadLimit: 256 * 1024 });
});
after(async () => {
  await h.close();
});

interface Wf {
  workflow_id: string;
  status: string;
  items_total: number;
  items_processed: number;
  context: string;
}
interface ErrorBody {
  error: { code: string; message: string; details: Record<string, unknown> };
}

function ndjson(n: number, domain = 'batchland', start = 0): string {
  const lines: string[] = [];
  for (let i = start; i < start + n; i++) lines.push(JSON.stringify({ source_domain: domain, target_domain: 'biology', quality_score: (i % 10) / 10, tags: ['up'] }));
  return lines.join('\n') + '\n';
}

async function send(method: string, path: string, body?: string | Buffer, type = 'application/x-ndjson'): Promise<{ status: number; json: unknown; text: string; headers: Headers }> {
  const res = await fetch(h.base + path, { method, headers: body === undefined ? {} : { 'content-type': type }, body: body as unknown as BodyInit | undefined });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text, headers: res.headers };
}

function codeOf(json: unknown): string {
  const e = (json as ErrorBody).error;
  assert.ok(e && typeof e.code === 'string', `error body expected, got ${JSON.stringify(json)}`);
  assert.ok(!JSON.stringify(json).includes(h.store.root + '/tmp'), 'no temporary path in errors');
  return e.code;
}

test('batch: NDJSON and JSON array bodies are imported as one workflow each', async () => {
  const r = await send('POST', '/api/analogies/batch?context=batch', ndjson(250));
  assert.equal(r.status, 201, r.text);
  const body = r.json as { workflow: Wf; imported: number; rejected: number };
  assert.equal(body.imported, 250);
  assert.equal(body.rejected, 0);
  assert.equal(body.workflow.status, 'completed');
  assert.equal(body.workflow.context, 'batch');
  const arr = JSON.stringify([{ source_domain: 'arrayland', target_domain: 'x', quality_score: 0.5 }, { source_domain: 'arrayland', target_domain: 'y', quality_score: 0.6 }]);
  const a = await send('POST', '/api/analogies/batch?context=batch', arr, 'application/json');
  assert.equal(a.status, 201, a.text);
  assert.equal((a.json as { imported: number }).imported, 2);
  const gz = await send('POST', '/api/analogies/batch?context=batch', gzipSync(ndjson(10, 'gzland')), 'application/gzip');
  assert.equal(gz.status, 201, gz.text);
  const q = await send('GET', '/api/analogies?context=batch&domain=batchland&limit=1000');
  assert.equal((q.json as { count: number }).count, 250);
});

test('batch async: 202 with the workflow, followed to completion on /ws/workflows/:id', async () => {
  const r = await send('POST', '/api/analogies/batch?async=true&batch_size=100&context=async', ndjson(1000, 'asyncland'));
  assert.equal(r.status, 202, r.text);
  const wf = (r.json as { workflow: Wf }).workflow;
  assert.equal(wf.items_total, 1000);
  const ws = await collectWs(`${h.base.replace('http', 'ws')}/ws/workflows/${wf.workflow_id}`);
  const last = JSON.parse(ws.messages[ws.messages.length - 1]) as { final: boolean; status?: string; workflow?: Wf };
  assert.equal(last.final, true);
  const done = await send('GET', `/api/workflows/${wf.workflow_id}`);
  assert.equal((done.json as Wf).status, 'completed');
  assert.equal((done.json as Wf).items_processed, 1000);
});

test('batch errors: invalid lines (strict 422, lenient sets them aside), empty 400, type 415, too large 413, bad query 400', async () => {
  const bad = ndjson(3) + '{"source_domain":"x"}\nnot json\n';
  const strict = await send('POST', '/api/analogies/batch?context=errs', bad);
  assert.equal(strict.status, 422, strict.text);
  assert.equal(codeOf(strict.json), 'IMPORT_REJECTED');
  assert.equal((strict.json as ErrorBody).error.details.rejected, 2);
  const lenient = await send('POST', '/api/analogies/batch?context=errs&lenient=true', bad);
  assert.equal(lenient.status, 201, lenient.text);
  assert.deepEqual([(lenient.json as { imported: number }).imported, (lenient.json as { rejected: number }).rejected], [3, 2]);
  const empty = await send('POST', '/api/analogies/batch', '');
  assert.equal(empty.status, 400);
  assert.equal(codeOf(empty.json), 'EMPTY_INPUT');
  const noBody = await send('POST', '/api/analogies/batch');
  assert.equal(noBody.status, 400);
  const html = await send('POST', '/api/analogies/batch', '<p>', 'text/html');
  assert.equal(html.status, 415);
  assert.equal(codeOf(html.json), 'UNSUPPORTED_FORMAT');
  const big = await send('POST', '/api/analogies/batch', ndjson(3000));
  assert.equal(big.status, 413);
  assert.equal(codeOf(big.json), 'PAYLOAD_TOO_LARGE');
  for (const q of ['batch_size=0', 'async=maybe', 'context=..%2Fx', 'workflow_id=.x', 'bogus=1']) {
    const r = await send('POST', `/api/analogies/batch?${q}`, ndjson(1));
    assert.equal(r.status, 400, `${q}: ${r.text}`);
    assert.equal(codeOf(r.json), 'INVALID_INPUT');
  }
  const dup = await send('POST', '/api/analogies/batch?workflow_id=dup-1', ndjson(1));
  assert.equal(dup.status, 201);
  const again = await send('POST', '/api/analogies/batch?workflow_id=dup-1', ndjson(1));
  assert.equal(again.status, 409);
});

test('workflows: create from a body (pending), process, resume', async () => {
  const r = await send('POST', '/api/workflows?workflow_id=staged-1&context=wf', ndjson(40, 'wfland'));
  assert.equal(r.status, 201, r.text);
  const wf = r.json as Wf & { rejected: number };
  assert.deepEqual([wf.workflow_id, wf.status, wf.items_total, wf.rejected], ['staged-1', 'pending', 40, 0]);
  const none = await send('GET', '/api/analogies?context=wf&domain=wfland');
  assert.equal((none.json as { count: number }).count, 0);
  const p = await send('POST', '/api/workflows/staged-1/process?batch_size=7');
  assert.equal(p.status, 202, p.text);
  await collectWs(`${h.base.replace('http', 'ws')}/ws/workflows/staged-1`);
  const done = await send('GET', '/api/workflows/staged-1');
  assert.equal((done.json as Wf).status, 'completed');
  const bad = await send('POST', '/api/workflows', '{"nope":1}\n');
  assert.equal(bad.status, 422);
  const resumed = await send('POST', '/api/workflows/resume');
  assert.equal(resumed.status, 200, resumed.text);
  assert.deepEqual(resumed.json, { resumed: [] });
  const badResume = await send('POST', '/api/workflows/resume?batch_size=-1');
  assert.equal(badResume.status, 400);
});

test('export streams the records back; import of that export into another context; errors', async () => {
  await send('POST', '/api/analogies/batch?context=exp', ndjson(30, 'expland'));
  const ex = await fetch(`${h.base}/api/export?context=exp`);
  assert.equal(ex.status, 200);
  assert.match(ex.headers.get('content-type') ?? '', /ndjson/);
  assert.equal(ex.headers.get('x-softlogic-records'), '30');
  const text = await ex.text();
  assert.equal(text.trim().split('\n').length, 31); // the context line + 30 analogies
  const gz = await fetch(`${h.base}/api/export?context=exp&format=json&gzip=true`);
  assert.equal(gz.status, 200);
  const doc = gunzipSync(Buffer.from(await gz.arrayBuffer())).toString('utf8');
  assert.match(doc, /^\{"format":"softlogic-export"/);

  const imp = await send('POST', '/api/import?context=exp-copy&merge=overwrite', text);
  assert.equal(imp.status, 201, imp.text);
  assert.equal((imp.json as { records: number }).records, 30);
  const q = await send('GET', '/api/analogies?context=exp-copy&limit=100');
  assert.equal((q.json as { count: number }).count, 30);

  assert.equal((await send('GET', '/api/export?format=xml')).status, 400);
  assert.equal((await send('GET', '/api/export?context=nowhere')).status, 404);
  const badImport = await send('POST', '/api/import', '{"kind":"analogy","context":"x","record":{"source_domain":1}}\n');
  assert.equal(badImport.status, 422, badImport.text);
  assert.equal((await send('POST', '/api/import?merge=sideways', text)).status, 400);
  const { readdirSync, existsSync } = await import('node:fs');
  const tmp = `${h.store.root}/tmp`;
  assert.deepEqual(existsSync(tmp) ? readdirSync(tmp) : [], [], 'temporary files are removed');
});

test('backup: create, list, download; bad and unknown names', async () => {
  const b = await send('POST', '/api/backup');
  assert.equal(b.status, 201, b.text);
  const { name, bytes } = b.json as { name: string; bytes: number };
  assert.match(name, /\.slbak$/);
  const list = await send('GET', '/api/backups');
  assert.ok((list.json as { backups: Array<{ name: string }> }).backups.some((x) => x.name === name));
  const dl = await fetch(`${h.base}/api/backups/${name}`);
  assert.equal(dl.status, 200);
  assert.equal((await dl.arrayBuffer()).byteLength, bytes);
  assert.equal((await send('GET', '/api/backups/none.slbak')).status, 404);
  for (const bad of ['..%2Fstore.json', 'x.txt', '.hidden.slbak']) assert.equal((await send('GET', `/api/backups/${bad}`)).status, 400, bad);
});

test('openapi documents the new routes with their schemas', async () => {
  const doc = (await send('GET', '/openapi.json')).json as { paths: Record<string, Record<string, { requestBody?: unknown; responses: Record<string, unknown> }>> };
  for (const [p, m] of [
    ['/api/analogies/batch', 'post'],
    ['/api/workflows', 'post'],
    ['/api/workflows/resume', 'post'],
    ['/api/export', 'get'],
    ['/api/import', 'post'],
    ['/api/backup', 'post'],
    ['/api/backups', 'get'],
    ['/api/backups/{name}', 'get'],
  ]) {
    assert.ok(doc.paths[p]?.[m], `${m} ${p} documented`);
    assert.ok(Object.keys(doc.paths[p][m].responses).length >= 2, `${m} ${p} has responses`);
  }
  assert.ok(doc.paths['/api/analogies/batch'].post.requestBody, 'batch body documented');
});
