/**
 * `npm start` on Node 20: SIGTERM to the npm process stops the node server it started (npm
 * forwards the signal to its child; `exec` makes that child the server itself, not a shell).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sleep, tempDir } from './helpers.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Every live descendant of a process (read from /proc). */
function descendants(pid: number): number[] {
  const parentOf = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parentOf.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // the process ended while we looked
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const [child, parent] of parentOf) {
      if (parent === p) {
        out.push(child);
        walk(child);
      }
    }
  };
  walk(pid);
  return out;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  } catch {
    return false;
  }
}

test('SIGTERM to `npm start` stops the node server', { skip: process.platform !== 'linux' && 'reads /proc' }, async () => {
  const env: NodeJS.ProcessEnv = { ...process.env, SOFTLOGIC_STORE: join(tempDir(), 'store'), LOG_LEVEL: 'warn' };
  delete env.NODE_TEST_CONTEXT;
  const npm = spawn('npm', ['start', '--', '--port', '0'], { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  const exited = new Promise<number | null>((done) => npm.once('exit', (code) => done(code)));
  const url = await new Promise<string>((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`npm start did not serve: ${stderr}`)), 60_000);
    npm.stderr.on('data', (d: Buffer) => {
      stderr += d.toString('utf8');
      const m = / on (http:\/\/127\.0\.0\.1:\d+)/.exec(stderr);
      if (m) {
        clearTimeout(timer);
        done(m[1]);
      }
    });
  });
  assert.equal((await fetch(`${url}/health`)).status, 200);
  const children = descendants(npm.pid as number);
  assert.ok(children.length > 0, 'npm runs the server as a child');

  npm.kill('SIGTERM');
  const deadline = Date.now() + 10_000;
  while (children.some(alive) && Date.now() < deadline) await sleep(100);
  const survivors = children.filter(alive);
  // A server left behind holds the pipe open: end it so a failing run does not hang.
  for (const pid of survivors) process.kill(pid, 'SIGKILL');
  npm.stderr.destroy();
  assert.deepEqual(survivors, [], `still running after SIGTERM to npm: ${stderr}`);
  await exited;
  await assert.rejects(fetch(`${url}/health`), 'nothing listens any more');
});
