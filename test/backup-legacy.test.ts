import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Store } from '../src/api/store.js';
import { countLines } from '../src/methods/knowledge/legacy.js';
import { readEmbeddingsNpz } from '../src/embeddings/npz.js';
import { encodeNpy } from '../src/embeddings/npy.js';
import { asyncErr, cli, LOOSE_LEGACY_LINES, tempDir } from './helpers.js';

const SAMPLE = '/work/shared/legacy-store-sample';

test('legacy sample: every line of every file becomes a record, a deletion, or is reported', { skip: !existsSync(SAMPLE) }, async () => {
  const root = tempDir();
  const r = cli(join(root, 's'), ['init']);
  assert.equal(r.status, 0, r.stdout);
  const m = cli(join(root, 's'), ['import', '--from-legacy', SAMPLE]);
  assert.equal(m.status, 0, m.stdout + m.stderr);
  const result = JSON.parse(m.stdout);
  const store = await Store.open(join(root, 's'));
  try {
    const jsonlPath = join(SAMPLE, 'storage/contexts/default/analogies.jsonl');
    const lines = readFileSync(jsonlPath, 'utf8').split('\n').filter((l, i, a) => i < a.length - 1 || l !== '');
    const jsonl = result.files.find((f: { kind: string }) => f.kind === 'analogies_jsonl');
    assert.equal(jsonl.units, lines.length);
    assert.equal(jsonl.units, countLines(jsonlPath));
    assert.equal(jsonl.records + jsonl.deletions + jsonl.reported.length + jsonl.blank, lines.length);
    // each line, one by one
    for (const [i, text] of lines.entries()) {
      if (text.trim() === '') continue;
      const line = JSON.parse(text);
      if (line.type === 'deletion') {
        assert.equal((await store.analogies.get(line.target_id)).deleted_at !== null, true, `line ${i + 1}`);
        continue;
      }
      const a = await store.analogies.get(line.id);
      assert.equal(a.id, line.id, `line ${i + 1}`);
      assert.equal(a.workflow_id, line.workflow_id ?? null);
      assert.equal(a.created_at, line.created_at);
      const legacy = a.metadata.legacy as Record<string, unknown>;
      if (line.quality_score === undefined) {
        assert.equal(a.quality_score, 0);
        assert.equal(legacy.quality_missing, true);
      } else assert.equal(a.quality_score, line.quality_score);
      assert.equal(a.source_domain, 'unknown');
      assert.equal(legacy.source_domain_missing, true);
      for (const k of Object.keys(line)) if (!['type', 'id', 'workflow_id', 'created_at', 'quality_score'].includes(k)) assert.deepEqual(legacy[k], line[k], `line ${i + 1} field ${k}`);
      if (Array.isArray(line.source_pair)) assert.deepEqual(Object.keys(a.concept_mappings), line.source_pair.filter((x: unknown) => typeof x === 'string'));
    }
    // the sqlite rows: same ids as the log, folded into those records
    const sqlite = result.files.find((f: { kind: string }) => f.kind === 'concepts_sqlite');
    assert.equal(sqlite.units, 94);
    assert.equal(sqlite.merged_into_log_records, 94);
    assert.equal(await store.analogies.count({}), lines.length);
    // workflows: each file one row, status preserved
    const wfDir = join(SAMPLE, 'storage/workflows/analogy_workflows');
    for (const f of readdirSync(wfDir)) {
      const wf = JSON.parse(readFileSync(join(wfDir, f), 'utf8'));
      const row = await store.workflows.get(wf.workflow_id);
      assert.equal(row.status, wf.status);
      assert.equal(row.items_total, wf.items_total);
      assert.equal(row.created_at, wf.created_at);
    }
    // embeddings: every vector of the JSON-text .npy became a concept vector of the context its id names
    const vectors = JSON.parse(readFileSync(join(SAMPLE, 'embeddings_cache/embeddings.npy'), 'utf8')) as Record<string, number[]>;
    assert.equal(result.embeddings.vectors, Object.keys(vectors).length);
    const table = readEmbeddingsNpz(join(root, 's', 'contexts', 'animal', 'embeddings.npz'));
    assert.equal(table.dimension, 300);
    const i = table.ids.indexOf('animal:lion');
    const norm = Math.hypot(...vectors['animal:lion']);
    assert.ok(Math.abs(table.vectors[i * 300] - vectors['animal:lion'][0] / norm) < 1e-6);
    assert.equal(result.files.reduce((s: number, f: { reported: unknown[] }) => s + f.reported.length, 0), 0);
    assert.equal((await store.verify()).valid, true);
  } finally {
    await store.close();
  }
});

