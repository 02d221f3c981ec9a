import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { Analogy } from '../src/core/records.js';
import { Store } from '../src/api/store.js';
import { asyncErr, cliAny, byId, genAnalogies, tempDir, writeJsonl, collect } from './helpers.js';

const all = async (s: Store, context = 'default'): Promise<Analogy[]> => byId(await collect(s.analogies.stream({ context })));

test('export (jsonl, json, gzip) and import into an empty store reproduce every record exactly', async () => {
  const root = tempDir();
  const a = await Store.open(join(root, 'a'), { create: true });
  await a.analogies.import(writeJsonl(join(root, 'in.jsonl'), genAnalogies(300, 1)));
  await a.contexts.create('child', { parent: 'default', description: 'sub' });
  await a.analogies.import(writeJsonl(join(root, 'in2.jsonl'), genAnalogies(40, 2)), { context: 'child' });
  await a.analogies.delete('s1-0');
  await a.analogies.save({ ...genAnalogies(1, 1)[0], id: 's1-1', tags: ['changed'] });
  for (const [format, gzip] of [['jsonl', false], ['json', false], ['json', true], ['jsonl', true]] as const) {
    const out = join(root, `e-${format}-${gzip}`);
    const e = await a.export({ out, format, gzip });
    assert.equal(e.records, 299 + 40);
    const text = gzip ? gunzipSync(readFileSync(out)).toString() : readFileSync(out, 'utf8');
    if (format === 'json') {
      const doc = JSON.parse(text);
      assert.equal(doc.format, 'softlogic-export');
      assert.equal(doc.contexts.default.records.length, 299);
      assert.equal(doc.contexts.child.records.length, 40);
    } else {
      const lines = text.trim().split('\n').map((l) => JSON.parse(l));
      assert.equal(lines.filter((l) => l.kind === 'analogy').length, 339);
    }
    const b = await Store.open(join(root, `b-${format}-${gzip}`), { create: true });
    const r = await b.import(out);
    assert.equal(r.records, 339);
    assert.equal(r.applied.created, 339);
    assert.deepEqual(await all(b), await all(a));
    assert.deepEqual(await all(b, 'child'), await all(a, 'child'));
    assert.equal((await b.contexts.list()).find((c) => c.name === 'child')?.parent, 'default');
    assert.equal((await b.verify()).valid, true);
    await b.close();
  }
  await a.close();
});

test('import merge strategies, record by record', async () => {
  const root = tempDir();
  const base = genAnalogies(30, 5);
  // target store: ids 0..19 exist; 10..14 have been edited (version 2); 15 deleted
  const mk = async (name: string) => {
    const s = await Store.open(join(root, name), { create: true });
    await s.analogies.import(writeJsonl(join(root, `${name}.jsonl`), base.slice(0, 20)));
    for (let i = 10; i < 15; i++) await s.analogies.save({ ...base[i], tags: ['local', 'core'] });
    await s.analogies.delete('s5-15');
    return s;
  };
  // the incoming export: ids 5..29; 5..9 at version 3 with new tags, the rest version 1
  const src = await Store.open(join(root, 'src'), { create: true });
  await src.analogies.import(writeJsonl(join(root, 'src.jsonl'), base.slice(5)));
  for (let i = 5; i < 10; i++) {
    await src.analogies.save({ ...base[i], quality_score: 0.123, tags: ['remote'] });
    await src.analogies.save({ ...base[i], quality_score: 0.123, tags: ['remote'] });
  }
  const file = join(root, 'export.jsonl');
  await src.export({ out: file });
  const incoming = new Map((await all(src)).map((r) => [r.id, r]));
  await src.close();

  for (const merge of ['overwrite', 'skip', 'merge'] as const) {
    const s = await mk(`t-${merge}`);
    const before = new Map(byId((await collect(s.analogies.stream({ include_deleted: true })))).map((r) => [r.id, r]));
    const deletedBefore = await s.analogies.get('s5-15');
    await s.import(file, { merge });
    for (let i = 0; i < 30; i++) {
      const id = `s5-${i}`;
      const now = await s.analogies.get(id);
      const old = before.get(id) ?? (id === 's5-15' ? deletedBefore : undefined);
      const inc = incoming.get(id);
      const label = `${merge} ${id}`;
      if (!inc) {
        assert.deepEqual(now, old, label); // untouched
        continue;
      }
      if (!old) {
        assert.deepEqual(now, { ...inc }, label); // new: stored as exported
        continue;
      }
      const content = (r: Analogy) => [r.source_domain, r.target_domain, r.quality_score, r.concept_mappings, r.metadata];
      if (merge === 'overwrite' || (merge === 'skip' && old.deleted_at !== null)) {
        assert.deepEqual(content(now), content(inc), label);
        assert.deepEqual(now.tags, inc.tags, label);
        assert.equal(now.version, old.version + 1, label);
        assert.equal(now.deleted_at, null, label);
      } else if (merge === 'skip') {
        assert.deepEqual(now, old, label);
      } else {
        const incomingWins = inc.version > old.version || (inc.version === old.version && Date.parse(inc.updated_at) > Date.parse(old.updated_at));
        if (old.deleted_at !== null) {
          if (incomingWins) assert.equal(now.deleted_at, null, label);
          else assert.deepEqual(now, old, label);
          continue;
        }
        const union = [...new Set(incomingWins ? [...inc.tags, ...old.tags] : [...old.tags, ...inc.tags])];
        assert.deepEqual(now.tags, union, label);
        assert.deepEqual(content(now), content(incomingWins ? inc : old), label);
        if (incomingWins) assert.equal(now.version, Math.max(inc.version, old.version + 1), label);
        else assert.equal(now.version, union.length > old.tags.length ? old.version + 1 : old.version, label);
      }
    }
    assert.equal((await s.verify()).valid, true);
    await s.close();
  }
});

