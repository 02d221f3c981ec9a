import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import websocket from '@fastify/websocket';
import rateLimit from '@fastify/rate-limit';
import { SoftlogicError, type Store } from '../api/index.js';
import { packageVersion, type ServiceContext } from './context.js';
import { healthRoutes } from './routes/health.js';
import { contextRoutes } from './routes/contexts.js';
import { analogyRoutes } from './routes/analogies.js';
import { workflowRoutes } from './routes/workflows.js';
import { maintenanceRoutes } from './routes/maintenance.js';
import { auditRoutes } from './routes/audit.js';
import { websocketRoutes } from './routes/websockets.js';
import { knowledgeRoutes } from './routes/knowledge.js';
import { uploadRoutes } from './routes/uploads.js';
import { conceptRoutes } from './routes/concepts.js';
import { embeddingRoutes } from './routes/embeddings.js';
import { frameRoutes } from './routes/frames.js';
import { fieldRoutes } from './routes/fields.js';
import { wordnetRoutes } from './routes/wordnet.js';
import { setBackgroundIndexBuilds, stopBackgroundBuilds } from '../methods/embeddings/index-background.js';
import { DEFAULT_UPLOAD_LIMIT, removeStaleTemporaries } from './uploads.js';
import { inProcessProcessor, workerProcessor } from './processor.js';
import { ServerActivity } from './activity.js';
import { registerPathScrub } from './path-scrub.js';
import { refuseDuplicateKeys } from './json-body.js';
import { chooseProtocol, installApiKey } from './auth.js';
import { consoleRoutes } from './console.js';
import { startTakeoverLoop, takeoverInterval } from './takeover.js';

/** The OpenAPI description: what the operations list cannot say (WebSockets, auth). */
const API_DESCRIPTION = [
  'Knowledge store and reasoning service for soft-logic knowledge. The web console is served at `/`.',
  '',
  '**Authentication.** When the server runs with `SOFTLOGIC_API_KEY`, every `/api`, `/ws` and `/status` route needs `Authorization: Bearer <key>` (the Authorize button here).',
  'Browsers cannot set headers on a WebSocket: they offer the key as a subprotocol instead, `new WebSocket(url, [\'softlogic\', \'bearer.\' + key])`, and the server answers with the `softlogic` protocol.',
  '',
  '**WebSockets** (`ws://` or `wss://`, same host):',
  '- `GET /ws/workflows/{id}`: `{"type":"state","workflow":...}`, then `{"type":"progress",...}` per committed chunk; closes after the final event.',
  '- `GET /ws/analogies/stream?<filter>`: one message per matching analogy, then `{"type":"complete","count":N}`.',
].join('\n');

export interface RateLimitOptions {
  /** requests per client per window */
  max: number;
  /** window in milliseconds */
  timeWindow: number;
}

export interface ServerOptions {
  store: Store;
  /** when set, every route but /health needs `Authorization: Bearer <apiKey>` */
  apiKey?: string;
  /** maximum request body in bytes (default 1 MiB) */
  bodyLimit?: number;
  /** per-client rate limit; false disables it (default 1000 requests per second) */
  rateLimit?: RateLimitOptions | false;
  /** pino level; default $LOG_LEVEL or 'info', 'silent' under `node --test` */
  logLevel?: string;
  /** maximum uploaded body (batch, workflow and import routes) in bytes (default 256 MiB) */
  uploadLimit?: number;
  /** items per commit for the workflows this server processes (default 2000: short commits keep queries fast) */
  batchSize?: number;
  /**
   * On close, how long background work (workflows being processed, imports in flight) may run
   * on before it is stopped at its next commit boundary (ms, default 10000). See close below.
   */
  shutdownGraceMs?: number;
  /**
   * Stage and process in a worker thread with its own connection to the store (default true),
   * so that commits never block the event loop that answers queries.
   */
  processInWorker?: boolean;
  /** a WebSocket stream client that reads nothing for this long (its buffer full) is dropped (ms, default 30000) */
  streamStallMs?: number;
  /** the built web console served at / (default: the package's dist/web) */
  consoleDir?: string;
  /**
   * How often to look for workflows whose owner is gone (a replica killed mid-import) and take
   * them over (ms; 0: never). Default: a quarter of the store's lease, or 5000 without leases.
   */
  takeoverIntervalMs?: number;
}

export const DEFAULT_SERVICE_BATCH_SIZE = 2000;
export const DEFAULT_SHUTDOWN_GRACE_MS = 10_000;
export const DEFAULT_STREAM_STALL_MS = 30_000;

interface ErrorBody {
  error: { code: string; message: string; details: Record<string, unknown> };
}

function errorBody(code: string, message: string, details: Record<string, unknown> = {}): ErrorBody {
  return { error: { code, message, details } };
}

export { bearerMatches } from './auth.js';

interface ValidationIssue {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
}

