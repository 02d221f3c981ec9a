/**
 * `--synset auto` chooses the WordNet sense that fits the context (its name, description, parents
 * and concepts), says why, and falls back to the most frequent sense when the context offers no
 * evidence: through the library, a concept batch, the CLI and HTTP.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Store } from '../src/api/store.js';
import { wordnet } from '../src/reasoning/wordnet.js';
import { chooseSense } from '../src/reasoning/word-sense.js';
import { asyncErrCode, cliOk, tempDir, useTestGloveCache, writeJsonl } from './helpers.js';
import { startHarness } from './service-helpers.js';

useTestGloveCache();

const wn = wordnet();
/** The synset id NLTK gives the sense `lemma.pos.NN` (e.g. bank.n.02 is depository_financial_institution.n.01). */
const idOf = (sense: string): string => wn.synset(sense).id;

async function conceptCount(store: Store, context: string): Promise<number> {
  return (await store.concepts.list(context)).length;
}

test('library: finance -> the financial bank; computing -> the device; botany -> the organism; construction -> the machine', async () => {
  const store = await Store.init(join(tempDir(), 's'));
  await store.contexts.create('finance', { description: 'banks, loans, deposits and money' });
  for (const name of ['computing', 'botany', 'construction']) await store.contexts.create(name);
  const cases: Array<[string, string, string, RegExp]> = [
    ['finance', 'bank', 'bank.n.02', /financial institution/],
    ['computing', 'mouse', 'mouse.n.04', /cursor/],
    ['botany', 'plant', 'plant.n.02', /living organism/],
    ['construction', 'crane', 'crane.n.04', /lifts and moves heavy objects/],
  ];
  for (const [context, word, sense, gloss] of cases) {
    const before = await conceptCount(store, context);
    const added = await store.concepts.add({ name: word, synset: 'auto' }, { context, provider: 'hash' });
    assert.equal(added.synset_id, idOf(sense), `${word} in ${context}`);
    assert.match(added.disambiguation ?? '', gloss);
    assert.equal(added.id, `${context}:${word}:${idOf(sense)}`);
    assert.equal(added.sense?.method, 'context');
    assert.equal(added.sense?.synset_id, idOf(sense));
    assert.equal(added.sense?.candidates.length, wn.synsets(word, 'n').length);
    const chosen = added.sense?.candidates.find((c) => c.synset_id === added.synset_id);
    assert.ok(chosen && added.sense?.candidates.every((c) => c.score <= chosen.score), 'the chosen sense has the best score');
    // Stored: one more concept, readable by its id, without the (unstored) explanation.
    assert.equal(await conceptCount(store, context), before + 1);
    const stored = await store.concepts.get(added.id);
    assert.equal(stored.synset_id, idOf(sense));
    assert.equal((stored as { sense?: unknown }).sense, undefined);
  }
  await store.close();
});

test('library: an empty context falls back to the most frequent sense and says so', async () => {
  const store = await Store.init(join(tempDir(), 's'));
  const added = await store.concepts.add({ name: 'bank', synset: 'auto' }, { provider: 'hash' });
  assert.equal(added.synset_id, 'bank.n.01');
  assert.equal(added.sense?.method, 'most_frequent_sense');
  assert.match(added.sense?.reason ?? '', /no words.*most frequent sense/);
  assert.deepEqual(added.sense?.context_words, []);
  // A word with one sense says so too; an explicit synset carries no explanation.
  assert.equal((await store.concepts.add({ name: 'photosynthesis', synset: 'auto' })).sense?.method, 'only_sense');
  assert.equal((await store.concepts.add({ name: 'bank', synset: 'bank.n.03' })).sense, undefined);
  await store.close();
});

test('library: parents, concepts already in the context and the description are evidence', async () => {
  const store = await Store.init(join(tempDir(), 's'));
  await store.contexts.create('money', { description: 'savings, loans and interest rates' });
  await store.contexts.create('accounts', { parent: 'money' });
  assert.equal((await store.concepts.add({ name: 'bank', synset: 'auto' }, { context: 'accounts', provider: 'hash' })).synset_id, idOf('bank.n.02'));

  await store.contexts.create('shore');
  for (const name of ['river', 'water', 'mud', 'canoe']) await store.concepts.add({ name }, { context: 'shore', provider: 'hash' });
  const shore = await store.concepts.senses('bank', { context: 'shore' });
  assert.equal(shore.synset_id, 'bank.n.01');
  assert.equal(shore.method, 'context');
  assert.ok(shore.context_words.includes('river'));

  const described = await store.concepts.add({ name: 'mouse', synset: 'auto', description: 'it moves the cursor on the computer screen' }, { provider: 'hash' });
  assert.equal(described.synset_id, idOf('mouse.n.04'));
  await store.close();
});

