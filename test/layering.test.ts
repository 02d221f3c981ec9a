/**
 * The library entry does not load the HTTP service: `import 'softlogic'` must not pull Fastify in.
 * A resolve hook (module.register) refuses every fastify specifier, so a load anywhere in the
 * import graph, however indirect, fails the import. The service entry is the control: the same
 * hook must make it fail, or the check proves nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const entry = (path: string) => pathToFileURL(resolve(here, '..', path)).href;

const HOOK = `export async function resolve(specifier, context, next) {
  if (/^(fastify|@fastify\\/)/.test(specifier)) throw new Error('fastify loaded: ' + specifier + ' from ' + context.parentURL);
  return next(specifier, context);
}`;
const REGISTER = `import { register } from 'node:module'; register(${JSON.stringify('data:text/javascript,' + encodeURIComponent(HOOK))});`;

function importWithHook(url: string): { status: number | null; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', `data:text/javascript,${encodeURIComponent(REGISTER)}`, '--input-type=module', '-e', `await import(${JSON.stringify(url)});`], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: r.status, stderr: r.stderr };
}

test("import 'softlogic' (the library entry) loads no fastify module", () => {
  const r = importWithHook(entry('src/index.js'));
  assert.equal(r.status, 0, r.stderr);
});

test("the check can fail: 'softlogic/service' does load fastify", () => {
  const r = importWithHook(entry('src/service/index.js'));
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /fastify loaded: (fastify|@fastify\/)/);
});

test('package.json exports the library and the service as separate entries', async () => {
  const { readFileSync } = await import('node:fs');
  const pkg = JSON.parse(readFileSync(resolve(here, '../../package.json'), 'utf8')) as { exports: Record<string, { default: string; types: string }> };
  assert.equal(pkg.exports['.'].default, './dist/src/index.js');
  assert.equal(pkg.exports['./service'].default, './dist/src/service/index.js');
});
