import type { FastifyInstance } from 'fastify';
import { SoftlogicError } from '../core/errors.js';
import type { Store } from '../api/store.js';
import { openStore } from '../api/open-store.js';
import { isDatabaseUrl } from '../api/open-backend.js';
import { buildServer, type RateLimitOptions } from './server.js';

export interface StartOptions {
  storeDir: string;
  host?: string;
  port?: number;
  /** allow a non-loopback host without an API key */
  insecure?: boolean;
  apiKey?: string;
  bodyLimit?: number;
  rateLimit?: RateLimitOptions | false;
  /** maximum uploaded body in bytes (default $SOFTLOGIC_UPLOAD_LIMIT or 256 MiB) */
  uploadLimit?: number;
  /** items per commit of background processing (default 2000) */
  batchSize?: number;
  /** how long shutdown lets background work run on (ms, default $SOFTLOGIC_SHUTDOWN_GRACE_MS or 10000) */
  shutdownGraceMs?: number;
  /** install SIGTERM / SIGINT handlers that close the server and the store, then exit 0 (default true) */
  handleSignals?: boolean;
}

export interface RunningService {
  app: FastifyInstance;
  store: Store;
  url: string;
  /** closes the server (waiting for background work) and then the store */
  close(): Promise<void>;
}

export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127(\.\d{1,3}){3}$/.test(h) || h === '::ffff:127.0.0.1';
}

function envNumber(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new SoftlogicError('INVALID_INPUT', `${name} must be a non-negative integer, got '${raw}'`, { field: name });
  return n;
}

/** `softlogic serve`: opens (creating on first start) the store and serves it. */
export async function startService(options: StartOptions): Promise<RunningService> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 8321;
  const apiKey = options.apiKey ?? (process.env.SOFTLOGIC_API_KEY || undefined);
  if (!isLoopback(host) && !apiKey && !options.insecure) {
    throw new SoftlogicError(
      'INVALID_INPUT',
      `refusing to serve on non-loopback host ${host} without an API key: set SOFTLOGIC_API_KEY, or pass --insecure to serve it unauthenticated`,
      { host },
    );
  }
  // A database store has replicas: a workflow another one left is taken over by the takeover
  // loop on the processing thread, not by this open on the thread that answers requests (which
  // would hold the server's start until it finished).
  const store = await openStore(options.storeDir, { create: true, resume: !isDatabaseUrl(options.storeDir) });
  let app: FastifyInstance;
  try {
    app = await buildServer({
      store,
      apiKey,
      bodyLimit: options.bodyLimit,
      rateLimit: options.rateLimit,
      uploadLimit: options.uploadLimit ?? envNumber('SOFTLOGIC_UPLOAD_LIMIT'),
      batchSize: options.batchSize,
      shutdownGraceMs: options.shutdownGraceMs ?? envNumber('SOFTLOGIC_SHUTDOWN_GRACE_MS'),
    });
    await app.listen({ host, port });
  } catch (err) {
    await store.close();
    throw err;
  }
  if (!isLoopback(host) && !apiKey) app.log.warn({ host }, 'serving without an API key on a non-loopback address (--insecure)');
  const address = app.server.address();
  const url = typeof address === 'object' && address ? `http://${host.includes(':') ? `[${host}]` : host}:${address.port}` : `http://${host}:${port}`;

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      try {
        await app.close();
      } finally {
        await store.close();
      }
    })();
    return closing;
  };

  if (options.handleSignals ?? true) {
    const onSignal = (signal: NodeJS.Signals) => {
      app.log.info({ signal }, 'shutting down');
      close().then(
        () => process.exit(0),
        (err: unknown) => {
          app.log.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  }
  return { app, store, url, close };
}
