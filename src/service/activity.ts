import type { FastifyInstance, FastifyRequest } from 'fastify';
import { SoftlogicError, type ForegroundLatency } from '../api/index.js';

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
 *
 * On a shared store (replicas of a PostgreSQL store) the processing thread also paces its
 * imports by these requests' recent latency (workflows/pacer.ts): staging and chunks pause
 * while the latency is over SOFTLOGIC_PACE_BUDGET_MS, down to a floor share of the time.
 */
export const QUIET_MS = 1000;

/** Route config flag of the routes whose requests are not "activity" (uploads). */
export interface ActivityRouteConfig {
  notActivity?: boolean;
}

/**
 * What the processing thread reads of the server's activity: `started` (see requestSince) and,
 * on a shared store, `foreground`, by which its imports are paced (see foregroundLatency).
 */
export interface ActivityState {
  started: Int32Array;
  foreground: Int32Array | null;
}

export class ServerActivity {
  /**
   * `shared`: other servers may be answering queries on the same store (replicas of a server
   * database), which this one cannot see: it is then never quiet, and no import drops the indexes
   * they read.
   */
  constructor(private readonly shared = false) {
    // No request has ended yet: long enough ago.
    Atomics.store(this.foreground, 2, (Date.now() + WRAP - 10 * QUIET_MS) % WRAP);
  }

  /** Requests started (other than uploads), shared with the processing thread. */
  readonly started = new Int32Array(new SharedArrayBuffer(4));
  /**
   * What the processing thread paces its imports by (foregroundLatency): [0] requests in flight,
   * [1] their recent latency (µs, a moving average over about the last 100 requests), [2] when
   * the last one ended (Date.now() modulo 2^31).
   */
  readonly foreground = new Int32Array(new SharedArrayBuffer(12));
  private inFlight = 0;
  private lastEnded = -Infinity;

  /**
   * For the processing thread. Imports are paced on a shared store only: there other replicas'
   * queries and the import meet in one database, and queries waited (p99 88-129 ms) behind an
   * import at full speed; a directory store's server met its latency target without pacing.
   */
  state(): ActivityState {
    return { started: this.started, foreground: this.shared ? this.foreground : null };
  }

  /** Counts the server's requests (registered once, on the root instance). */
  install(app: FastifyInstance): void {
    const counts = (request: FastifyRequest) => !request.headers.upgrade && (request.routeOptions.config as ActivityRouteConfig | undefined)?.notActivity !== true;
    app.addHook('onRequest', async (request, reply) => {
      if (!counts(request)) return;
      const start = performance.now();
      this.inFlight += 1;
      Atomics.add(this.started, 0, 1);
      Atomics.add(this.foreground, 0, 1);
      // 'close' comes after the response is sent and also when the client goes away first (a
      // request whose client gave up never gets onResponse, and would count as in flight forever).
      if (reply.raw.closed) this.ended(0);
      else reply.raw.once('close', () => this.ended(performance.now() - start));
    });
  }

  private ended(ms: number): void {
    this.inFlight -= 1;
    this.lastEnded = performance.now();
    const fg = this.foreground;
    const average = Atomics.load(fg, 1);
    Atomics.store(fg, 1, Math.round(average + (ms * 1000 - average) * LATENCY_WEIGHT));
    Atomics.store(fg, 2, Date.now() % WRAP);
    Atomics.sub(fg, 0, 1);
  }

  /** No request in flight and none ended within QUIET_MS (never, on a shared store). */
  quiet(): boolean {
    return !this.shared && this.inFlight === 0 && performance.now() - this.lastEnded >= QUIET_MS;
  }
}

const LATENCY_WEIGHT = 0.01;
/** Well under the p99 target (50 ms): the moving average is a mean, the tail is a few times it. */
const DEFAULT_PACE_BUDGET_MS = 20;
const WRAP = 2 ** 31;

/**
 * The foreground latency a Pacer reads (from any thread): the requests' moving average (ms) while
 * one is in flight or ended within QUIET_MS, else null (nothing to yield to).
 */
export function foregroundLatency(foreground: Int32Array): ForegroundLatency {
  return () => {
    const idle = (Date.now() % WRAP) - Atomics.load(foreground, 2);
    const sinceLast = idle < 0 ? idle + WRAP : idle;
    return Atomics.load(foreground, 0) > 0 || sinceLast < QUIET_MS ? Atomics.load(foreground, 1) / 1000 : null;
  };
}

/** The foreground latency above which imports slow down: SOFTLOGIC_PACE_BUDGET_MS, default 20 ms (see workflows/pacer.ts). */
export function paceBudgetMs(): number {
  const raw = process.env.SOFTLOGIC_PACE_BUDGET_MS;
  if (raw === undefined || raw === '') return DEFAULT_PACE_BUDGET_MS;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new SoftlogicError('INVALID_INPUT', `SOFTLOGIC_PACE_BUDGET_MS must be a non-negative number of milliseconds, got '${raw}'`, { field: 'SOFTLOGIC_PACE_BUDGET_MS' });
  return n;
}

/** From now on: whether a request has started since (read from any thread). */
export function requestSince(started: Int32Array): () => boolean {
  const at = Atomics.load(started, 0);
  return () => Atomics.load(started, 0) !== at;
}
