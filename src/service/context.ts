import { readFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Store } from '../index.js';

/** What every route group gets: the store and the server's bookkeeping. */
export interface ServiceContext {
  store: Store;
  startedAt: number;
  version: string;
  /** workflows being processed in the background by this server, awaited on close */
  background: Map<string, Promise<unknown>>;
  /** streams in flight (NDJSON and WebSocket): aborted and awaited on close, before the store closes */
  streams: Set<ActiveStream>;
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
