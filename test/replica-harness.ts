/**
 * Service replicas as separate processes (`softlogic serve --store URL --port 0`), for the
 * replica tests and the takeover bench: start one, find its port, kill it with SIGKILL, stop it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { CLI_PATH } from './helpers.js';

export interface Replica {
  readonly name: string;
  /** http://127.0.0.1:PORT */
  readonly base: string;
  readonly proc: ChildProcess;
  /** what the process wrote on stderr so far (its log) */
  log(): string;
  /** SIGKILL, resolved once the process is gone */
  kill(): Promise<void>;
  /** SIGTERM (graceful), resolved once the process is gone */
  stop(): Promise<void>;
}

function exited(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => proc.once('exit', () => resolve()));
}

/** Starts `softlogic serve` on the store in `cwd`; resolves once it listens (rejects if it exits first). */
export function startReplica(name: string, store: string, env: Record<string, string> = {}, cwd?: string): Promise<Replica> {
  const proc = spawn(process.execPath, [CLI_PATH, '--store', store, 'serve', '--port', '0'], {
    cwd,
    env: { ...process.env, LOG_LEVEL: process.env.REPLICA_LOG_LEVEL ?? 'warn', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`replica ${name} did not start within 60 s:\n${stderr}`));
    }, 60_000);
    proc.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
      const m = /softlogic serving .* on (http:\/\/[^\s]+) \(docs/.exec(stderr);
      if (m && m[1]) {
        clearTimeout(timer);
        resolve({
          name,
          base: m[1],
          proc,
          log: () => stderr,
          kill: async () => {
            proc.kill('SIGKILL');
            await exited(proc);
          },
          stop: async () => {
            proc.kill('SIGTERM');
            await exited(proc);
          },
        });
      }
    });
    proc.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`replica ${name} exited (${code ?? signal}) before listening:\n${stderr}`));
    });
  });
}

/** Polls `check` every `everyMs` until it answers a value (not undefined), or fails after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs: number, everyMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export async function getJson<T = Record<string, unknown>>(url: string): Promise<{ status: number; body: T }> {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as T };
}

/** NDJSON lines of analogies with their own ids `<prefix>-<i>`. */
export function analogyLines(prefix: string, n: number): string {
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    lines.push(
      JSON.stringify({
        id: `${prefix}-${i}`,
        source_domain: ['finance', 'biology', 'physics', 'music'][i % 4],
        target_domain: ['chemistry', 'law', 'sport'][i % 3],
        quality_score: (i % 100) / 100,
        concept_mappings: { bank: `b${i}`, river: `r${i % 17}` },
        tags: ['replica', `t${i % 7}`],
      }),
    );
  }
  return lines.join('\n') + '\n';
}
