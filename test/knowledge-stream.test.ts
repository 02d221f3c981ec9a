/**
 * Streaming every entity kind (concept, frame, frame_relation, frame_instance, cluster,
 * semantic_field) through the library and the CLI: active records only, in log order, the same
 * as the kind's list, and bad kinds refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Store } from '../src/api/store.js';
import { SoftlogicError } from '../src/core/errors.js';
import { cli, tempDir, collect } from './helpers.js';

const FRAMES = {
  frames: [
    { name: 'Motion', definition: 'something moves', core_elements: [{ name: 'Theme' }], peripheral_elements: [{ name: 'Path' }] },
    { name: 'Travel', inherits_from: ['Motion'], core_elements: [{ name: 'Traveler' }] },
  ],
  relations: [{ source: 'Travel', target: 'Motion', type: 'inherits_from', element_mappings: { Traveler: 'Theme' } }],
  instances: [
    { instance_id: 'i1', frame_name: 'Travel', element_bindings: { Traveler: 'k:walker', Theme: 'k:stone' }, confidence: 0.8 },
    { instance_id: 'i2', frame_name: 'Motion', element_bindings: { Theme: 'k:stone' }, confidence: 0.5 },
  ],
};

test('library and CLI: every entity kind streams its active records', async () => {
  const dir = tempDir();
  const storeDir = join(dir, 's');
  const store = await Store.init(storeDir);
  const names = ['walker', 'stone', 'river', 'cloud', 'apple', 'pear', 'plum', 'car', 'bus', 'train'];
  for (const name of names) await store.concepts.add({ name }, { provider: 'hash', context: 'k' });
  await store.concepts.delete('k:river', 'k');
  const file = join(dir, 'frames.json');
  writeFileSync(file, JSON.stringify(FRAMES));
  await store.frames.add(file, { context: 'k' });
  await store.fields.discover({ context: 'k', k: 2 });

  const concepts = (await collect(store.stream<{ id: string; deleted_at: string | null }>('concept', 'k')));
  assert.equal(concepts.length, names.length - 1);
  assert.ok(concepts.every((c) => c.deleted_at === null));
  assert.ok(!concepts.some((c) => c.id === 'k:river'));
  assert.deepEqual(concepts.map((c) => c.id).sort(), (await store.concepts.list('k')).map((c) => c.id).sort());

  const counts: Record<string, number> = {};
  for (const kind of ['frame', 'frame_relation', 'frame_instance', 'cluster', 'semantic_field']) counts[kind] = (await collect(store.stream(kind, 'k'))).length;
  assert.deepEqual({ frame: counts.frame, frame_relation: counts.frame_relation, frame_instance: counts.frame_instance }, { frame: 2, frame_relation: 1, frame_instance: 2 });
  assert.equal(counts.cluster, 2);
  assert.equal(counts.semantic_field, (await store.fields.list('k')).fields.length);
  await assert.rejects(() => collect(store.stream('frame', 'nowhere')), (e: unknown) => e instanceof SoftlogicError && e.code === 'CONTEXT_NOT_FOUND', 'an unknown context is no empty success');
  await assert.rejects(() => collect(store.stream('analogy', 'k')), (e: unknown) => e instanceof SoftlogicError && e.code === 'INVALID_INPUT');
  await assert.rejects(() => collect(store.stream('concept', '../x')), (e: unknown) => e instanceof SoftlogicError && e.code === 'INVALID_NAME');
  await store.close();

  for (const [kind, n] of Object.entries({ concept: names.length - 1, ...counts })) {
    const r = cli(storeDir, ['stream', kind, '--context', 'k']);
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { deleted_at: string | null });
    assert.equal(lines.length, n, kind);
    assert.ok(lines.every((l) => l.deleted_at === null));
  }
  const bad = cli(storeDir, ['stream', 'gadget']);
  assert.equal(bad.status, 2);
  assert.equal((JSON.parse(bad.stdout) as { error: { code: string } }).error.code, 'INVALID_INPUT');
});
