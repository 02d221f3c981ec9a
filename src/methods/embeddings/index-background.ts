/**
 * Background builds of HNSW indexes (issue: no search waits on an index build). A long-lived
 * process (the service) turns them on: when a context outgrows exact search, its searches go on
 * answering exactly while a worker thread builds the HNSW graph from a copy of the vectors; when
 * it is done the main thread adopts it (index-store.ts), applying the changes made meanwhile.
 * A short-lived process (the CLI) leaves them off: it answers exactly, and the next long-lived
 * process, or `softlogic rebuild`, builds the graph.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';

let enabled = false;

/** On in long-lived processes (the service); off by default. */
export function setBackgroundIndexBuilds(on: boolean): void {
  enabled = on;
}

export function backgroundIndexBuilds(): boolean {
  return enabled;
}

interface Build {
  /** The newest concept key the copied vectors include. */
  builtAt: number;
  dir: string;
  path: string;
  state: 'running' | 'done' | 'failed';
  error?: string;
  finished: Promise<void>;
  worker: Worker;
}

const builds = new Map<string, Build>();

/** Starts building unless a build of that index is already under way or waiting to be adopted. */
export function startBackgroundBuild(key: string, ids: readonly string[], matrix: Float32Array, dimension: number, builtAt: number, onDone: () => void): void {
  if (builds.has(key)) return;
  const dir = mkdtempSync(join(tmpdir(), 'softlogic-index-'));
  const path = join(dir, 'vectors.index');
  // A copy: the caller's index goes on changing while the worker reads.
  const worker = new Worker(new URL('./index-build-worker.js', import.meta.url), { workerData: { ids: [...ids], matrix: matrix.slice(), dimension, path } });
  worker.unref();
  let settle: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (settle = resolve));
  const build: Build = { builtAt, dir, path, state: 'running', finished, worker };
  worker.once('message', (m: { ok: boolean; error?: string }) => {
    build.state = m.ok ? 'done' : 'failed';
    build.error = m.error;
    // Adopted now, between requests, so that no search pays for loading and saving the graph.
    if (m.ok) onDone();
    settle();
  });
  worker.once('error', (err) => {
    build.state = 'failed';
    build.error = err.message;
    settle();
  });
  worker.once('exit', () => {
    if (build.state === 'running') build.state = 'failed';
    settle();
  });
  builds.set(key, build);
}

/** A finished build to adopt (its files are the caller's to remove with `discardBuild`), or undefined. */
export function finishedBuild(key: string): { path: string; builtAt: number } | undefined {
  const b = builds.get(key);
  if (!b || b.state === 'running') return undefined;
  if (b.state === 'failed') {
    discardBuild(key);
    return undefined;
  }
  return { path: b.path, builtAt: b.builtAt };
}

export function discardBuild(key: string): void {
  const b = builds.get(key);
  if (!b) return;
  builds.delete(key);
  rmSync(b.dir, { recursive: true, force: true });
}

/** Resolves when the build of that index (if any) has finished, successfully or not. */
export function buildFinished(key: string): Promise<void> {
  return builds.get(key)?.finished ?? Promise.resolve();
}

export function buildRunning(key: string): boolean {
  return builds.get(key)?.state === 'running';
}

/** Stops every build (a store closing); their files are removed. */
export async function stopBackgroundBuilds(): Promise<void> {
  const all = [...builds.entries()];
  await Promise.all(all.map(([, b]) => b.worker.terminate()));
  for (const [key] of all) discardBuild(key);
}
