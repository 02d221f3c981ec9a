import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { startHarness } from './service-helpers.js';

/** The `ws` client with subprotocols, as a browser's `new WebSocket(url, protocols)` sends them. */
interface ProtocolClient {
  readonly protocol: string;
  on(event: 'open', listener: () => void): this;
  on(event: 'message', listener: (data: Buffer) => void): this;
  on(event: 'close', listener: (code: number) => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
  on(event: 'unexpected-response', listener: (req: { destroy(): void }, res: { statusCode: number; resume(): void }) => void): this;
}
const WebSocket = createRequire(import.meta.url)('ws') as new (url: string, protocols?: string[]) => ProtocolClient;

interface Outcome {
  status?: number;
  protocol?: string;
  messages: string[];
}

function connect(url: string, protocols?: string[]): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols);
    const messages: string[] = [];
    let protocol: string | undefined;
    ws.on('open', () => {
      protocol = ws.protocol;
    });
    ws.on('message', (d) => messages.push(d.toString('utf8')));
    ws.on('close', () => resolve({ protocol, messages }));
    ws.on('unexpected-response', (req, res) => {
      res.resume();
      req.destroy();
      resolve({ status: res.statusCode, messages });
    });
    ws.on('error', (err) => {
      if (!/Unexpected server response/.test(err.message)) reject(err);
    });
  });
}

test('auth: a WebSocket is accepted with the key as the bearer.<key> subprotocol and answered with softlogic', async () => {
  const h = await startHarness({ apiKey: 'sekrit-key', rateLimit: false });
  try {
    await h.store.analogies.save({ id: 'one', source_domain: 'a', target_domain: 'b', quality_score: 0.5 });
    const url = h.base.replace('http', 'ws') + '/ws/analogies/stream';
    const none = await connect(url);
    assert.equal(none.status, 401);
    const wrong = await connect(url, ['softlogic', 'bearer.wrong-key']);
    assert.equal(wrong.status, 401);
    assert.deepEqual(wrong.messages, []);
    const onlyProtocol = await connect(url, ['softlogic']);
    assert.equal(onlyProtocol.status, 401);
    const ok = await connect(url, ['softlogic', 'bearer.sekrit-key']);
    assert.equal(ok.status, undefined);
    assert.equal(ok.protocol, 'softlogic', 'the server answers with the softlogic protocol, never the key');
    assert.equal(JSON.parse(ok.messages[0]).id, 'one');
    assert.deepEqual(JSON.parse(ok.messages.at(-1) ?? '{}'), { type: 'complete', count: 1 });
    // The workflow socket too.
    const wf = await connect(h.base.replace('http', 'ws') + '/ws/workflows/nope', ['softlogic', 'bearer.sekrit-key']);
    assert.equal(wf.status, 404, 'past auth, an unknown workflow is a 404');
    assert.equal((await connect(h.base.replace('http', 'ws') + '/ws/workflows/nope')).status, 401);
  } finally {
    await h.close();
  }
});

test('auth: without a key set, WebSockets work with or without the softlogic subprotocol', async () => {
  const h = await startHarness({ rateLimit: false });
  try {
    const url = h.base.replace('http', 'ws') + '/ws/analogies/stream';
    const plain = await connect(url);
    assert.deepEqual(JSON.parse(plain.messages.at(-1) ?? '{}'), { type: 'complete', count: 0 });
    const offered = await connect(url, ['softlogic']);
    assert.equal(offered.protocol, 'softlogic');
    assert.deepEqual(JSON.parse(offered.messages.at(-1) ?? '{}'), { type: 'complete', count: 0 });
  } finally {
    await h.close();
  }
});

test('auth: OpenAPI declares bearer auth and lists the WebSockets; /docs, /openapi.json and the console stay open, the data does not', async () => {
  const h = await startHarness({ apiKey: 'sekrit-key', rateLimit: false });
  try {
    const doc = (await (await fetch(`${h.base}/openapi.json`)).json()) as {
      components: { securitySchemes: Record<string, { type: string; scheme: string }> };
      security: Array<Record<string, string[]>>;
      info: { description: string };
    };
    assert.deepEqual(doc.components.securitySchemes.bearer, { type: 'http', scheme: 'bearer' });
    assert.deepEqual(doc.security, [{ bearer: [] }]);
    assert.match(doc.info.description, /\/ws\/workflows\/\{id\}/);
    assert.match(doc.info.description, /\/ws\/analogies\/stream/);
    assert.match(doc.info.description, /bearer\.' \+ key/);
    const docs = await fetch(`${h.base}/docs`, { redirect: 'follow' });
    assert.equal(docs.status, 200);
    assert.match(await docs.text(), /swagger/i);
    for (const path of ['/api/stats', '/api/contexts', '/status', '/api/analogies?limit=1']) {
      const r = await fetch(h.base + path);
      assert.equal(r.status, 401, path);
      assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'UNAUTHORIZED');
    }
    const withKey = await fetch(`${h.base}/api/contexts`, { headers: { authorization: 'Bearer sekrit-key' } });
    assert.equal(withKey.status, 200);
    assert.ok(Array.isArray(((await withKey.json()) as { contexts: unknown[] }).contexts));
  } finally {
    await h.close();
  }
});
