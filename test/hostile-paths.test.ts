/**
 * No absolute server paths in responses (issue 13, item 10): /status, stats, uploads'
 * workflow metadata.source, rejects_file, backups and error messages report paths relative to
 * the store (or a base name), over HTTP with an API key.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { analogy, startHarness } from './service-helpers.js';
import { tempDir } from './helpers.js';

test('authenticated responses never hold an absolute server path', async () => {
  const h = await startHarness({ apiKey: 'k' });
  const auth = { authorization: 'Bearer k' };
  const root = h.store.root;
  const seen: string[] = [];
  const get = async (path: string, init: RequestInit = {}) => {
    const r = await fetch(`${h.base}${path}`, { ...init, headers: { ...auth, ...(init.headers as Record<string, string> | undefined) } });
    const text = await r.text();
    seen.push(`${path}: ${text}`);
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary JSON shapes
    return { status: r.status, json: JSON.parse(text) as Record<string, any> };
  };
  try {
    // a file imported on the server from outside the store (as the CLI would)
    const outside = join(tempDir(), 'mine.jsonl');
    writeFileSync(outside, JSON.stringify(analogy(1)) + '\n');
    const imported = await h.store.analogies.import(outside);
    const status = await get('/status');
    assert.equal(status.json.store, '.');
    const stats = await get('/api/stats');
    assert.equal(stats.json.store, '.');
    const lenient = await get('/api/analogies/batch?lenient=true', {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson' },
      body: `${JSON.stringify(analogy(2))}\n{"bad":1}\n`,
    });
    assert.equal(lenient.status, 201, JSON.stringify(lenient.json));
    assert.match(String(lenient.json.rejects_file), /^rejects\/[^/]+\.jsonl$/);
    const wfId = lenient.json.workflow.workflow_id as string;
    const wf = await get(`/api/workflows/${wfId}`);
    assert.doesNotMatch(String(wf.json.metadata.source), /^\//);
    const cliWf = await get(`/api/workflows/${imported.workflow.workflow_id}`);
    assert.equal(cliWf.json.metadata.source, 'mine.jsonl');
    await get('/api/workflows');
    const backup = await get('/api/backup', { method: 'POST' });
    assert.ok(backup.status < 300, JSON.stringify(backup.json));
    await get('/api/backups');
    const bad = await get('/api/import', { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: '{"kind":"nope"}\n' });
    assert.ok(bad.status >= 400);
    for (const text of seen) {
      assert.ok(!text.includes(root), `absolute store path in ${text.slice(0, 300)}`);
      assert.ok(!text.includes(outside), `absolute input path in ${text.slice(0, 300)}`);
      assert.doesNotMatch(text, /"\/(tmp|home|work|var)\//, text.slice(0, 300));
    }
  } finally {
    await h.close();
  }
});
