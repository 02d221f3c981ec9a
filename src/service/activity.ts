import type { FastifyInstance, FastifyRequest } from 'fastify';

/**
 * Whether the server is answering queries, for the imports it runs: an upload that arrives
 * while the server is quiet is imported the way the CLI imports a file (staged on every core,
 * chunks encoded while staging, query indexes built once at the end when worth it); one that
 * arrives while queries are being answered is staged on one thread and keeps the query indexes,
 * so that query latency stays steady. A bulk load started while quiet ends at the next commit
 * once a request arrives: the indexes are built then and the rest keeps them.
 *
 * Every request counts except the uploads themselves (their routes are flagged by
 * withUploadScope) and WebSocket upgrades (progress streams read no index).
 */
export const QUIET_MS = 1000;

/** Route config flag of the routes whose requests are not "activity" (uploads). */
export interface ActivityRouteConfig {
  notActivity?: boolean;
}

export class ServerActivity {
  /**
   * `shared`: other servers may be answering queries on the same store (replicas of a server
   * database), which this one cannot see: it is then never quiet, and no import drops the indexes
   * they read.
   */
  constructor(private readonly shared = false) {}

  /** Requests started (other than uploads), shared with the processing thread. */
  readonly started = new Int32Array(new SharedArrayBuffer(4));
  private inFlight = 0;
  private lastEnded = -Infinity;

  /** Counts the server's requests (registered once, on the root instance). */
  install(app: FastifyInstance): void {
    const counts = (request: FastifyRequest) => !request.headers.upgrade && (request.routeOptions.config as ActivityRouteConfig | undefined)?.notActivity !== true;
    app.addHook('onRequest', async (request) => {
      if (!counts(request)) return;
      this.inFlight += 1;
      Atomics.add(this.started, 0, 1);
    });
    app.addHook('onResponse', async (request) => {
      if (!counts(request)) return;
      this.inFlight -= 1;
      this.lastEnded = performance.now();
    });
  }

  /** No request in flight and none ended within QUIET_MS (never, on a shared store). */
  quiet(): boolean {
    return !this.shared && this.inFlight === 0 && performance.now() - this.lastEnded >= QUIET_MS;
  }
}

/** From now on: whether a request has started since (read from any thread). */
export function requestSince(started: Int32Array): () => boolean {
  const at = Atomics.load(started, 0);
  return () => Atomics.load(started, 0) !== at;
}