function fieldOf(issue: ValidationIssue): string {
  const path = issue.instancePath.replace(/^\//, '').replace(/\//g, '.');
  const extra =
    typeof issue.params.missingProperty === 'string'
      ? issue.params.missingProperty
      : typeof issue.params.additionalProperty === 'string'
        ? issue.params.additionalProperty
        : '';
  return [path, extra].filter(Boolean).join('.') || '(root)';
}

function mapError(err: FastifyError | SoftlogicError | Error): { status: number; body: ErrorBody } {
  if (err instanceof SoftlogicError) return { status: err.httpStatus, body: { error: err.toJSON() } };
  const fe = err as FastifyError & { validation?: ValidationIssue[]; validationContext?: string };
  if (Array.isArray(fe.validation)) {
    const where = fe.validationContext ?? 'request';
    const issues = fe.validation.map((v) => ({ field: fieldOf(v), reason: v.message ?? v.keyword }));
    const first = issues[0];
    return {
      status: 400,
      body: errorBody('INVALID_INPUT', first ? `${where}.${first.field}: ${first.reason}` : `invalid ${where}`, { location: where, field: first?.field, issues }),
    };
  }
  switch (fe.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, body: errorBody('PAYLOAD_TOO_LARGE', 'Request body too large') };
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return { status: 400, body: errorBody('INVALID_INPUT', `malformed JSON body: ${fe.message}`, { field: 'body' }) };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status: 415, body: errorBody('UNSUPPORTED_FORMAT', 'Unsupported content type: /openapi.json lists what each route accepts') };
  }
  if (err instanceof SyntaxError && (fe.statusCode ?? 500) === 400) {
    return { status: 400, body: errorBody('INVALID_INPUT', `malformed JSON body: ${err.message}`, { field: 'body' }) };
  }
  const status = typeof fe.statusCode === 'number' ? fe.statusCode : 500;
  if (status === 404) return { status, body: errorBody('NOT_FOUND', fe.message) };
  if (status === 429) return { status, body: errorBody('RATE_LIMITED', 'Too many requests') };
  if (status >= 400 && status < 500) return { status, body: errorBody('INVALID_INPUT', fe.message) };
  return { status: 500, body: errorBody('INTERNAL', 'Internal error') };
}

function defaultLogLevel(): string {
  if (process.env.LOG_LEVEL) return process.env.LOG_LEVEL;
  if (process.env.NODE_TEST_CONTEXT) return 'silent';
  return 'info';
}

