import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SoftlogicError } from '../src/core/errors.js';
import { kmeans } from '../src/reasoning/kmeans.js';
import { createRng } from '../src/reasoning/random.js';
import { buildClusters, commonHypernym, semanticFields } from '../src/reasoning/semantic-fields.js';
import { wordnet } from '../src/reasoning/wordnet.js';

const DOMAINS: Record<string, string[]> = {
  animal: ['dog', 'cat', 'horse', 'cow', 'lion', 'sheep', 'wolf', 'rabbit'],
  vehicle: ['car', 'truck', 'bicycle', 'motorcycle', 'airplane', 'boat', 'bus', 'train'],
  emotion: ['joy', 'anger', 'fear', 'love', 'hate', 'sadness', 'surprise', 'disgust'],
};

/** Stand-in embeddings: a direction per domain plus noise (the real ones come from src/embeddings). */
function domainVectors(dim = 32, noise = 0.35) {
  const rng = createRng(5);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
  const ids: string[] = [];
  const labels: string[] = [];
  const rows: number[] = [];
  for (const [domain, words] of Object.entries(DOMAINS)) {
    const centre = Array.from({ length: dim }, gauss);
    for (const w of words) {
      ids.push(w);
      labels.push(domain);
      for (let j = 0; j < dim; j++) rows.push(centre[j] + noise * gauss());
    }
  }
  return { ids, labels, matrix: { data: Float32Array.from(rows), n: ids.length, dim } };
}

const wn = wordnet();
const paths = (id: string): string[][] | undefined => {
  const s = wn.mostFrequentSense(id, 'n');
  return s ? wn.hypernymPaths(s.id) : undefined;
};

test('fields recover three WordNet domains and are named after a shared hypernym', () => {
  const { ids, labels, matrix } = domainVectors();
  const result = kmeans(matrix, { k: 3 });
  const fields = semanticFields(ids, result, { hypernymPaths: paths });
  assert.equal(fields.length, 3);
  let pure = 0;
  for (const f of fields) {
    const members = [...f.core_concepts, ...Object.keys(f.related_concepts)];
    const counts = new Map<string, number>();
    for (const m of members) {
      const l = labels[ids.indexOf(m)];
      counts.set(l, (counts.get(l) ?? 0) + 1);
    }
    pure += Math.max(...counts.values());
    assert.ok(f.core_concepts.length >= 1);
    assert.ok(f.coherence > 0 && f.coherence <= 1);
    assert.equal(f.domain, f.name);
  }
  assert.ok(pure / ids.length >= 0.9, `purity ${pure / ids.length}`);
  const names = fields.map((f) => f.name).sort();
  assert.equal(names.length, 3);
  assert.ok(names.some((n) => ['emotion', 'feeling'].includes(n)), names.join(','));
  assert.ok(names.some((n) => ['vehicle', 'wheeled vehicle', 'conveyance'].includes(n)), names.join(','));
  assert.ok(names.some((n) => ['placental', 'mammal', 'animal', 'vertebrate'].includes(n)), names.join(','));
  for (const f of fields) assert.match(f.hypernym ?? '', /\.n\.\d\d$/);
});

test('without grounding a field is named after its strongest member; min coherence filters', () => {
  const { ids, matrix } = domainVectors();
  const result = kmeans(matrix, { k: 3 });
  const fields = semanticFields(ids, result, { domain: 'demo' });
  for (const f of fields) {
    assert.equal(f.name, f.core_concepts[0]);
    assert.equal(f.domain, 'demo');
    assert.equal(f.hypernym, undefined);
    for (const s of Object.values(f.related_concepts)) assert.ok(s <= result.coherence[Number(f.cluster_id.split('_')[1])] + 1e-6);
  }
  assert.deepEqual(semanticFields(ids, result, { minCoherence: 1.01 }), []);
  const clusters = buildClusters(ids, result);
  assert.equal(clusters.length, 3);
  assert.equal(Object.keys(clusters.flatMap((c) => Object.keys(c.members))).length, ids.length);
  for (const c of clusters) {
    assert.equal(c.centroid.length, matrix.dim);
    assert.ok(c.distinctiveness > 0 && c.distinctiveness <= 1);
    assert.match(c.cluster_id, /^cluster_\d$/);
  }
});

test('commonHypernym needs coverage and depth; mismatched input is refused', () => {
  assert.equal(commonHypernym(['joy', 'anger', 'fear'], paths), 'emotion.n.01');
  // Too generic (only entity shared by all, nothing deep by 60%) -> no name from WordNet.
  assert.equal(commonHypernym(['dog', 'car', 'joy', 'love'], paths), undefined);
  // Mostly ungrounded members -> no name from WordNet.
  assert.equal(commonHypernym(['joy', 'x1', 'x2'], (id) => (id === 'joy' ? paths(id) : undefined)), undefined);
  const { ids, matrix } = domainVectors();
  const result = kmeans(matrix, { k: 3 });
  assert.throws(() => semanticFields(ids.slice(1), result), (e: unknown) => e instanceof SoftlogicError && e.code === 'INVALID_INPUT');
});
