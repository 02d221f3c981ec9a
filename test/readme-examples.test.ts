/**
 * The README's library examples run as written, so the docs cannot rot: every ```js block of its
 * "## Library" section is run as an ES module in a fresh directory, with 'softlogic' (and
 * 'softlogic/service') resolved to the built entry points.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { tempDir } from './helpers.js';

const here = dirname(fileURLToPath(import.meta.url));
const readme = readFileSync(resolve(here, '../../README.md'), 'utf8');
const section = readme.slice(readme.indexOf('\n## Library\n'), readme.indexOf('\n## ', readme.indexOf('\n## Library\n') + 5));
const examples = [...section.matchAll(/```js\n([\s\S]*?)```/g)].map((m) => m[1]);
const entry = (path: string) => pathToFileURL(resolve(here, '..', path)).href;

test('the README has one library example per area', () => {
  assert.ok(examples.length >= 5, `found ${examples.length} examples`);
  for (const area of ['store.analogies.', 'store.workflows.', 'store.concepts.', 'store.frames.', 'store.fields.', 'store.backup(']) {
    assert.ok(examples.some((e) => e.includes(area)), `no example uses ${area}`);
  }
});

for (const [i, code] of examples.entries()) {
  const first = code.split('\n').find((l) => l.startsWith('  ') && l.includes('store.')) ?? '';
  test(`README library example ${i + 1} runs (${first.trim().slice(0, 60)})`, { timeout: 120_000 }, () => {
    const dir = tempDir('softlogic-readme-');
    const file = join(dir, 'example.mjs');
    writeFileSync(file, code.replace(/from 'softlogic\/service'/g, `from '${entry('src/service/index.js')}'`).replace(/from 'softlogic'/g, `from '${entry('src/index.js')}'`));
    const r = spawnSync(process.execPath, [file], { cwd: dir, encoding: 'utf8', timeout: 110_000 });
    assert.equal(r.status, 0, `example ${i + 1} failed:\n${r.stderr}\n${r.stdout}`);
    assert.ok(r.stdout.length > 0, 'the example printed nothing');
  });
}
