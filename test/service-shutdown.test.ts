/**
 * Graceful shutdown of the real server (`softlogic serve` in a child process): SIGTERM while a
 * large batch is being processed in the background, then the store is opened with the library,
 * verified, and the workflow is found completed or resumable to exactly its items_total.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openStore } from '../src/index.js';

const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'cli', 'main.js');
/** 40 batches: SIGTERM is sent once 3 are committed (asserted still processing), so at least ~37 remain. */
const N = 40_000;
const BATCH = 1000;

function body(n: number): string {
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    lines.push(JSON.stringify({ source_domain: i % 2 ? 'finance' : 'music', target_domain: 'biology', quality_score: (i % 100) / 100, concept_mappings: { bank: `b${i}` }, tags: ['shutdown'] }));
  }
  return lines.join('\n') + '\n';
}

/** Starts `serve --port 0` on a store and resolves with its URL (read from its startup line). */
function serve(dir: string, env: Record<string, string>): Promise<{ child: ChildProcess; url: string; exited: Promise<number | null>; stderr: () => string }> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'warn', ...env };
  delete childEnv.NODE_TEST_CONTEXT;
  const child = spawn(process.execPath, [CLI, '--store', dir, 'serve', '--port', '0'], {
    env: childEnv,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${err}`)), 15_000);
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString('utf8');
      const m = / on (http:\/\/127\.0\.0\.1:\d+)/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1], exited, stderr: () => err });
      }
    });
    child.once('exit', (code) => reject(new Error(`server exited (${code}) before listening: ${err}`)));
  });
}

interface Wf {
  workflow_id: string;
  status: string;
  items_total: number;
  items_processed: number;
}

async function waitFor(url: string, pred: (wf: Wf) => boolean): Promise<Wf> {
  for (let i = 0; i < 2000; i++) {
    const wf = (await (await fetch(url)).json()) as Wf;
    if (pred(wf)) return wf;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error('timed out waiting for the workflow');
}

async function shutdownDuringBatch(graceMs: number): Promise<{ status: string; processedAtStop: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'softlogic-shutdown-'));
  const storeDir = join(dir, 'store');
  try {
    const server = await serve(storeDir, { SOFTLOGIC_SHUTDOWN_GRACE_MS: String(graceMs) });
    const res = await fetch(`${server.url}/api/analogies/batch?async=true&batch_size=${BATCH}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson' },
      body: body(N),
    });
    assert.equal(res.status, 202, await res.clone().text());
    const { workflow } = (await res.json()) as { workflow: Wf };
    assert.equal(workflow.items_total, N);
    // SIGTERM once some chunks are committed and many remain.
    const seen = await waitFor(`${server.url}/api/workflows/${workflow.workflow_id}`, (w) => w.items_processed >= 3 * BATCH || w.status === 'completed');
    assert.equal(seen.status, 'processing', 'the batch was still being processed when SIGTERM was sent');
    server.child.kill('SIGTERM');
    const code = await server.exited;
    assert.equal(code, 0, `clean exit; stderr: ${server.stderr()}`);

    // What the server left, before anything resumes it.
    const left = await openStore(storeDir, { resume: false });
    let processedAtStop: number;
    let status: string;
    try {
      assert.equal((await left.verify()).valid, true);
      const wf = await left.workflows.get(workflow.workflow_id);
      status = wf.status;
      processedAtStop = wf.items_processed;
      assert.ok(wf.status === 'completed' || wf.status === 'processing', `status ${wf.status}`);
      // Stopped at a commit boundary: what is counted as processed is exactly what is stored.
      assert.ok(wf.items_processed === N || wf.items_processed % BATCH === 0, `stopped at ${wf.items_processed}`);
      assert.equal(await left.analogies.count({}), wf.items_processed);
    } finally {
      await left.close();
    }

    // Opening the store normally resumes it to exactly items_total.
    const resumed = await openStore(storeDir);
    try {
      const wf = await resumed.workflows.get(workflow.workflow_id);
      assert.equal(wf.status, 'completed');
      assert.equal(wf.items_processed, N);
      assert.equal(wf.error_count, 0);
      assert.equal(await resumed.analogies.count({}), N);
      assert.equal((await resumed.verify()).valid, true);
    } finally {
      await resumed.close();
    }
    return { status, processedAtStop };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('SIGTERM during a large async batch: the work in flight finishes within the grace period, the store verifies', async () => {
  const r = await shutdownDuringBatch(60_000);
  assert.equal(r.status, 'completed');
  assert.equal(r.processedAtStop, N);
});

test('SIGTERM with no grace: processing stops at a commit boundary, left processing, and resumes to exactly items_total', async () => {
  const r = await shutdownDuringBatch(0);
  assert.equal(r.status, 'processing');
  assert.ok(r.processedAtStop < N);
});

test('SIGTERM while a client has stopped half way through an upload body: the server exits once the grace period is over, the store as it was', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'softlogic-shutdown-'));
  const storeDir = join(dir, 'store');
  try {
    const server = await serve(storeDir, { SOFTLOGIC_SHUTDOWN_GRACE_MS: '500' });
    const url = new URL(server.url);
    const socket = connect(Number(url.port), url.hostname);
    socket.on('error', () => undefined);
    await new Promise((resolve) => socket.once('connect', resolve));
    const text = body(2000);
    // Headers announcing the whole body, then half of it, then nothing: the client stalls.
    socket.write(`POST /api/analogies/batch?batch_size=500 HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/x-ndjson\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n`);
    socket.write(text.slice(0, text.length / 2));
    await new Promise((r) => setTimeout(r, 500));
    const t0 = Date.now();
    server.child.kill('SIGTERM');
    const closed = new Promise<boolean>((resolve) => socket.once('close', () => resolve(true)));
    const code = await server.exited;
    // Without the cut, Node's request timeout (300 s) held the close; the grace period is 0.5 s.
    assert.ok(Date.now() - t0 < 15_000, `exited after ${Date.now() - t0} ms`);
    assert.equal(code, 0, `clean exit; stderr: ${server.stderr()}`);
    assert.equal(await closed, true, 'the stalled connection was closed');
    const left = await openStore(storeDir, { resume: false });
    try {
      assert.equal(await left.analogies.count({}), 0);
      assert.deepEqual(await left.workflows.list(), []);
      assert.equal((await left.verify()).valid, true);
    } finally {
      await left.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
