/**
 * No search waits on an index build: after a batch import the context has an up-to-date exact
 * index at once; a long-lived process builds the HNSW graph in a worker thread and the next search
 * adopts it with the changes made meanwhile; `rebuild` builds the graph itself; the CLI never
 * builds one on a search.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Store } from '../src/api/store.js';
import { EXACT_THRESHOLD } from '../src/embeddings/vector-index.js';
import { setBackgroundIndexBuilds } from '../src/methods/embeddings/index-background.js';
import { cliOk, tempDir, writeJsonl } from './helpers.js';

const N = EXACT_THRESHOLD + 500;

async function importMany(store: Store, dir: string, context: string): Promise<void> {
  const file = writeJsonl(join(dir, `${context}.jsonl`), Array.from({ length: N }, (_, i) => ({ name: `thing ${i} kind${i % 37}` })));
  const r = await store.concepts.import(file, { context, provider: 'hash' });
  assert.equal(r.imported, N);
}

test('after a batch import the index is exact and current; searches find the imported concepts (no background builds)', async () => {
  setBackgroundIndexBuilds(false);
  const dir = tempDir();
  const store = await Store.init(join(dir, 's'));
  await importMany(store, dir, 'c');
  assert.deepEqual([(await store.embeddings.index('c'))?.kind, (await store.embeddings.index('c'))?.size], ['exact', N]);
  const hits = await store.concepts.similar('thing 17 kind17', { context: 'c', k: 5 });
  assert.equal(hits.results.length, 5);
  // The concept itself is excluded from its own neighbours; its name-mates by vector come first.
  assert.ok(hits.results.every((h) => h.id !== 'c:thing_17_kind17'));
  // Still exact after the search: nothing was built while the caller waited.
  assert.equal((await store.embeddings.index('c'))?.kind, 'exact');
  // rebuild builds the graph.
  await store.rebuild();
  assert.deepEqual([(await store.embeddings.index('c'))?.kind, (await store.embeddings.index('c'))?.size], ['hnsw', N]);
  await store.close();
  // The CLI (another process) reads the graph rebuild saved.
  assert.equal(cliOk(join(dir, 's'), ['embeddings', 'info', '--context', 'c']).index.kind, 'hnsw');
});

test('a long-lived process builds the graph in the background and adopts it with the changes made meanwhile', async () => {
  setBackgroundIndexBuilds(true);
  try {
    const dir = tempDir();
    const store = await Store.init(join(dir, 's'));
    await importMany(store, dir, 'c');
    // Answered at once from the exact index while the graph builds.
    assert.equal((await store.embeddings.index('c'))?.kind, 'exact');
    const before = await store.concepts.similar('thing 3 kind3', { context: 'c', k: 3 });
    assert.equal(before.results.length, 3);
    // Changes while the worker builds: one concept added, one deleted.
    await store.concepts.add({ name: 'late arrival' }, { context: 'c' });
    await store.concepts.delete('c:thing_5_kind5');
    await store.embeddings.indexBuilt('c');
    const after = await store.concepts.similar('late arrival', { context: 'c', k: 3 });
    assert.equal(after.results.length, 3);
    const info = await store.embeddings.index('c');
    assert.deepEqual([info?.kind, info?.size], ['hnsw', N]);
    // The late concept is in the graph (its own name finds it); the deleted one is not.
    const self = (await store.concepts.similar('late arrival thing', { context: 'c', k: 20 })).results.map((h) => h.id);
    assert.ok(self.includes('c:late_arrival'));
    const deleted = (await store.concepts.similar('thing 5 kind5 x', { context: 'c', k: 50 })).results.map((h) => h.id);
    assert.ok(!deleted.includes('c:thing_5_kind5'));
    await store.close();
    // Saved: another process loads the graph.
    assert.equal(cliOk(join(dir, 's'), ['embeddings', 'info', '--context', 'c']).index.kind, 'hnsw');
  } finally {
    setBackgroundIndexBuilds(false);
  }
});
