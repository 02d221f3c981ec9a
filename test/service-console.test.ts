import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHarness } from './service-helpers.js';
import { CONSOLE_DIR } from '../src/service/console.js';

test('console: / serves the built console, its assets are local, the API still answers', async () => {
  const h = await startHarness({ apiKey: 'sekrit-key', rateLimit: false });
  try {
    const page = await fetch(`${h.base}/`);
    assert.equal(page.status, 200, `the console is built into ${CONSOLE_DIR} by npm run build:web`);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    const html = await page.text();
    assert.match(html, /<div id="app">/);
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]).filter((u) => !u.startsWith('data:'));
    assert.ok(assets.length >= 2, 'a script and a style sheet');
    for (const url of assets) {
      assert.ok(url.startsWith('/'), `no CDN: ${url} is served by the service`);
      const r = await fetch(h.base + url);
      assert.equal(r.status, 200, url);
      assert.ok((await r.arrayBuffer()).byteLength > 0);
    }
    const js = assets.find((u) => u.endsWith('.js'));
    assert.ok(js);
    const code = await (await fetch(h.base + js)).text();
    assert.doesNotMatch(code, /https?:\/\/(?!www\.w3\.org)[a-z0-9.-]+\.[a-z]{2,}\/[^"'\s]*\.(?:js|css|woff2?)/i, 'no script or font from another host');
    assert.equal((await fetch(`${h.base}/api/stats`)).status, 401);
    assert.equal((await fetch(`${h.base}/no-such-file.js`)).status, 404);
  } finally {
    await h.close();
  }
});

test('console: without a build, / says how to build it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'softlogic-no-console-'));
  const h = await startHarness({ rateLimit: false, consoleDir: dir });
  try {
    const r = await fetch(`${h.base}/`);
    assert.equal(r.status, 404);
    assert.match(await r.text(), /npm run build:web/);
  } finally {
    await h.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
