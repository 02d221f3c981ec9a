import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SoftlogicError } from '../src/core/errors.js';
import { normalizeLemma, parseSynsetId, WordNet, wordnet } from '../src/reasoning/wordnet.js';

const wn = wordnet();

function code(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    assert.ok(err instanceof SoftlogicError, `expected a SoftlogicError, got ${String(err)}`);
    return err.code;
  }
}

test('first lookup on a fresh reader is fast (index loaded lazily, synset read by offset)', () => {
  const fresh = new WordNet();
  const t0 = performance.now();
  const s = fresh.synset('king.n.01');
  const ms = performance.now() - t0;
  assert.equal(s.id, 'king.n.01');
  // A margin a loaded 2-core machine keeps: reading the whole database instead takes far longer.
  assert.ok(ms < 10_000, `first lookup took ${ms.toFixed(0)} ms`);
  fresh.close();
});

test('king.n.01: gloss, synonyms, hypernym, offset from the real files', () => {
  const s = wn.synset('king.n.01');
  assert.equal(s.pos, 'n');
  assert.match(s.gloss, /male sovereign/);
  assert.match(s.definition, /male sovereign/);
  assert.deepEqual(s.lemmas, ['king', 'male_monarch', 'Rex']);
  assert.deepEqual(s.hypernyms, ['sovereign.n.01']);
  assert.equal(s.offset, 10251212);
});

test('dog.n.01: hypernyms include canine.n.02; examples split from definition', () => {
  const s = wn.synset('dog.n.01');
  assert.ok(s.hypernyms.includes('canine.n.02'), s.hypernyms.join(','));
  assert.ok(s.hypernyms.includes('domestic_animal.n.01'));
  assert.deepEqual(s.examples, ['the dog barked all night']);
  assert.ok(!s.definition.includes('"'));
  // The hypernym id resolves back to a synset naming the same thing.
  assert.equal(wn.synset('canine.n.02').lemmas[0], 'canine');
});

test('lookups are case-insensitive, accept spaces, and keep index (frequency) order', () => {
  assert.deepEqual(
    wn.synsets('Ice Cream').map((s) => s.id),
    ['ice_cream.n.01'],
  );
  const banks = wn.synsets('bank', 'noun');
  assert.equal(banks[0].id, 'bank.n.01');
  // As in NLTK, a synset is named after its first lemma: bank.n.02 resolves to that name.
  assert.equal(banks[1].id, 'depository_financial_institution.n.01');
  assert.equal(wn.synset('bank.n.02').id, banks[1].id);
  assert.ok(banks.every((s) => s.pos === 'n'));
  assert.equal(wn.synset('KING.n.01').id, 'king.n.01');
  assert.equal(normalizeLemma('  New   York '), 'new_york');
  assert.deepEqual(wn.synsets('no-such-word-xyz'), []);
});

test('synsets by part of speech: verbs, adjective satellites', () => {
  assert.ok(wn.synsets('run', 'v').length > 10);
  const emergent = wn.synsets('emergent', 'a').map((s) => s.id);
  assert.deepEqual(emergent, ['emergent.s.01', 'emergent.s.02']);
  // NLTK treats a and s alike in ids.
  assert.equal(wn.synset('emergent.a.01').id, 'emergent.s.01');
  // Adjective markers such as "(ip)" are not part of a lemma.
  assert.ok(wn.synsets('galore', 's')[0].lemmas.includes('galore'));
});

test('mostFrequentSense picks sense 01, nouns first; unknown lemma gives undefined', () => {
  assert.equal(wn.mostFrequentSense('bank')?.id, 'bank.n.01');
  assert.equal(wn.mostFrequentSense('run', 'v')?.id, 'run.v.01');
  assert.equal(wn.mostFrequentSense('qwertyuiop'), undefined);
});

test('unknown or malformed synset ids are clear errors', () => {
  assert.equal(code(() => wn.synset('king.n.99')), 'NOT_FOUND');
  assert.equal(code(() => wn.synset('notaword.n.01')), 'NOT_FOUND');
  assert.equal(code(() => wn.synset('king')), 'INVALID_INPUT');
  assert.equal(code(() => wn.synset('king.x.01')), 'INVALID_INPUT');
  assert.equal(code(() => wn.synset('king.n.00')), 'INVALID_INPUT');
  assert.equal(code(() => parseSynsetId('')), 'INVALID_INPUT');
  assert.equal(code(() => wn.synsets('king', 'q')), 'INVALID_INPUT');
  assert.throws(() => wn.synset('king.n.99'), /has 10 sense/);
  assert.equal(wn.hasSynset('king.n.01'), true);
  assert.equal(wn.hasSynset('king.n.99'), false);
  assert.equal(wn.hasSynset('garbage'), false);
});

test('hypernym paths run from the root to the synset', () => {
  const paths = wn.hypernymPaths('dog.n.01');
  assert.equal(paths.length, 2);
  for (const p of paths) {
    assert.equal(p[0], 'entity.n.01');
    assert.equal(p[p.length - 1], 'dog.n.01');
  }
  assert.ok(paths.some((p) => p.includes('canine.n.02') && p.includes('mammal.n.01')));
  // Instance hypernyms count, as in NLTK.
  assert.ok(wn.hypernymPaths('einstein.n.01').some((p) => p.includes('physicist.n.01')));
});

test('path similarity matches NLTK for nouns; verbs share a virtual root; other pos give null', () => {
  assert.equal(wn.pathSimilarity('dog.n.01', 'cat.n.01'), 0.2);
  assert.equal(wn.pathSimilarity('dog.n.01', 'dog.n.01'), 1);
  assert.equal(wn.shortestPathDistance('dog.n.01', 'canine.n.02'), 1);
  const verb = wn.pathSimilarity('run.v.01', 'walk.v.01');
  assert.ok(verb !== null && verb > 0 && verb < 1);
  assert.equal(wn.pathSimilarity('dog.n.01', 'run.v.01'), null);
  assert.deepEqual(wn.lowestCommonHypernyms('dog.n.01', 'cat.n.01'), ['carnivore.n.01']);
  const far = wn.pathSimilarity('dog.n.01', 'car.n.01');
  assert.ok(far !== null && far < 0.2);
});
