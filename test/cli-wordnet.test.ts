/** `softlogic wordnet lookup | synset`: WordNet 3.1 look-ups through the CLI, and bad ids. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { cli, tempDir } from './helpers.js';

interface SynsetJson {
  id: string;
  lemmas: string[];
  gloss: string;
  hypernyms: string[];
  hypernym_paths?: string[][];
}

test('CLI: wordnet lookup lists senses most frequent first; synset gives gloss, synonyms, hypernyms', () => {
  const store = join(tempDir(), 'unused');
  const senses = cli(store, ['wordnet', 'lookup', 'king', '--pos', 'n']);
  assert.equal(senses.status, 0, senses.stderr);
  const list = (senses.json as { synsets: SynsetJson[] }).synsets;
  assert.equal(list[0].id, 'king.n.01');
  assert.match(list[0].gloss, /male sovereign/);
  const dog = cli(store, ['wordnet', 'synset', 'dog.n.01']);
  assert.equal(dog.status, 0, dog.stderr);
  const d = dog.json as SynsetJson;
  assert.ok(d.lemmas.includes('domestic_dog'));
  assert.ok(d.hypernyms.includes('canine.n.02'));
  assert.ok(d.hypernym_paths?.some((p) => p.includes('animal.n.01')));
  for (const [args, code] of [
    [['wordnet', 'synset', 'nosuch.n.01'], 'NOT_FOUND'],
    [['wordnet', 'synset', 'not-an-id'], 'INVALID_INPUT'],
    [['wordnet', 'lookup', 'king', '--pos', 'x'], 'INVALID_INPUT'],
  ] as const) {
    const r = cli(store, [...args]);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stdout}`);
    assert.equal((r.json as { error: { code: string } }).error.code, code);
  }
});