test('import: bad input is refused before anything is applied', async () => {
  const root = tempDir();
  const s = await Store.open(join(root, 's'), { create: true });
  assert.equal((await asyncErr(() => s.import(join(root, 'missing.jsonl')))).code, 'FILE_NOT_FOUND');
  const bad = join(root, 'bad.jsonl');
  writeFileSync(bad, [
    JSON.stringify({ kind: 'analogy', record: genAnalogies(1, 9)[0] }),
    '{not json',
    JSON.stringify({ kind: 'analogy', context: '../../etc', record: genAnalogies(1, 8)[0] }),
    JSON.stringify({ kind: 'weird', record: {} }),
    JSON.stringify({ kind: 'analogy', record: { ...genAnalogies(1, 7)[0], quality_score: 7 } }),
  ].join('\n') + '\n');
  const e = await asyncErr(() => s.import(bad));
  assert.equal(e.code, 'IMPORT_REJECTED');
  assert.deepEqual((e.details.issues as Array<{ line: number }>).map((i) => i.line), [2, 3, 4, 5]);
  assert.equal(await s.analogies.count({}), 0);
  assert.ok((await s.workflows.list()).every((w) => w.status === 'cancelled'));
  assert.equal((await asyncErr(() => s.import(bad, { merge: 'bogus' as never }))).code, 'INVALID_INPUT');
  await s.close();
  assert.equal(cliAny(join(root, 's'), ['import', bad, '--merge', 'nope']).json.error.code, 'INVALID_INPUT');
  assert.equal(cliAny(join(root, 's'), ['import']).json.error.code, 'INVALID_INPUT');
  assert.equal(cliAny(join(root, 's'), ['export', '--out', join(root, 'x', 'y.jsonl')]).json.error.code, 'FILE_NOT_FOUND');
  assert.equal(cliAny(join(root, 's'), ['export', '--out', join(root, 'e.jsonl'), '--context', '../x']).json.error.code, 'INVALID_NAME');
  const ok = cliAny(join(root, 's'), ['export', '--out', join(root, 'e.jsonl'), '--format', 'json']);
  assert.equal(ok.status, 0, ok.stdout);
  assert.equal(cliAny(join(root, 's'), ['export', '--out', join(root, 'e.jsonl')]).json.error.code, 'INVALID_INPUT'); // exists
});

test('import: the same record twice in one file merges with the version written earlier in the same batch', async () => {
  const root = tempDir();
  const src = await Store.init(join(root, 'src'));
  await src.concepts.add({ name: 'river', description: 'first' }, { provider: 'hash' });
  const file = join(root, 'export.jsonl');
  await src.export({ out: file });
  await src.close();
  // The concept line twice: the second one finds the first as the current version (a line of the open batch).
  const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
  const concept = lines.find((l) => l.startsWith('{"kind":"concept"')) as string;
  const second = concept.replace('"description":"first"', '"description":"second"');
  writeFileSync(file, [...lines, second].join('\n') + '\n');
  const target = await Store.init(join(root, 'target'));
  try {
    await target.import(file, { merge: 'overwrite' });
    const river = await target.concepts.get('default:river');
    assert.equal(river.description, 'second');
    assert.equal(river.version, 2);
    assert.equal((await target.verify()).valid, true);
  } finally {
    await target.close();
  }
});