test('legacy: loose, broken and hostile input is kept or reported, never dropped', async () => {
  const root = tempDir();
  const dir = join(root, 'legacy');
  mkdirSync(join(dir, 'contexts', 'my ctx!'), { recursive: true });
  mkdirSync(join(dir, 'workflows', 'x'), { recursive: true });
  mkdirSync(join(dir, 'embeddings_cache'), { recursive: true });
  writeFileSync(join(dir, 'contexts', 'my ctx!', 'analogies.jsonl'), LOOSE_LEGACY_LINES.join('\n'));
  symlinkSync('/etc', join(dir, 'contexts', 'evil'));
  writeFileSync(join(dir, 'workflows', 'x', 'workflow_w1.json'), JSON.stringify({ workflow_id: 'w1', workflow_type: 'odd', status: 'processing', items_total: 3 }));
  writeFileSync(join(dir, 'workflows', 'x', 'workflow_bad.json'), '{');
  writeFileSync(join(dir, 'workflows', 'x', 'workflow_w2.json'), JSON.stringify({ workflow_id: '../w2', status: 'completed' }));
  // a real NumPy .npy with ids from metadata.json
  writeFileSync(join(dir, 'embeddings_cache', 'embeddings.npy'), encodeNpy({ dtype: 'float32', shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6]) }));
  writeFileSync(join(dir, 'embeddings_cache', 'metadata.json'), JSON.stringify({ 'x:a': {}, 'x:b': {} }));
  const store = await Store.open(join(root, 's'), { create: true });
  try {
    const r = await store.importLegacy(dir);
    assert.deepEqual(r.contexts, [{ legacy: 'my ctx!', context: 'legacy_my_ctx_' }]);
    const f = r.files.find((x) => x.kind === 'analogies_jsonl');
    assert.ok(f);
    assert.equal(f.units, 9);
    assert.equal(f.blank, 1);
    assert.equal(f.records, 2);
    assert.equal(f.deletions, 2);
    assert.deepEqual(f.reported.map((x) => x.line), [3, 7, 8, 9]);
    assert.equal((f.records ?? 0) + (f.deletions ?? 0) + f.reported.length + (f.blank ?? 0), f.units);
    assert.equal((await store.analogies.get('a1', 'legacy_my_ctx_')).deleted_at !== null, true);
    assert.deepEqual(((await store.analogies.get('a1', 'legacy_my_ctx_')).metadata.legacy as Record<string, unknown>).extra, 1);
    const [other] = (await store.analogies.query({ context: 'legacy_my_ctx_', include_deleted: true })).filter((a) => a.id !== 'a1');
    const legacy = other.metadata.legacy as Record<string, unknown>;
    assert.equal(legacy.original_id, 'bad id with spaces');
    assert.equal(legacy.quality_missing, true);
    assert.deepEqual(legacy.invalid, { quality_score: 'high', tags: 'x' });
    assert.equal(r.refused.length, 1); // the deletion of an id that never existed
    assert.match(r.refused[0], /never-existed/);
    const w1 = await store.workflows.get('w1');
    assert.equal(w1.status, 'cancelled');
    assert.deepEqual((w1.metadata.legacy as Record<string, unknown>).status, 'processing');
    assert.equal(r.files.filter((x) => x.kind === 'workflow' && x.reported.length === 1).length, 2);
    assert.deepEqual(readEmbeddingsNpz(join(root, 's', 'contexts', 'x', 'embeddings.npz')).ids, ['x:a', 'x:b']);
    assert.deepEqual((await store.concepts.list('x')).map((c) => c.id), ['x:a', 'x:b']);
    assert.equal((await store.verify()).valid, true);
    assert.equal((await asyncErr(() => store.importLegacy(join(root, 'nope')))).code, 'FILE_NOT_FOUND');
    assert.equal((await asyncErr(() => store.importLegacy(root))).code, 'INVALID_INPUT');
  } finally {
    await store.close();
  }
});
