import { readFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Store } from '../api/index.js';
import type { Processor } from './processor.js';
import type { ServerActivity } from './activity.js';

/** What every route group gets: the store and the server's bookkeeping. */
export interface ServiceContext {
  store: Store;
  startedAt: number;
  version: string;
  /** workflows being processed in the background by this server, awaited on close */
  background: Map<string, Promise<unknown>>;
  /** streams in flight (NDJSON and WebSocket): aborted and awaited on close, before the store closes */
  streams: Set<ActiveStream>;
  /** set when the server starts closing: no new uploads or background work are accepted */
  closing: boolean;
  /** maximum uploaded body (batch, workflow, import routes) in bytes */
  uploadLimit: number;
  /** items per commit for workflows this server processes */
  batchSize: number;
  /** where staging, processing and imports run (a worker thread by default) */
  processor: Processor;
  /** whether queries are being answered (imports then keep out of their way) */
  activity: ServerActivity;
  /** a WebSocket stream client whose buffer stays full this long (ms) is dropped */
  streamStallMs: number;
}

/**
 * Runs work in the background under `key`, so the server's close waits for it (see server.ts,
 * "graceful shutdown"). Failures are logged by `onError`, never left unhandled.
 */
export function runInBackground<T>(ctx: ServiceContext, key: string, work: Promise<T>, onError: (err: unknown) => void): Promise<T | undefined> {
  const run = work
    .catch((err: unknown) => {
      onError(err);
      return undefined;
    })
    .finally(() => {
      if (ctx.background.get(key) === run) ctx.background.delete(key);
    });
  ctx.background.set(key, run);
  return run;
}

/** How a background processor's end by error is logged: a stop by the shutdown is expected. */
export function logStopped(ctx: ServiceContext, log: { warn(o: object, m: string): void; error(o: object, m: string): void }, workflowId: string, err: unknown): void {
  if (ctx.closing) log.warn({ workflow_id: workflowId }, 'processing stopped by the shutdown at a commit boundary; it resumes on the next start');
  else log.error({ err, workflow_id: workflowId }, 'background processing failed');
}

/**
 * Tracks work a request awaits itself (a synchronous import), so the server's close waits for it
 * too; the request still sees its result or error.
 */
export async function trackWork<T>(ctx: ServiceContext, key: string, work: Promise<T>): Promise<T> {
  const settled = work.then(
    () => undefined,
    () => undefined,
  );
  ctx.background.set(key, settled);
  try {
    return await work;
  } finally {
    if (ctx.background.get(key) === settled) ctx.background.delete(key);
  }
}

export interface ActiveStream {
  abort(): void;
  done: Promise<void>;
}

/** Registers a stream for the server's close; returns the function to call when it ends. */
export function trackStream(ctx: ServiceContext, abort: () => void): () => void {
  let finish: () => void = () => {};
  const entry: ActiveStream = { abort, done: new Promise<void>((resolve) => (finish = resolve)) };
  ctx.streams.add(entry);
  return () => {
    ctx.streams.delete(entry);
    finish();
  };
}

/** The package version, found by walking up from this file (works from src/ and dist/src/). */
export function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'softlogic' && pkg.version) return pkg.version;
    }
    dir = dirname(dir);
  }
  return '0.0.0';
}
