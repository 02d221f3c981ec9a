/**
 * WebSocket stream clients that stop reading (issue 13, item 6): each holds at most the
 * high-water mark in the server's buffers, is dropped once stalled for streamStallMs, and
 * everything it held is freed; readers and /health are served meanwhile.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { HIGH_WATER_BYTES } from '../src/service/routes/websockets.js';
import { collectWs, startHarness } from './service-helpers.js';
import { genAnalogies, tempDir, writeJsonl } from './helpers.js';

/** A raw TCP client that upgrades to a WebSocket and then never reads a byte. */
function stalledClient(port: number, path: string): Promise<{ socket: Socket; closed: Promise<number> }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(
        `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
      // Read nothing from now on: the kernel buffers fill, then the server's.
      socket.pause();
      const t0 = Date.now();
      const closed = new Promise<number>((r) => socket.on('close', () => r(Date.now() - t0)));
      resolve({ socket, closed });
    });
    socket.on('error', (err) => {
      if ((err as NodeJS.ErrnoException).code !== 'ECONNRESET') reject(err);
    });
  });
}

interface WsServer {
  clients: Set<{ bufferedAmount: number }>;
  on(event: 'connection', listener: (ws: { on(event: 'close', listener: () => void): void }) => void): void;
}

test('stalled stream clients: bounded buffers, dropped after the stall timeout, resources freed', async () => {
  const stallMs = 2000;
  const h = await startHarness({ streamStallMs: stallMs, rateLimit: false });
  try {
    // ~40 MB of stream per client: more than the kernel's socket buffers on loopback hold
    const blob = 'x'.repeat(1000);
    await h.store.analogies.import(writeJsonl(join(tempDir(), 'in.jsonl'), genAnalogies(40_000, 5).map((a) => ({ ...a, metadata: { ...a.metadata, blob } }))));
    const port = Number(new URL(h.base).port);
    const rss0 = process.memoryUsage().rss;
    const wss = (h.app as unknown as { websocketServer: WsServer }).websocketServer;
    const held: number[] = [];
    wss.on('connection', (ws) => {
      const t = Date.now();
      ws.on('close', () => held.push(Date.now() - t));
    });
    const clients = await Promise.all(Array.from({ length: 20 }, () => stalledClient(port, '/ws/analogies/stream')));
    // While they stall: buffers stay at the high-water mark (plus one message), the service answers.
    let maxBuffered = 0;
    let slowestHealth = 0;
    let maxGrowth = 0;
    const t0 = Date.now();
    while (held.length < 20) {
      assert.ok(Date.now() - t0 < stallMs + 60_000, `only ${held.length} of 20 stalled clients dropped`);
      for (const c of wss.clients) maxBuffered = Math.max(maxBuffered, c.bufferedAmount);
      const t = performance.now();
      assert.equal((await fetch(`${h.base}/health`)).status, 200);
      slowestHealth = Math.max(slowestHealth, performance.now() - t);
      maxGrowth = Math.max(maxGrowth, process.memoryUsage().rss - rss0);
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(maxBuffered > HIGH_WATER_BYTES / 2 && maxBuffered <= HIGH_WATER_BYTES + 65_536, `buffered up to ${maxBuffered}`);
    // a liveness bound: the suite runs on a shared, loaded machine
    assert.ok(slowestHealth < 10_000, `/health took ${slowestHealth} ms`);
    assert.ok(maxGrowth < 200 * 1024 * 1024, `RSS grew ${Math.round(maxGrowth / 1048576)} MB with 20 stalled clients`);
    // Each was dropped by the server once stalled for stallMs, and nothing is held for them.
    for (const ms of held) assert.ok(ms >= stallMs * 0.9, `dropped after ${ms} ms`);
    assert.equal(wss.clients.size, 0);
    // ... and they see the connection end once they read again.
    for (const c of clients) c.socket.resume();
    await Promise.all(clients.map((c) => c.closed));
    // A reader gets everything.
    const reader = await collectWs(`${h.base.replace('http', 'ws')}/ws/analogies/stream`);
    assert.equal(JSON.parse(reader.messages[reader.messages.length - 1]).count, 40_000);
  } finally {
    const t = performance.now();
    await h.close();
    assert.ok(performance.now() - t < 10_000, 'close is not held up by stalled streams');
  }
});
