import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { rmSync } from 'node:fs';
import { cliErr, cliOk, tempDir, useTestGloveCache } from './helpers.js';
import { Store } from '../src/index.js';

/** What a new user gets right after `softlogic init`. */
useTestGloveCache();

test('init creates the default context: similarity and analogy completion work at once', () => {
  const store = join(tempDir(), 's');
  cliOk(store, ['init']);
  const contexts = cliOk(store, ['contexts', 'list']) as { contexts: Array<{ name: string; parent: string | null }> };
  assert.deepEqual(
    contexts.contexts.map((c) => [c.name, c.parent]),
    [['default', null]],
  );
  const sim = cliOk(store, ['similarity', 'cat', 'dog']) as { score: number; kind: string };
  assert.equal(sim.kind, 'similarity');
  assert.ok(sim.score > 0.5 && sim.score <= 1, `cat~dog ${sim.score}`);

  // An empty registry: the vocabulary answers, and the result says so.
  const done = cliOk(store, ['analogy', 'complete', 'man', 'king', 'woman', '--k', '3']) as {
    scope: string;
    fallback_reason: string | null;
    results: Array<{ id: string }>;
  };
  assert.equal(done.scope, 'vocabulary');
  assert.match(done.fallback_reason ?? '', /no concepts/);
  assert.ok(done.results.some((r) => r.id === 'queen'), JSON.stringify(done.results));

  // Asked for explicitly, the registry stays the registry: no silent fallback.
  const refused = cliErr(store, ['analogy', 'complete', 'man', 'king', 'woman', '--scope', 'registry']);
  assert.equal(refused.code, 'NOT_IN_VOCABULARY');
  assert.doesNotMatch(refused.message, /--scope/);
  const vocabulary = cliOk(store, ['analogy', 'complete', 'man', 'king', 'woman', '--scope', 'vocabulary', '--k', '3']);
  assert.equal(vocabulary.fallback_reason, null);
});

test('a store without the default context (made before init created it) gets it on open', async () => {
  const dir = join(tempDir(), 's');
  await (await Store.init(dir)).close();
  // Take the store back to what older versions of init left: no contexts at all.
  const db = new Database(join(dir, 'knowledge.sqlite'));
  db.prepare("DELETE FROM contexts WHERE name = 'default'").run();
  db.close();
  rmSync(join(dir, 'contexts', 'default'), { recursive: true, force: true });
  const store = await Store.open(dir);
  try {
    assert.deepEqual(
      (await store.contexts.list()).map((c) => c.name),
      ['default'],
    );
    assert.equal((await store.verify()).valid, true);
  } finally {
    await store.close();
  }
});

test('a non-empty registry does not fall back: missing terms are refused', () => {
  const store = join(tempDir(), 's');
  cliOk(store, ['init']);
  cliOk(store, ['concepts', 'add', 'cat']);
  const refused = cliErr(store, ['analogy', 'complete', 'man', 'king', 'woman']);
  assert.equal(refused.code, 'NOT_IN_VOCABULARY');
  assert.deepEqual(refused.details.words, ['man', 'king', 'woman']);
});
