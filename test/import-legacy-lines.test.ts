/**
 * `analogies import` reads the original system's line shape: `{"type":"analogy",...}` lines
 * (often with no domains or quality, with source_pair / target_pair, relation, reasoning and a
 * free-text context) and `{"type":"deletion","target_id":...}` lines. Every field outside the
 * schema is kept under metadata.legacy. The fixture holds lines copied from the original
 * system's sample store (../shared/legacy-store-sample), whose whole file is imported too when present.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cliErr, cliOk, tempDir } from './helpers.js';

const here = dirname(fileURLToPath(import.meta.url));
// From test/ (ts) or dist/test/ (compiled).
const FIXTURE = [resolve(here, 'fixtures/legacy-analogies.jsonl'), resolve(here, '../../test/fixtures/legacy-analogies.jsonl')].find((p) => existsSync(p)) as string;
const SAMPLE = '/work/shared/legacy-store-sample/storage/contexts/default/analogies.jsonl';

type Line = Record<string, unknown> & { type: string; id?: string; target_id?: string };

function linesOf(path: string): Line[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Line);
}

/** Imports the file through the CLI and checks every line's record against the line itself. */
function importAndCheck(path: string): void {
  const lines = linesOf(path);
  const store = join(tempDir(), 's');
  cliOk(store, ['init']);
  const r = cliOk(store, ['analogies', 'import', path]);
  assert.equal(r.rejected, 0);
  assert.equal(r.workflow.items_total, lines.length);
  assert.equal(r.workflow.status, 'completed');
  const deleted = new Set(lines.filter((l) => l.type === 'deletion').map((l) => l.target_id));
  const analogies = lines.filter((l) => l.type === 'analogy');
  const active = cliOk(store, ['analogies', 'query', '--limit', '100000']) as { count: number; analogies: Array<{ id: string }> };
  assert.equal(active.count, analogies.length - deleted.size);
  const byId = new Map(active.analogies.map((a) => [a.id as string, a]));
  for (const line of analogies) {
    const a = deleted.has(line.id) ? cliOk(store, ['analogies', 'get', line.id as string]) : byId.get(line.id as string);
    assert.ok(a, `${line.id} missing`);
    assert.equal(a.deleted_at !== null, deleted.has(line.id), `${line.id}: deleted or not as the file says`);
    assert.equal(a.created_at, line.created_at);
    assert.equal(a.workflow_id, r.workflow.workflow_id);
    const legacy = a.metadata.legacy as Record<string, unknown>;
    assert.equal(legacy.workflow_id, line.workflow_id, 'the original workflow id is kept');
    for (const [k, v] of Object.entries(line)) {
      if (['type', 'id', 'created_at', 'workflow_id'].includes(k)) continue;
      if (k === 'quality_score') assert.equal(a.quality_score, v);
      else assert.deepEqual(legacy[k], v, `${line.id}: ${k} kept under metadata.legacy`);
    }
    if (line.quality_score === undefined) assert.equal(legacy.quality_missing, true);
    if (Array.isArray(line.source_pair) && Array.isArray(line.target_pair)) {
      assert.deepEqual(a.concept_mappings, Object.fromEntries((line.source_pair as string[]).map((s, i) => [s, (line.target_pair as string[])[i]])));
    }
  }
}

test('analogies import of the original system\'s line shape (fixture: odd and typical lines, a deletion)', () => {
  const lines = linesOf(FIXTURE);
  assert.ok(lines.some((l) => l.type === 'deletion'));
  assert.ok(lines.some((l) => l.type === 'analogy' && l.source_domain === undefined && l.source_pair === undefined));
  importAndCheck(FIXTURE);
});

test('analogies import of the whole sample store\'s analogies.jsonl: 94 of 94 lines', { skip: !existsSync(SAMPLE) && 'no ../shared sample here' }, () => {
  assert.equal(linesOf(SAMPLE).length, 94);
  importAndCheck(SAMPLE);
});

test('rollback after import --from-legacy: the copied workflow rows are refused, the import workflows undo the migration', { skip: !existsSync(SAMPLE) && 'no ../shared sample here' }, () => {
  const store = join(tempDir(), 's');
  cliOk(store, ['init']);
  const m = cliOk(store, ['import', '--from-legacy', resolve(SAMPLE, '../../../..')]) as { workflows_imported: string[]; workflows: Array<{ workflow_id: string }> };
  assert.ok(m.workflows_imported.length > 0);
  const copied = cliErr(store, ['workflows', 'rollback', m.workflows_imported[0]]);
  assert.equal(copied.code, 'ILLEGAL_TRANSITION');
  assert.match(copied.message, /original system/);
  assert.ok(cliOk(store, ['analogies', 'query', '--limit', '100000']).count > 0);
  for (const wf of m.workflows) assert.equal(cliOk(store, ['workflows', 'rollback', wf.workflow_id]).status, 'rolled_back');
  assert.equal(cliOk(store, ['analogies', 'query', '--limit', '100000']).count, 0);
});
