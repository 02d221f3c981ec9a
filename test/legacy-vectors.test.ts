/**
 * Migrated vectors are concept vectors: `import --from-legacy` puts every legacy vector into a
 * concept, `concepts similar` finds them, `embeddings export` writes all of them and never
 * shrinks the store's copy, and `embeddings import` takes ids of any context (`animal:lion`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readEmbeddingsNpz, writeEmbeddingsNpz } from '../src/embeddings/npz.js';
import { openStore } from '../src/index.js';
import { cliErr, cliOk, tempDir } from './helpers.js';

// CI has shared/ beside the clone; a worktree of /work/main finds it at /work/shared.
const CANDIDATES = [resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'shared', 'legacy-store-sample'), '/work/shared/legacy-store-sample'];
const SAMPLE = CANDIDATES.find((p) => existsSync(p)) ?? CANDIDATES[0];
const skip = !existsSync(SAMPLE) && `no legacy sample at ${CANDIDATES.join(' or ')}`;

function unit(v: number[] | Float32Array): number[] {
  const n = Math.hypot(...v);
  return [...v].map((x) => x / n);
}

test('legacy vectors become concept vectors; export writes them all; an export imports into any other context', { skip }, async () => {
  const legacy = JSON.parse(readFileSync(join(SAMPLE, 'embeddings_cache', 'embeddings.npy'), 'utf8')) as Record<string, number[]>;
  const legacyIds = Object.keys(legacy);
  assert.equal(legacyIds.length, 133);
  const dir = tempDir();
  const store = join(dir, 's');
  cliOk(store, ['init']);
  const r = cliOk(store, ['import', '--from-legacy', SAMPLE]) as { embeddings: { vectors: number; contexts: Array<{ context: string; vectors: number }> } };
  assert.equal(r.embeddings.vectors, 133);

  // Every legacy vector is a concept's vector (normalised), found through the public interfaces:
  // the CLI for the first context, the library (one process, not two CLI runs per context) for the others.
  let concepts = 0;
  let exported = 0;
  const seen = new Set<string>();
  const check = (context: string, vectors: number, list: { count: number }, e: { count: number; store_copy: string }, out: string) => {
    assert.equal(list.count, vectors, `concepts of ${context}`);
    concepts += list.count;
    assert.equal(e.count, vectors);
    exported += e.count;
    const table = readEmbeddingsNpz(out);
    assert.equal(readEmbeddingsNpz(e.store_copy).ids.length, vectors, 'the store copy holds every vector');
    table.ids.forEach((id, i) => {
      // Same id, or (a legacy context name the store refuses) same name under a legacy_* context.
      const got = table.vectors.subarray(i * 300, (i + 1) * 300);
      const rest = id.slice(id.indexOf(':') + 1);
      const match = legacyIds.find(
        (l) => !seen.has(l) && (l === id || (id.startsWith('legacy_') && l.slice(l.indexOf(':') + 1) === rest)) && unit(legacy[l]).every((x, j) => Math.abs(x - got[j]) < 1e-5),
      );
      assert.ok(match, `${id}: no legacy vector equal to it`);
      seen.add(match);
    });
    // metadata.json says where the vectors came from and their settings, no count to go stale
    const meta = JSON.parse(readFileSync(join(store, 'contexts', context, 'metadata.json'), 'utf8')) as Record<string, { count?: number; dimension?: number }>;
    assert.equal(meta.embedding?.dimension, 300);
    assert.equal(meta.embeddings, undefined, 'no separate vector count beside the concepts');
  };
  const [first, ...others] = r.embeddings.contexts;
  assert.ok(others.length > 0);
  const firstOut = join(dir, `${first.context}.npz`);
  check(
    first.context,
    first.vectors,
    cliOk(store, ['concepts', 'list', '--context', first.context, '--limit', '1000']),
    cliOk(store, ['embeddings', 'export', '--out', firstOut, '--context', first.context]),
    firstOut,
  );
  const lib = await openStore(store);
  try {
    for (const { context, vectors } of others) {
      const out = join(dir, `${context}.npz`);
      check(context, vectors, { count: (await lib.concepts.list(context, { limit: 1000 })).length }, await lib.embeddings.export(out, context), out);
    }
  } finally {
    await lib.close();
  }
  assert.equal(concepts, 133);
  assert.equal(exported, 133);
  assert.equal(seen.size, 133, 'each legacy vector is exactly one concept vector');

  const similar = cliOk(store, ['concepts', 'similar', 'lion', '--context', 'animal', '--k', '3']) as { results: Array<{ id: string }> };
  assert.equal(similar.results.length, 3);
  assert.ok(similar.results.every((x) => x.id.startsWith('animal:') && x.id !== 'animal:lion'));

  // An export of one context imports into another: `animal:lion` -> `zoo:lion`.
  const animal = join(dir, 'animal.npz');
  const into = cliOk(store, ['embeddings', 'import', animal, '--context', 'zoo']) as { count: number; created: number };
  assert.equal(into.created, into.count);
  const zoo = cliOk(store, ['concepts', 'list', '--context', 'zoo']) as { concepts: Array<{ id: string }> };
  assert.deepEqual(
    zoo.concepts.map((c) => c.id).sort(),
    readEmbeddingsNpz(animal)
      .ids.map((id) => `zoo:${id.slice(id.indexOf(':') + 1)}`)
      .sort(),
  );
  // Importing it again updates the same concepts (no duplicates).
  const again = cliOk(store, ['embeddings', 'import', animal, '--context', 'zoo']) as { created: number; updated: number };
  assert.equal(again.created, 0);
  assert.equal((cliOk(store, ['concepts', 'list', '--context', 'zoo']) as { count: number }).count, zoo.concepts.length);
  assert.equal(cliOk(store, ['verify']).valid, true);
});

test('embeddings import maps ids of any context; two ids for one concept are refused whole', () => {
  const dir = tempDir();
  const store = join(dir, 's');
  cliOk(store, ['init']);
  const file = join(dir, 'v.npz');
  writeEmbeddingsNpz(file, { ids: ['animal:lion', 'world:airplane', 'ice cream', 'royalty:king:king.n.01'], dimension: 3, vectors: new Float32Array([1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 0]) });
  const r = cliOk(store, ['embeddings', 'import', file, '--context', 'mixed']) as { count: number; created: number };
  assert.equal(r.count, 4);
  const ids = (cliOk(store, ['concepts', 'list', '--context', 'mixed']) as { concepts: Array<{ id: string }> }).concepts.map((c) => c.id).sort();
  assert.deepEqual(ids, ['mixed:airplane', 'mixed:ice_cream', 'mixed:king:king.n.01', 'mixed:lion']);

  const clash = join(dir, 'clash.npz');
  writeEmbeddingsNpz(clash, { ids: ['a:lion', 'b:lion'], dimension: 3, vectors: new Float32Array([1, 0, 0, 0, 1, 0]) });
  const e = cliErr(store, ['embeddings', 'import', clash, '--context', 'other']);
  assert.equal(e.code, 'INVALID_INPUT');
  assert.match(e.message, /both name concept other:lion/);
  assert.equal(cliErr(store, ['concepts', 'list', '--context', 'other']).code, 'CONTEXT_NOT_FOUND', 'nothing was written');
});

test('embeddings export never overwrites the store copy with fewer vectors', () => {
  const dir = tempDir();
  const store = join(dir, 's');
  cliOk(store, ['init']);
  const file = join(dir, 'v.npz');
  writeEmbeddingsNpz(file, { ids: ['lion', 'tiger'], dimension: 3, vectors: new Float32Array([1, 0, 0, 0, 1, 0]) });
  cliOk(store, ['embeddings', 'import', file]);
  // A store copy holding vectors that are no concepts (as an earlier version's migration left it).
  const copy = join(store, 'contexts', 'default', 'embeddings.npz');
  writeEmbeddingsNpz(copy, { ids: ['default:lion', 'default:tiger', 'animal:wolf'], dimension: 3, vectors: new Float32Array([1, 0, 0, 0, 1, 0, 0, 0, 1]) });
  const before = statSync(copy).mtimeMs;
  const e = cliErr(store, ['embeddings', 'export', '--out', join(dir, 'out.npz')]);
  assert.equal(e.code, 'CONFLICT');
  assert.equal(readEmbeddingsNpz(copy).ids.length, 3, 'the copy is untouched');
  assert.equal(statSync(copy).mtimeMs, before);
  // Imported as concepts, they export.
  cliOk(store, ['embeddings', 'import', copy]);
  const ok = cliOk(store, ['embeddings', 'export', '--out', join(dir, 'out2.npz')]) as { count: number };
  assert.equal(ok.count, 3);
  assert.equal(readEmbeddingsNpz(copy).ids.length, 3);
});