/** The HTTP + WebSocket face of a store: every route calls a Store method and nothing else. */
export async function buildServer(options: ServerOptions): Promise<FastifyInstance> {
  const { store } = options;
  // A long-lived process: concept searches answer exactly while HNSW graphs build in worker threads.
  setBackgroundIndexBuilds(true);
  const app = Fastify({
    logger: { level: options.logLevel ?? defaultLogLevel() },
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    ajv: { customOptions: { removeAdditional: false, allErrors: false } },
    return503OnClosing: true,
    // fastify's default 10 s for a plugin to register was exceeded by @fastify/swagger-ui on a
    // loaded machine (2 cores, load ~17): the server then refuses to start. Still a hang guard.
    pluginTimeout: 60_000,
    // Long ids reach the schema (and its 400 naming the field) instead of the router's 414.
    routerOptions: { maxParamLength: 1024 },
    frameworkErrors: (error, _request, reply) => {
      const { status, body } = mapError(error);
      return (reply as FastifyReply).code(status >= 500 ? 400 : status).send(body);
    },
  });
  // Replicas of a PostgreSQL store answer queries this server does not see.
  const activity = new ServerActivity(store.kind !== 'embedded');
  activity.install(app);
  const ctx: ServiceContext = {
    store,
    startedAt: Date.now(),
    version: packageVersion(),
    background: new Map(),
    streams: new Set(),
    closing: false,
    uploadLimit: options.uploadLimit ?? DEFAULT_UPLOAD_LIMIT,
    batchSize: options.batchSize ?? DEFAULT_SERVICE_BATCH_SIZE,
    processor: options.processInWorker === false ? inProcessProcessor(store, activity.state()) : workerProcessor(store, activity.state()),
    activity,
    streamStallMs: options.streamStallMs ?? DEFAULT_STREAM_STALL_MS,
  };
  removeStaleTemporaries(store);
  // The progress of workflows other replicas run reaches this one's WebSocket clients.
  await store.followReplicas();
  const takeoverMs = options.takeoverIntervalMs ?? takeoverInterval(store.workflows.leaseSeconds());
  const stopTakeover = takeoverMs > 0 ? startTakeoverLoop(ctx, app.log, takeoverMs) : () => {};

  app.setErrorHandler((err: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    let { status, body } = mapError(err);
    if (status >= 500 && ctx.closing && status !== 507) {
      // Work stopped by the shutdown (the store closed under it): say so rather than 500.
      ({ status, body } = { status: 503, body: errorBody('STORE_CLOSED', 'the server is shutting down; retry once it is back', {}) });
    }
    if (status >= 500) request.log.error({ err }, 'request failed');
    else request.log.info({ code: body.error.code, status }, body.error.message);
    // When to come back: what the error says (a rate limit, a busy or unreachable database), else 1 s for any 503.
    const retry = err instanceof SoftlogicError ? err.details.retry_after_seconds : undefined;
    if (typeof retry === 'number') reply.header('retry-after', String(retry));
    else if (status === 503) reply.header('retry-after', '1');
    return reply.code(status).send(body);
  });

  registerPathScrub(app, store.workDir);
  refuseDuplicateKeys(app);

  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send(errorBody('NOT_FOUND', `No route ${request.method} ${request.url.split('?')[0]}`)),
  );

  // A refused WebSocket upgrade (401, 404, 400...) leaves a raw socket that the HTTP server does
  // not track; end it so it neither lingers nor holds up close().
  app.addHook('onResponse', async (request, reply) => {
    if (request.headers.upgrade && reply.statusCode !== 101) request.raw.socket.destroySoon();
  });

  if (options.apiKey) installApiKey(app, options.apiKey);

  if (options.rateLimit !== false) {
    const rl = options.rateLimit ?? { max: 1000, timeWindow: 1000 };
    await app.register(rateLimit, {
      max: rl.max,
      timeWindow: rl.timeWindow,
      errorResponseBuilder: (_req, context) => {
        const e = new SoftlogicError('RATE_LIMITED', `Too many requests: at most ${context.max} per ${context.after}`, {
          retry_after_seconds: Math.ceil(context.ttl / 1000),
        });
        return Object.assign(e, { statusCode: 429 });
      },
    });
  }

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'softlogic', description: API_DESCRIPTION, version: ctx.version },
      components: options.apiKey ? { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } } : undefined,
      security: options.apiKey ? [{ bearer: [] }] : undefined,
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  await app.register(websocket, { options: { maxPayload: 64 * 1024, handleProtocols: chooseProtocol } });

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  healthRoutes(app, ctx);
  contextRoutes(app, ctx);
  analogyRoutes(app, ctx);
  workflowRoutes(app, ctx);
  maintenanceRoutes(app, ctx);
  auditRoutes(app, ctx);
  websocketRoutes(app, ctx);
  knowledgeRoutes(app, ctx);
  wordnetRoutes(app, ctx);
  await uploadRoutes(app, ctx);
  await conceptRoutes(app, ctx);
  await embeddingRoutes(app, ctx);
  await frameRoutes(app, ctx);
  fieldRoutes(app, ctx);
  await consoleRoutes(app, options.consoleDir);

  /*
   * Graceful shutdown. preClose: refuse new uploads and background work, end the streams (they
   * hold a read snapshot), and start the grace timer. Fastify then stops accepting connections
   * and waits for the requests in flight; onClose waits for the background work. Every commit
   * is one synchronous SQLite transaction + log append, so no close can land inside one: work
   * that ends within the grace period completes; work still running when it expires is stopped
   * by closing the store connection it writes with (the worker's, or the server's own when
   * processing in-process), which makes the processor fail at its next chunk boundary with every
   * committed chunk kept. The workflow stays `processing` (owner: this process, about to exit),
   * so the next open of the store (`serve`, the CLI, the library) resumes it exactly where it
   * stopped. (The core has no "stop without cancelling" signal for processWorkflow; with one,
   * the store would not need closing early. cancel() would mark the workflow cancelled.)
   */
  let graceTimer: NodeJS.Timeout | undefined;
  app.addHook('preClose', async () => {
    ctx.closing = true;
    stopTakeover();
    graceTimer = setTimeout(() => {
      // A connection still open now (a client that stopped sending a body, or holds its socket)
      // would hold the close until Node's request timeout (300 s): cut it.
      app.server.closeAllConnections();
      if (ctx.background.size === 0) return;
      app.log.warn({ work: [...ctx.background.keys()] }, 'shutdown grace period over: stopping background work at its next commit boundary (it resumes on the next start)');
      ctx.processor.stop();
    }, options.shutdownGraceMs ?? DEFAULT_SHUTDOWN_GRACE_MS);
    graceTimer.unref();
    const streams = [...ctx.streams];
    for (const s of streams) s.abort();
    await Promise.all(streams.map((s) => s.done));
  });

  app.addHook('onClose', async () => {
    // Loop: work that was starting when close began may register more (staging -> processing).
    while (ctx.background.size > 0) await Promise.allSettled([...ctx.background.values()]);
    clearTimeout(graceTimer);
    await ctx.processor.close();
    await stopBackgroundBuilds();
  });

  return app;
}
