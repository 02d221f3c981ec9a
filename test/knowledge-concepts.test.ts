/**
 * Concepts in the store: ids, WordNet grounding, versions, soft delete / restore, search, context
 * inheritance, the concept_batch workflow and bad input, through the library and the CLI.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Store } from '../src/api/store.js';
import { SoftlogicError } from '../src/core/errors.js';
import { asyncErrCode, cliErr, cliOk, tempDir, useTestGloveCache, writeJsonl } from './helpers.js';

useTestGloveCache();

const code = asyncErrCode;

test('library: add, get, version, soft delete, restore, search, list (hash provider)', async () => {
  const store = await Store.init(join(tempDir(), 's'));
  const a = await store.concepts.add({ name: 'Ice Cream', description: 'a frozen dessert' }, { provider: 'hash' });
  assert.equal(a.id, 'default:ice_cream');
  assert.equal(a.name, 'ice_cream');
  assert.equal(a.version, 1);
  assert.equal(a.deleted_at, null);
  assert.equal(a.embedding?.provider, 'hash');
  assert.equal(a.embedding?.dimension, 100);
  assert.deepEqual(await store.embeddings.settings(), { provider: 'hash', dimension: 100, from: 'default' });

  const b = await store.concepts.add({ name: 'ice cream', description: 'updated' });
  assert.equal(b.version, 2);
  assert.equal(b.created_at, a.created_at);
  assert.equal((await store.concepts.get('default:ice_cream')).description, 'updated');

  const bank = await store.concepts.add({ name: 'bank', synset: 'bank.n.01' });
  assert.equal(bank.id, 'default:bank:bank.n.01');
  assert.match(bank.disambiguation ?? '', /sloping land/);
  const auto = await store.concepts.add({ name: 'dog', synset: 'auto' });
  assert.equal(auto.synset_id, 'dog.n.01');
  assert.ok((auto.disambiguation ?? '').length > 10);

  // search: name, description, gloss, context name
  assert.deepEqual((await store.concepts.search('sloping')).map((c) => c.id), ['default:bank:bank.n.01']);
  assert.deepEqual((await store.concepts.search('ice cream')).map((c) => c.id), ['default:ice_cream']);
  assert.deepEqual((await store.concepts.search('UPDATED')).map((c) => c.id), ['default:ice_cream']);
  assert.equal((await store.concepts.search('default')).length, 3);

  const del = await store.concepts.delete('default:bank:bank.n.01');
  assert.equal(del.version, 2);
  assert.equal(typeof del.deleted_at, 'string');
  assert.equal((await store.concepts.get('default:bank:bank.n.01')).deleted_at, del.deleted_at);
  assert.equal((await store.concepts.search('sloping')).length, 0);
  assert.equal((await store.concepts.list()).length, 2);
  assert.equal((await store.concepts.list('default', { includeDeleted: true })).length, 3);
  assert.equal(await code(() => store.concepts.delete('default:bank:bank.n.01')), 'ALREADY_DELETED');
  const res = await store.concepts.restore('default:bank:bank.n.01');
  assert.equal(res.version, 3);
  assert.equal(res.deleted_at, null);
  assert.equal(await code(() => store.concepts.restore('default:bank:bank.n.01')), 'NOT_DELETED');
  assert.equal((await store.concepts.list()).length, 3);
  await store.close();
});

test('library: bad input is refused clearly', async () => {
  const store = await Store.init(join(tempDir(), 's'));
  assert.equal(await code(() => store.concepts.add({ name: '   ' }, { provider: 'hash' })), 'INVALID_INPUT');
  assert.equal(await code(() => store.concepts.add({ name: 'bank', synset: 'bank.n.99' }, { provider: 'hash' })), 'NOT_FOUND');
  assert.equal(await code(() => store.concepts.add({ name: 'bank', synset: 'not a synset' }, { provider: 'hash' })), 'INVALID_INPUT');
  assert.equal(await code(() => store.concepts.add({ name: 'qwzx', synset: 'auto' }, { provider: 'hash' })), 'NOT_FOUND');
  assert.equal(await code(() => store.concepts.add({ name: 'café!' }, { provider: 'hash' })), 'INVALID_NAME');
  assert.equal(await code(() => store.concepts.get('default:nothing')), 'NOT_FOUND');
  assert.equal(await code(() => store.concepts.get('nowhere:nothing')), 'CONTEXT_NOT_FOUND');
  assert.equal(await code(() => store.concepts.search('  ')), 'INVALID_INPUT');
  assert.equal(await code(() => store.concepts.add({ name: 'x' }, { provider: 'word2vec' })), 'INVALID_INPUT');
  await store.concepts.add({ name: 'cat' }, { provider: 'hash' });
  // mixing providers in one context is refused (same dimension: CONFLICT)
  assert.equal(await code(() => store.concepts.add({ name: 'dog' }, { provider: 'glove' })), 'CONFLICT');
  await store.close();
});

test('library: context inheritance for lookups; a child inherits the provider', async () => {
  const store = await Store.init(join(tempDir(), 's'));
  await store.concepts.add({ name: 'money' }, { provider: 'hash', context: 'base' });
  await store.contexts.create('finance', { parent: 'base' });
  await store.concepts.add({ name: 'bank', synset: 'depository_financial_institution.n.01' }, { context: 'finance' });
  assert.equal((await store.concepts.get('base:money', 'finance')).id, 'base:money');
  assert.equal((await store.concepts.find('money', 'finance'))?.id, 'base:money');
  assert.equal(await store.concepts.find('bank', 'base'), undefined);
  // get by bare name or by the child's own id form falls back to the parent's concept
  assert.equal((await store.concepts.get('money', 'finance')).id, 'base:money');
  assert.equal((await store.concepts.get('finance:money', 'finance')).id, 'base:money');
  assert.equal(await code(async () => (await store.concepts.get('money', 'base')).id && await store.concepts.get('bank', 'base')), 'NOT_FOUND');
  // the gloss of the finance sense mentions money too
  assert.deepEqual((await store.concepts.search('money', { context: 'finance' })).map((c) => c.id).sort(), ['base:money', 'finance:bank:depository_financial_institution.n.01']);
  assert.deepEqual((await store.concepts.search('money', { context: 'base' })).map((c) => c.id), ['base:money']);
  assert.equal((await store.embeddings.settings('finance'))?.provider, 'hash');
  assert.equal((await store.embeddings.settings('finance'))?.from, 'base');
  await store.close();
});

test('concept_batch workflow: import a file of concepts with vectors; strict on bad lines', async () => {
  const dir = tempDir();
  const store = await Store.init(join(dir, 's'));
  const names = Array.from({ length: 2500 }, (_, i) => ({ name: `thing ${i}`, ...(i % 7 === 0 ? { description: `number ${i}` } : {}) }));
  names.push({ name: 'bank', synset: 'bank.n.01' } as never, { name: 'river', synset: 'auto' } as never);
  const r = await store.concepts.import(writeJsonl(join(dir, 'c.jsonl'), names), { provider: 'hash', batchSize: 1000 });
  assert.equal(r.workflow.workflow_type, 'concept_batch');
  assert.equal(r.workflow.status, 'completed');
  assert.equal(r.imported, 2502);
  assert.equal((await store.concepts.list()).length, 2502);
  assert.equal((await store.concepts.get('default:river:river.n.01')).synset_id, 'river.n.01');
  assert.ok((await store.concepts.get('default:thing_7')).embedding?.b64);
  const sim = await store.concepts.similar('thing 12', { k: 3 });
  assert.equal(sim.results.length, 3);
  assert.ok(!sim.results.some((x) => x.id === 'default:thing_12'));

  const bad = writeJsonl(join(dir, 'bad.jsonl'), [{ name: 'ok' }, { name: '' }, { name: 'x', synset: 'x.n.77' }, { nme: 'typo' }]);
  let err: SoftlogicError | undefined;
  try {
    await store.concepts.import(bad);
  } catch (e) {
    err = e as SoftlogicError;
  }
  assert.equal(err?.code, 'IMPORT_REJECTED');
  const issues = (err?.details as { issues: Array<{ line: number; field: string }> }).issues;
  assert.deepEqual(issues.map((i) => i.line), [2, 3, 4]);
  assert.equal((await store.concepts.list()).length, 2502, 'nothing of a refused file is imported');
  await store.close();
});

test('CLI: concepts add/get/search/delete/restore/list/import and errors', () => {
  const dir = tempDir();
  const store = join(dir, 's');
  cliOk(store, ['init']);
  const a = cliOk(store, ['concepts', 'add', 'King', '--synset', 'auto', '--provider', 'hash', '--context', 'royal']);
  assert.equal(a.id, 'royal:king:king.n.01');
  assert.equal(cliOk(store, ['concepts', 'get', 'royal:king:king.n.01']).version, 1);
  assert.equal(cliOk(store, ['concepts', 'search', 'sovereign', '--context', 'royal']).count, 1);
  assert.equal(cliOk(store, ['concepts', 'delete', 'royal:king:king.n.01']).version, 2);
  assert.equal(cliOk(store, ['concepts', 'list', '--context', 'royal']).count, 0);
  assert.equal(cliOk(store, ['concepts', 'restore', 'royal:king:king.n.01']).version, 3);
  assert.equal(cliErr(store, ['concepts', 'add', '']).code, 'INVALID_INPUT');
  assert.equal(cliErr(store, ['concepts', 'add', 'bank', '--synset', 'bank.n.99', '--context', 'royal']).code, 'NOT_FOUND');
  assert.equal(cliErr(store, ['concepts', 'get', 'royal:nobody']).code, 'NOT_FOUND');
  const file = writeJsonl(join(dir, 'c.jsonl'), [{ name: 'queen' }, { name: 'prince', description: 'son' }]);
  const imp = cliOk(store, ['concepts', 'import', file, '--context', 'royal']);
  assert.equal(imp.imported, 2);
  assert.equal(cliOk(store, ['concepts', 'list', '--context', 'royal']).count, 3);
  assert.equal(cliErr(store, ['concepts', 'similar', 'queen', '--context', 'royal', '--k', '0']).code, 'INVALID_INPUT');
  assert.equal(cliOk(store, ['concepts', 'similar', 'queen', '--context', 'royal', '--k', '50']).results.length, 2, 'k beyond the registry clamps');
  // an empty context has nothing to cluster, and an unknown context is reported
  cliOk(store, ['concepts', 'add', 'x', '--context', 'empty', '--provider', 'hash']);
  cliOk(store, ['concepts', 'delete', 'empty:x']);
  assert.equal(cliErr(store, ['fields', 'discover', '--k', '2', '--context', 'empty']).code, 'INVALID_INPUT');
  assert.equal(cliErr(store, ['concepts', 'list', '--context', 'nope']).code, 'CONTEXT_NOT_FOUND');
});
