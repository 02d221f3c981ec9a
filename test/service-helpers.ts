import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import type { FastifyInstance } from 'fastify';
import { Store } from '../src/index.js';
import { buildServer, type ServerOptions } from '../src/service/server.js';

/** The part of the `ws` client the tests use (the package ships no types here). */
export interface WsClient {
  on(event: 'message', listener: (data: Buffer) => void): this;
  on(event: 'close', listener: (code: number) => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
  on(event: 'open', listener: () => void): this;
  on(event: 'unexpected-response', listener: (req: { destroy(): void }, res: { statusCode: number; resume(): void }) => void): this;
  close(): void;
}
type WsCtor = new (url: string, options?: { headers?: Record<string, string> }) => WsClient;
export const WebSocket = createRequire(import.meta.url)('ws') as WsCtor;

export interface Harness {
  app: FastifyInstance;
  store: Store;
  dir: string;
  base: string;
  close(): Promise<void>;
}

export async function startHarness(options: Omit<ServerOptions, 'store'> = {}): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'softlogic-service-'));
  const store = await Store.open(join(dir, 'store'), { create: true });
  const app = await buildServer({ store, logLevel: 'silent', ...options });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    app,
    store,
    dir,
    base: `http://127.0.0.1:${port}`,
    close: async () => {
      await app.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface WsResult {
  messages: string[];
  code: number;
  status?: number;
}

/** Connects, collects every message until the server closes (or refuses the upgrade). */
export function collectWs(url: string, headers: Record<string, string> = {}, onOpen?: () => void): Promise<WsResult> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    const messages: string[] = [];
    ws.on('open', () => onOpen?.());
    ws.on('message', (data) => messages.push(data.toString('utf8')));
    ws.on('close', (code) => resolve({ messages, code }));
    ws.on('unexpected-response', (req, res) => {
      res.resume();
      req.destroy();
      resolve({ messages, code: -1, status: res.statusCode });
    });
    ws.on('error', (err) => {
      if (!/Unexpected server response/.test(err.message)) reject(err);
    });
  });
}

export function analogy(i: number, domain = 'finance'): Record<string, unknown> {
  return {
    id: `a-${i}`,
    source_domain: domain,
    target_domain: i % 2 === 0 ? 'biology' : 'physics',
    quality_score: (i % 10) / 10,
    concept_mappings: { bank: `b${i}` },
    tags: ['t'],
  };
}

/** A body sent in pieces of `pieceBytes` with pauses, optionally stopping (an error) after `stopAfter` bytes. */
function slowBody(body: Buffer, pieceBytes: number, stopAfter: number): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    async pull(controller) {
      if (at >= body.length) return controller.close();
      if (at >= stopAfter) return controller.error(new Error('client gave up'));
      await new Promise((resolve) => setTimeout(resolve, 5));
      const next = Math.min(body.length, at + pieceBytes);
      controller.enqueue(new Uint8Array(body.subarray(at, next)));
      at = next;
    },
  });
}

/**
 * POSTs `body` to /api/analogies/batch (batch_size 5000, `query` appended) slowly, its length
 * declared; `stopAfter`: the client gives up after that many bytes. The answer, or the client's error.
 */
export async function slowUpload(
  base: string,
  body: Buffer,
  options: { query?: string; contentType?: string; stopAfter?: number; pieceBytes?: number } = {},
): Promise<{ status: number; json: Record<string, unknown> } | Error> {
  try {
    const res = await fetch(`${base}/api/analogies/batch?batch_size=5000${options.query ?? ''}`, {
      method: 'POST',
      headers: { 'content-type': options.contentType ?? 'application/x-ndjson', 'content-length': String(body.length) },
      body: slowBody(body, options.pieceBytes ?? 512 * 1024, options.stopAfter ?? Infinity),
      duplex: 'half',
    } as RequestInit);
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  } catch (err) {
    return err as Error;
  }
}