test('chooseSense: no known context word and no overlap falls back; unknown words are undefined', () => {
  const none = chooseSense(wn, 'bank', ['zzqx qqzz']);
  assert.equal(none?.method, 'most_frequent_sense');
  assert.equal(none?.synset_id, 'bank.n.01');
  assert.equal(chooseSense(wn, 'qqzzxx', ['finance']), undefined);
});

test('concept batch: synset auto lines use the context; unknown words refuse the file', async () => {
  const dir = tempDir();
  const store = await Store.init(join(dir, 's'));
  await store.contexts.create('finance', { description: 'banks, loans, deposits and money' });
  const file = writeJsonl(join(dir, 'c.jsonl'), [{ name: 'bank', synset: 'auto' }, { name: 'interest', synset: 'auto' }]);
  const r = await store.concepts.import(file, { context: 'finance', provider: 'hash' });
  assert.equal(r.imported, 2);
  assert.equal((await store.concepts.get(`finance:bank:${idOf('bank.n.02')}`)).synset_id, idOf('bank.n.02'));
  const bad = writeJsonl(join(dir, 'bad.jsonl'), [{ name: 'qqzzxx', synset: 'auto' }]);
  assert.equal(await asyncErrCode(() => store.concepts.import(bad, { context: 'finance' })), 'IMPORT_REJECTED');
  assert.equal(await conceptCount(store, 'finance'), 2);
  await store.close();
});

test('CLI: concepts add --synset auto reports the sense; concepts senses lists candidates', () => {
  const dir = join(tempDir(), 's');
  cliOk(dir, ['init']);
  cliOk(dir, ['contexts', 'create', 'finance', '--description', 'banks, loans, deposits and money']);
  const added = cliOk(dir, ['concepts', 'add', 'bank', '--context', 'finance', '--synset', 'auto', '--provider', 'hash']);
  assert.equal(added.synset_id, idOf('bank.n.02'));
  assert.equal(added.sense.method, 'context');
  const listed = cliOk(dir, ['concepts', 'list', '--context', 'finance']);
  assert.equal((listed.concepts ?? listed).length, 1);
  const senses = cliOk(dir, ['concepts', 'senses', 'crane', '--text', 'construction']);
  assert.equal(senses.synset_id, idOf('crane.n.04'));
  assert.equal(senses.candidates.length, 5);
});

test('HTTP: GET /api/wordnet/senses and POST /api/concepts with synset auto', async () => {
  const h = await startHarness();
  try {
    await h.store.contexts.create('finance', { description: 'banks, loans, deposits and money' });
    const res = await fetch(`${h.base}/api/wordnet/senses?word=bank&context=finance`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as { synset_id: string; method: string; candidates: Array<{ synset_id: string; gloss: string; score: number; rank: number }> };
    assert.equal(body.synset_id, idOf('bank.n.02'));
    assert.equal(body.method, 'context');
    assert.equal(body.candidates.length, 10);
    assert.ok(body.candidates.every((c) => typeof c.gloss === 'string' && typeof c.score === 'number' && c.rank >= 1));

    const empty = (await (await fetch(`${h.base}/api/wordnet/senses?word=bank`)).json()) as { synset_id: string; method: string };
    assert.deepEqual([empty.synset_id, empty.method], ['bank.n.01', 'most_frequent_sense']);
    const text = (await (await fetch(`${h.base}/api/wordnet/senses?word=plant&text=${encodeURIComponent('botany')}`)).json()) as { synset_id: string };
    assert.equal(text.synset_id, idOf('plant.n.02'));

    const missingContext = await fetch(`${h.base}/api/wordnet/senses?word=bank&context=nowhere`);
    assert.equal(missingContext.status, 404);
    assert.equal(((await missingContext.json()) as { error: { code: string } }).error.code, 'CONTEXT_NOT_FOUND');
    assert.equal((await fetch(`${h.base}/api/wordnet/senses?word=qqzzxx`)).status, 404);
    assert.equal((await fetch(`${h.base}/api/wordnet/senses`)).status, 400);

    const post = await fetch(`${h.base}/api/concepts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'bank', synset: 'auto', context: 'finance', provider: 'hash' }),
    });
    assert.equal(post.status, 201);
    const added = (await post.json()) as { id: string; synset_id: string; sense: { method: string; candidates: unknown[] } };
    assert.equal(added.synset_id, idOf('bank.n.02'));
    assert.equal(added.sense.method, 'context');
    assert.equal(added.sense.candidates.length, 10);
    assert.equal((await h.store.concepts.get(added.id)).synset_id, idOf('bank.n.02'));
  } finally {
    await h.close();
  }
});
