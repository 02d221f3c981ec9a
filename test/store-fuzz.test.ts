import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fuzz } from './fuzz-harness.js';
import { tempDir } from './helpers.js';

// A fixed seed: the same damage on every run (a longer run: npm run bench -- fuzz --cases N --seed S).
test('fuzz: damaged logs and backups fail only with catalogued errors, never serve a failing line, never lose an intact one unasked', { timeout: 120_000 }, async () => {
  const stats = await fuzz(tempDir(), 20261127, 24, 16);
  assert.equal(stats.cases, 40);
  assert.ok(stats.opened > 0 && stats.restores_refused > 0, JSON.stringify(stats));
});
