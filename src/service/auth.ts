import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { SoftlogicError } from '../api/index.js';

/**
 * Bearer-key authentication. HTTP clients send `Authorization: Bearer <key>`. Browsers cannot
 * set headers on a WebSocket, so a WebSocket may instead offer the key as a subprotocol:
 * `new WebSocket(url, ['softlogic', 'bearer.' + key])`; the server answers with the
 * `softlogic` protocol (never echoing the key). The console, the API description (/docs,
 * /openapi.json) and /health are open: they hold no data, and the console has to load to ask
 * for the key.
 */

/** The subprotocol the server answers a WebSocket with. */
export const WS_PROTOCOL = 'softlogic';
/** Prefix of the subprotocol that carries the key. */
export const WS_BEARER_PREFIX = 'bearer.';

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/** Constant-time check of an `Authorization: Bearer <key>` header. */
export function bearerMatches(header: string | undefined, expected: Buffer): boolean {
  if (typeof header !== 'string') return false;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!m) return false;
  return timingSafeEqual(digest(m[1]), expected);
}

/** Whether a `Sec-WebSocket-Protocol` header offers `bearer.<key>` with the expected key. */
export function protocolKeyMatches(header: string | string[] | undefined, expected: Buffer): boolean {
  if (header === undefined) return false;
  const offered = (Array.isArray(header) ? header.join(',') : header).split(',').map((p) => p.trim());
  let ok = false;
  // Check every offer (no early exit) so the time taken does not depend on where a match is.
  for (const p of offered) {
    if (p.startsWith(WS_BEARER_PREFIX) && timingSafeEqual(digest(p.slice(WS_BEARER_PREFIX.length)), expected)) ok = true;
  }
  return ok;
}

/** Paths that need the key: the data (/api, /ws) and the store's status. */
export function needsKey(path: string): boolean {
  return path.startsWith('/api/') || path === '/api' || path.startsWith('/ws/') || path === '/status';
}

/** The subprotocol to answer a WebSocket with: `softlogic` when offered, none otherwise. */
export function chooseProtocol(protocols: Set<string>): string | false {
  return protocols.has(WS_PROTOCOL) ? WS_PROTOCOL : false;
}

export function installApiKey(app: FastifyInstance, apiKey: string): void {
  const expected = digest(apiKey);
  app.addHook('onRequest', async (request) => {
    if (!needsKey(request.url.split('?')[0])) return;
    if (bearerMatches(request.headers.authorization, expected)) return;
    if (request.headers.upgrade && protocolKeyMatches(request.headers['sec-websocket-protocol'], expected)) return;
    throw new SoftlogicError('UNAUTHORIZED', 'Missing or wrong API key: send Authorization: Bearer <key> (WebSockets: the subprotocol bearer.<key>)');
  });
}
