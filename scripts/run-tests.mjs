#!/usr/bin/env node
/**
 * The test phase of `npm test`: `node --test --test-concurrency=2` over dist/test/*.test.js, the
 * slowest files first. node --test starts the files in the order given, two at a time, so a slow
 * file started late runs on alone while the other core idles (alphabetical order left
 * store-import-*, upload-arriving and workflows-* to the end). SLOWEST lists the files of a
 * minute or more, longest first (test-seconds measured on the 2-core VM, 2026-11-28); the other
 * files follow in alphabetical order, and a listed file that no longer exists is skipped.
 * Usage: node scripts/run-tests.mjs [--list] [more node --test options, e.g. reporters]
 */
/* global console, process */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dir = join(root, 'dist', 'test');

const SLOWEST = [
  'store-import-ids',
  'import-paths',
  'upload-arriving',
  'store-import-fast',
  'knowledge-import-workers',
  'cli-postgres',
  'workflows-transitions',
  'postgres-import',
  'store-import-bulk',
  'import-legacy-fast',
  'pg-replicas',
  'import-gzip-paths',
  'embeddings-analogy-methods',
  'store-lifecycle',
  'store-busy-backup-cli',
].map((name) => `${name}.test.js`);

const all = readdirSync(dir).filter((name) => name.endsWith('.test.js')).sort();
const first = SLOWEST.filter((name) => existsSync(join(dir, name)));
const files = [...first, ...all.filter((name) => !first.includes(name))].map((name) => join('dist', 'test', name));

const args = process.argv.slice(2);
if (args.includes('--list')) {
  console.log(files.join('\n'));
} else {
  const child = spawn(process.execPath, ['--test', '--test-concurrency=2', ...args, ...files], { cwd: root, stdio: 'inherit' });
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}
