/**
 * Registry state: a context's whole knowledge base (concepts with vectors, frames, relations,
 * instances, clusters, fields, analogies, embeddings) answers every query identically after the
 * store is closed and reopened by a fresh Store (and a fresh process, through the CLI), and after
 * `rebuild` recreated the index database and the vector indexes from the logs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Store } from '../src/api/store.js';
import { readEmbeddingsNpz } from '../src/embeddings/index.js';
import { cliOk, tempDir, useTestGloveCache, writeJsonl } from './helpers.js';

useTestGloveCache();

const WORDS = ['king', 'queen', 'prince', 'princess', 'ceo', 'chairman', 'executive', 'company', 'dog', 'cat', 'horse', 'joy', 'anger', 'fear'];

async function snapshot(store: Store, dir: string): Promise<unknown> {
  const npz = join(dir, `snap-${Math.random()}.npz`);
  await store.embeddings.export(npz, 'kb');
  const table = readEmbeddingsNpz(npz);
  return {
    settings: await store.embeddings.settings('kb'),
    concepts: await store.concepts.list('kb', { includeDeleted: true }),
    search: (await store.concepts.search('a', { context: 'kb' })).map((c) => c.id),
    similar: await Promise.all(WORDS.slice(0, 5).map((w) => store.concepts.similar(w, { context: 'kb', k: 4 }))),
    similarity: await store.embeddings.similarity('king', 'queen', { context: 'kb', method: 'hybrid' }),
    complete: await store.embeddings.complete('king', 'queen', 'prince', { context: 'kb', k: 3 }),
    frames: await store.frames.list('kb'),
    frame: await store.frames.get('Rule', 'kb'),
    instances: await store.frames.instances('Rule', 'kb'),
    query: await store.frames.query({ context: 'kb', concept: 'kb:king:king.n.01' }),
    fields: await store.fields.list('kb'),
    analogies: await store.analogies.query({ context: 'kb', limit: 1000 }),
    analogy_count: await store.analogies.count({ context: 'kb' }),
    embeddings: { ids: table.ids, vectors: Array.from(table.vectors) },
  };
}

test('the knowledge base of a context reloads and rebuilds identically', async () => {
  const dir = tempDir();
  const path = join(dir, 's');
  const store = await Store.init(path);
  await store.concepts.import(
    writeJsonl(
      join(dir, 'c.jsonl'),
      WORDS.map((name) => (['king', 'queen', 'dog'].includes(name) ? { name, synset: 'auto' } : { name, description: `the ${name}` })),
    ),
    { context: 'kb' },
  );
  await store.concepts.add({ name: 'temp' }, { context: 'kb' });
  await store.concepts.delete('kb:temp');
  writeFileSync(
    join(dir, 'f.json'),
    JSON.stringify({
      frames: [
        { name: 'Rule', core_elements: [{ name: 'Ruler' }, { name: 'Domain' }] },
        { name: 'Lead', core_elements: [{ name: 'Leader' }] },
      ],
      relations: [{ source: 'Lead', target: 'Rule', type: 'see_also', element_mappings: { Leader: 'Ruler' } }],
      instances: [{ instance_id: 'r1', frame_name: 'Rule', element_bindings: { Ruler: 'kb:king:king.n.01', Domain: 'kb:company' } }],
    }),
  );
  await store.frames.add(join(dir, 'f.json'), { context: 'kb' });
  await store.fields.discover({ context: 'kb', k: 3 });
  await store.fields.crossDomain({ context: 'kb', minQuality: 0.1 });
  await store.analogies.save({ source_domain: 'royalty', target_domain: 'business', quality_score: 0.8, concept_mappings: { king: 'ceo' } }, 'kb');
  const before = await snapshot(store, dir);
  await store.close();

  const reopened = await Store.open(path);
  assert.deepEqual(await snapshot(reopened, dir), before);

  // a fresh process answers the same
  const viaCli = cliOk(path, ['concepts', 'similar', 'king', '--context', 'kb', '--k', '4']);
  assert.deepEqual(viaCli, (before as { similar: unknown[] }).similar[0]);
  assert.equal(cliOk(path, ['frames', 'instances', 'Rule', '--context', 'kb']).count, 1);

  await reopened.rebuild();
  assert.deepEqual(await snapshot(reopened, dir), before);
  await reopened.close();
  const afterRebuild = await Store.open(path);
  assert.deepEqual(await snapshot(afterRebuild, dir), before);
  await afterRebuild.close();
});
