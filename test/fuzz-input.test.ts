/**
 * The input parsers under random damage and crafted hostile inputs, with a fixed seed and a
 * few seconds' budget (the long run: `npm run bench -- fuzz-input`). See fuzz-input-harness.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fuzzInputs } from './fuzz-input-harness.js';

test('input parsers: only catalogued refusals, each case fast, memory bounded (seed 13)', async () => {
  const report = await fuzzInputs({ seed: 13, cases: 400, maxCaseMs: 2000 });
  assert.deepEqual(report.failures, []);
  for (const parser of ['lines', 'npz', 'frames', 'backup']) assert.ok((report.cases[parser] ?? 0) >= 100, `${parser}: ${report.cases[parser]} cases`);
  // the damage does reach the refusals (not everything accepted, not everything refused the same way)
  assert.ok(Object.keys(report.refused.npz ?? {}).length >= 2, JSON.stringify(report.refused.npz));
  assert.ok((report.refused.frames?.INVALID_INPUT ?? 0) > 10, JSON.stringify(report.refused.frames));
  assert.ok((report.refused.backup?.BACKUP_INVALID ?? 0) > 50, JSON.stringify(report.refused.backup));
  assert.ok(report.rss_growth_mb < 300, `RSS grew ${report.rss_growth_mb} MB`);
});
