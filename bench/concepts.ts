/**
 * Concept batch benchmark: `npm run bench -- concepts [--n 100000] [--glove-n 50000] [--fields-n 10000]`.
 * Times `concepts import` end to end (staging a JSON-lines file, processing the concept_batch
 * workflow with vectors, syncing the vector cache and index) with the hash and the GloVe provider,
 * then `fields discover` (k-means + storing clusters/fields) over 10,000 GloVe concepts.
 * After each import: the first `similar` query (exact, the graph not built yet), the slowest
 * query while a worker thread builds the HNSW graph, when the graph is ready, and as baseline the
 * synchronous graph build the first search used to wait for.
 * Targets: >= 20,000 concepts/s (hash), >= 5,000/s (glove), fields discover < 10 s, first query
 * < 100 ms, graph ready within the synchronous build's time.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Store } from '../src/api/store.js';
import { createProvider, type GloveProvider } from '../src/embeddings/index.js';
import { argValue, cleanup, report, scratchDir } from './util.js';
import { setBackgroundIndexBuilds } from '../src/methods/embeddings/index-background.js';

async function timeImport(provider: 'hash' | 'glove', names: string[]): Promise<Record<string, unknown>> {
  const dir = scratchDir(`concepts-${provider}`);
  try {
    const file = join(dir, 'concepts.jsonl');
    writeFileSync(file, names.map((name, i) => JSON.stringify(i % 10 === 0 ? { name, description: `item ${i}` } : { name })).join('\n') + '\n');
    const store = await Store.init(join(dir, 'store'));
    // A long-lived process, like the service: the HNSW graph is built in a worker thread.
    setBackgroundIndexBuilds(true);
    const t0 = performance.now();
    const r = await store.concepts.import(file, { provider, context: 'bench' });
    const seconds = (performance.now() - t0) / 1000;
    const imported = performance.now();
    const t1 = performance.now();
    const similar = await store.concepts.similar(names[0], { context: 'bench', k: 10 });
    const firstQueryMs = performance.now() - t1;
    const t2 = performance.now();
    await store.concepts.similar(names[1], { context: 'bench', k: 10 });
    const secondQueryMs = performance.now() - t2;
    const kindWhileBuilding = (await store.embeddings.index('bench'))?.kind;
    // Queries keep answering while the graph builds (one a second): the slowest of those made meanwhile.
    let slowestMeanwhileMs = 0;
    let meanwhile = 0;
    const built = store.embeddings.indexBuilt('bench').then(() => performance.now());
    let done = false;
    void built.then(() => (done = true));
    while (!done) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const t = performance.now();
      await store.concepts.similar(names[(meanwhile * 7919) % names.length], { context: 'bench', k: 10 });
      slowestMeanwhileMs = Math.max(slowestMeanwhileMs, performance.now() - t);
      meanwhile++;
    }
    const backgroundSeconds = ((await built) - imported) / 1000;
    const t3 = performance.now();
    await store.concepts.similar(names[2], { context: 'bench', k: 10 });
    const graphQueryMs = performance.now() - t3;
    const index = await store.embeddings.index('bench');
    setBackgroundIndexBuilds(false);
    // Baseline: what the first search used to wait for, a synchronous build of the graph.
    const t4 = performance.now();
    await store.rebuildVectorIndexes();
    const syncBuildSeconds = (performance.now() - t4) / 1000;
    await store.close();
    return {
      provider,
      concepts: r.imported,
      seconds: Math.round(seconds * 1000) / 1000,
      concepts_per_second: Math.round(r.imported / seconds),
      first_similar_query_ms: Math.round(firstQueryMs * 10) / 10,
      second_similar_query_ms: Math.round(secondQueryMs * 10) / 10,
      index_kind_while_building: kindWhileBuilding,
      queries_while_building: meanwhile,
      slowest_query_while_building_ms: Math.round(slowestMeanwhileMs * 10) / 10,
      background_graph_ready_s_after_import: Math.round(backgroundSeconds * 100) / 100,
      query_on_graph_ms: Math.round(graphQueryMs * 10) / 10,
      index_kind: index?.kind,
      baseline_synchronous_graph_build_s: Math.round(syncBuildSeconds * 100) / 100,
      similar_hits: similar.results.length,
    };
  } finally {
    cleanup(dir);
  }
}

export default async function run(args: string[]): Promise<void> {
  const n = argValue(args, 'n', 100_000);
  const gloveN = argValue(args, 'glove-n', 50_000);
  const fieldsN = argValue(args, 'fields-n', 10_000);
  const hashNames = Array.from({ length: n }, (_, i) => `concept ${i} item${i % 977}`);
  const glove = createProvider({ name: 'glove' }) as GloveProvider;
  const words = glove.vocabulary.filter((w) => /^[a-z][a-z0-9_.-]*$/.test(w));
  const gloveNames = words.slice(100, 100 + gloveN);
  const hash = await timeImport('hash', hashNames);
  const gl = await timeImport('glove', gloveNames);

  const dir = scratchDir('concepts-fields');
  let fields: Record<string, unknown>;
  try {
    const file = join(dir, 'c.jsonl');
    writeFileSync(file, words.slice(200, 200 + fieldsN).map((name) => JSON.stringify({ name })).join('\n') + '\n');
    const store = await Store.init(join(dir, 'store'));
    await store.concepts.import(file, { provider: 'glove' });
    const t0 = performance.now();
    const r = await store.fields.discover({ k: 20 });
    fields = { concepts: r.concepts, k: 20, seconds: Math.round(performance.now() - t0) / 1000, iterations: r.iterations, fields: r.fields.length };
    await store.close();
  } finally {
    cleanup(dir);
  }
  report('concepts', {
    hash,
    glove: gl,
    fields_discover: fields,
    targets: { hash_per_second: 20_000, glove_per_second: 5_000, fields_seconds: 10 },
    ok: (hash.concepts_per_second as number) >= 20_000 && (gl.concepts_per_second as number) >= 5_000 && (fields.seconds as number) < 10,
  });
}
