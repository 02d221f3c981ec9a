import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openStore } from '../src/index.js';
import { asyncErr, cliErr, cliOk, genAnalogies, tempDir, writeJsonArray, writeJsonl, asyncErrCode } from './helpers.js';

const MB = 'x'.repeat(1024 * 1024);
const good = genAnalogies(5, 300);
const base = { source_domain: 'a', target_domain: 'b', quality_score: 0.5 };

/** Lines of a mixed file and, for each bad one, the field it must be refused for. */
const mixed: Array<{ text: string; field?: string }> = [
  { text: JSON.stringify(good[0]) },
  { text: '{"source_domain": "a", "target_domain": ', field: '(line)' },
  { text: JSON.stringify(good[1]) },
  { text: JSON.stringify({ ...base, source_domain: 5 }), field: 'source_domain' },
  { text: '{"source_domain":"a","target_domain":"b","quality_score":1e999}', field: 'quality_score' },
  { text: JSON.stringify({ ...base, quality_score: -0.1 }), field: 'quality_score' },
  { text: JSON.stringify({ ...base, quality_score: 1.5 }), field: 'quality_score' },
  { text: JSON.stringify({ ...base, quality_score: '0.5' }), field: 'quality_score' },
  { text: JSON.stringify(good[2]) },
  { text: JSON.stringify({ source_domain: 'a', quality_score: 0.5 }), field: 'target_domain' },
  { text: JSON.stringify({ ...base, concept_mappings: { a: 1 } }), field: 'concept_mappings.a' },
  { text: JSON.stringify({ ...base, tags: [1] }), field: 'tags.0' },
  { text: JSON.stringify({ ...base, bogus: true }), field: 'bogus' },
  { text: JSON.stringify({ ...base, metadata: { big: MB } }), field: '(line)' },
  { text: JSON.stringify({ ...base, created_at: 'last tuesday' }), field: 'created_at' },
  { text: '42', field: '(record)' },
  { text: JSON.stringify({ ...base, id: '../../etc/passwd' }), field: 'id' },
  { text: JSON.stringify(good[3]) },
  { text: '' },
  { text: JSON.stringify(good[4]) },
];
const badLines = mixed.map((l, i) => ({ ...l, line: i + 1 })).filter((l) => l.field !== undefined);

function writeMixed(dir: string): string {
  const path = join(dir, 'mixed.jsonl');
  writeFileSync(path, mixed.map((l) => l.text).join('\n') + '\n');
  return path;
}

test('strict import: every bad line is listed (line, field, reason) and nothing is imported', () => {
  const dir = tempDir();
  const store = join(dir, 'store');
  cliOk(store, ['init']);
  const e = cliErr(store, ['analogies', 'import', writeMixed(dir)]);
  assert.equal(e.code, 'IMPORT_REJECTED');
  const details = e.details as { rejected: number; issues: Array<{ line: number; field: string; reason: string }>; issues_omitted: number };
  assert.equal(details.rejected, badLines.length);
  assert.equal(details.issues_omitted, 0);
  const lines = [...new Set(details.issues.map((i) => i.line))];
  assert.deepEqual(lines, badLines.map((l) => l.line));
  for (const bad of badLines) {
    const issues = details.issues.filter((i) => i.line === bad.line);
    assert.ok(
      issues.some((i) => i.field === bad.field),
      `line ${bad.line}: expected field ${bad.field}, got ${JSON.stringify(issues)}`,
    );
    for (const i of issues) assert.ok(typeof i.reason === 'string' && i.reason.length > 0);
  }
  // nothing imported, no workflow, nothing left staged
  assert.deepEqual(cliOk(store, ['workflows', 'list']).workflows, []);
  assert.equal(cliOk(store, ['analogies', 'query']).count, 0);
  assert.deepEqual(readdirSync(join(store, 'workflows', 'pending')), []);
});

test('lenient import: valid lines are committed, invalid ones written unchanged to the printed rejects file', () => {
  const dir = tempDir();
  const store = join(dir, 'store');
  cliOk(store, ['init']);
  const r = cliOk(store, ['analogies', 'import', writeMixed(dir), '--lenient']);
  assert.equal(r.imported, 5);
  assert.equal(r.rejected, badLines.length);
  assert.equal(r.workflow.status, 'completed');
  assert.equal(r.workflow.items_total, 5);
  assert.equal(typeof r.rejects_file, 'string');
  assert.equal(readFileSync(r.rejects_file, 'utf8'), badLines.map((l) => l.text).join('\n') + '\n');
  const ids = cliOk(store, ['analogies', 'query']).analogies.map((a: { id: string }) => a.id).sort();
  assert.deepEqual(ids, good.map((a) => a.id).sort());
});

test('empty inputs are EMPTY_INPUT; a file of only invalid lines is refused (strict) or EMPTY_INPUT with its rejects (lenient)', () => {
  const dir = tempDir();
  const store = join(dir, 'store');
  cliOk(store, ['init']);
  const empty = join(dir, 'empty.jsonl');
  writeFileSync(empty, '');
  assert.equal(cliErr(store, ['analogies', 'import', empty]).code, 'EMPTY_INPUT');
  const blank = join(dir, 'blank.jsonl');
  writeFileSync(blank, '\n\n   \n');
  assert.equal(cliErr(store, ['analogies', 'import', blank]).code, 'EMPTY_INPUT');
  assert.equal(cliErr(store, ['analogies', 'import', writeJsonArray(join(dir, 'arr.json'), [])]).code, 'EMPTY_INPUT');

  const onlyBad = join(dir, 'bad.jsonl');
  writeFileSync(onlyBad, '{nope\n' + JSON.stringify({ ...base, quality_score: 2 }) + '\n');
  const strict = cliErr(store, ['analogies', 'import', onlyBad]);
  assert.equal(strict.code, 'IMPORT_REJECTED');
  assert.equal((strict.details as { rejected: number }).rejected, 2);
  const lenient = cliErr(store, ['analogies', 'import', onlyBad, '--lenient']);
  assert.equal(lenient.code, 'EMPTY_INPUT');
  const rejects = (lenient.details as { rejects_file: string }).rejects_file;
  assert.equal(readFileSync(rejects, 'utf8'), readFileSync(onlyBad, 'utf8'));
  assert.equal(cliErr(store, ['analogies', 'import', join(dir, 'missing.jsonl')]).code, 'FILE_NOT_FOUND');
  const notArray = join(dir, 'broken.json');
  writeFileSync(notArray, '[{"source_domain": "a"},');
  assert.equal(cliErr(store, ['analogies', 'import', notArray]).code, 'INVALID_INPUT');
  assert.deepEqual(cliOk(store, ['workflows', 'list']).workflows, []);
  assert.equal(cliOk(store, ['analogies', 'query']).count, 0);
});

test('a JSON array reports bad elements by position', () => {
  const dir = tempDir();
  const store = join(dir, 'store');
  cliOk(store, ['init']);
  const e = cliErr(store, ['analogies', 'import', writeJsonArray(join(dir, 'a.json'), [good[0], { ...base, quality_score: 7 }, good[1], { ...base, tags: 'x' }])]);
  assert.equal(e.code, 'IMPORT_REJECTED');
  const issues = (e.details as { issues: Array<{ line: number; field: string }> }).issues;
  assert.deepEqual(
    issues.map((i) => [i.line, i.field]),
    [
      [2, 'quality_score'],
      [4, 'tags'],
    ],
  );
});

const HOSTILE = ['../x', '/etc', '..', '.hidden', 'a/b', '-rf', 'x'.repeat(10 * 1024), 'a b', 'con\ntext'];

test('CLI: hostile context names are refused with INVALID_NAME and create nothing', () => {
  const dir = tempDir();
  const store = join(dir, 'store');
  cliOk(store, ['init']);
  const file = writeJsonl(join(dir, 'one.jsonl'), [good[0]]);
  for (const name of HOSTILE) {
    const label = JSON.stringify(name.slice(0, 20));
    assert.equal(cliErr(store, ['analogies', 'import', file, '--context', name]).code, 'INVALID_NAME', `import ${label}`);
  }
  for (const name of ['../x', '/etc', 'x'.repeat(10 * 1024)]) {
    const label = JSON.stringify(name.slice(0, 20));
    assert.equal(cliErr(store, ['contexts', 'create', name]).code, 'INVALID_NAME', `contexts create ${label}`);
    assert.equal(cliErr(store, ['contexts', 'create', 'ok', '--parent', name]).code, 'INVALID_NAME', `--parent ${label}`);
    assert.equal(cliErr(store, ['analogies', 'get', good[0].id, '--context', name]).code, 'INVALID_NAME', `get ${label}`);
  }
  assert.deepEqual(readdirSync(join(store, 'contexts')), ['default'], 'only the context init creates');
  assert.ok(!existsSync(join(store, 'x')));
  assert.ok(!existsSync(join(dir, 'x')));
  assert.ok(!existsSync(join(store, 'contexts', 'a')));
  assert.deepEqual(cliOk(store, ['workflows', 'list']).workflows, []);
  assert.deepEqual(readdirSync(join(store, 'workflows', 'pending')), []);
});

// BUG: query/stream/delete validate the context through the filter schema and answer
// INVALID_INPUT, where every other command answers INVALID_NAME for the same name.
test('CLI: hostile context names on query / stream / delete are INVALID_NAME too', () => {
  const dir = tempDir();
  const store = join(dir, 'store');
  cliOk(store, ['init']);
  for (const name of ['../x', '/etc']) {
    assert.equal(cliErr(store, ['analogies', 'query', '--context', name]).code, 'INVALID_NAME', `query ${name}`);
    assert.equal(cliErr(store, ['analogies', 'stream', '--context', name]).code, 'INVALID_NAME', `stream ${name}`);
    assert.equal(cliErr(store, ['analogies', 'delete', '--domain', 'a', '--context', name]).code, 'INVALID_NAME', `delete ${name}`);
  }
});

test('library: hostile names (NUL, paths, 10 KB) are refused with INVALID_NAME', async () => {
  const dir = tempDir();
  const storeDir = join(dir, 'store');
  const store = await openStore(storeDir, { create: true });
  try {
    const file = writeJsonl(join(dir, 'one.jsonl'), [good[0]]);
    for (const name of [...HOSTILE, 'a\0b', '\0', '', 'ok\0../../x']) {
      assert.equal(await asyncErrCode(() => store.contexts.create(name)), 'INVALID_NAME', JSON.stringify(name.slice(0, 20)));
      assert.equal(await asyncErrCode(() => store.analogies.save({ ...base }, name)), 'INVALID_NAME');
      assert.equal(await asyncErrCode(() => store.analogies.get('x', name)), 'INVALID_NAME');
      assert.equal((await asyncErr(() => store.analogies.import(file, { context: name }))).code, 'INVALID_NAME');
    }
    for (const id of ['../x', 'a\0b', '', '/etc/passwd', 'x'.repeat(10 * 1024)]) {
      assert.equal(await asyncErrCode(() => store.analogies.get(id)), 'INVALID_NAME');
      assert.equal(await asyncErrCode(() => store.workflows.get(id)), 'INVALID_NAME');
    }
    assert.deepEqual(readdirSync(join(storeDir, 'contexts')), ['default'], 'only the context init creates');
  } finally {
    await store.close();
  }
});

test('library: invalid quality scores and field types are INVALID_RECORD naming the field', async () => {
  const dir = tempDir();
  const store = await openStore(join(dir, 'store'), { create: true });
  try {
    for (const q of [Number.NaN, Infinity, -Infinity, -0.1, 1.5, '0.5', null, undefined]) {
      let err: unknown;
      try {
        await store.analogies.save({ ...base, quality_score: q });
      } catch (e) {
        err = e;
      }
      const e = err as { code?: string; details?: { issues?: Array<{ field: string }> } };
      assert.equal(e?.code, 'INVALID_RECORD', `quality ${String(q)}`);
      assert.ok(e.details?.issues?.some((i) => i.field === 'quality_score'), `quality ${String(q)}: ${JSON.stringify(e.details)}`);
    }
    for (const bad of [{ ...base, source_domain: '' }, { ...base, tags: 'x' }, { ...base, frame_mappings: [] }, { ...base, version: 0 }, 'a string', null, [base]]) {
      assert.equal(await asyncErrCode(() => store.analogies.save(bad)), 'INVALID_RECORD', JSON.stringify(bad));
    }
    // boundaries are valid
    assert.equal((await store.analogies.save({ ...base, quality_score: 0 })).quality_score, 0);
    assert.equal((await store.analogies.save({ ...base, quality_score: 1 })).quality_score, 1);
    assert.equal(await store.analogies.count(), 2);
    assert.equal((await store.verify()).valid, true);
  } finally {
    await store.close();
  }
});

// BUG: LIMITS.recordBytes is enforced only on JSONL line length; assertRecordSize is never
// called, so a 1 MB string inside metadata passes through save() and JSON-array imports.
test('a 1 MB string field is refused everywhere (save, JSON lines, JSON array)', async () => {
  const dir = tempDir();
  const store = await openStore(join(dir, 'store'), { create: true });
  try {
    assert.equal(await asyncErrCode(() => store.analogies.save({ ...base, source_domain: MB })), 'INVALID_RECORD');
    assert.equal(await asyncErrCode(() => store.analogies.save({ ...base, tags: [MB] })), 'INVALID_RECORD');
    assert.equal((await asyncErr(() => store.analogies.import(writeJsonl(join(dir, 'big.jsonl'), [{ ...base, metadata: { big: MB } }])))).code, 'IMPORT_REJECTED');
    assert.equal((await asyncErr(() => store.analogies.import(writeJsonArray(join(dir, 'big.json'), [{ ...base, metadata: { big: MB } }])))).code, 'IMPORT_REJECTED');
    assert.equal(await asyncErrCode(() => store.analogies.save({ ...base, metadata: { big: MB } })), 'INVALID_RECORD');
  } finally {
    await store.close();
  }
});

// BUG: save() validates with ajv (useDefaults) and then assigns a uuid on the validated value,
// which on ajv's fast path IS the caller's object: the caller's input gains `id` and defaults,
// so saving the same template twice silently turns the second save into an update.
test('library: save() does not modify the object it is given', async () => {
  const dir = tempDir();
  const store = await openStore(join(dir, 'store'), { create: true });
  try {
    const input = { source_domain: 'a', target_domain: 'b', quality_score: 0.5 };
    const copy = structuredClone(input);
    const first = await store.analogies.save(input);
    assert.deepEqual(input, copy);
    const second = await store.analogies.save(input);
    assert.notEqual(second.id, first.id);
    assert.equal(await store.analogies.count(), 2);
  } finally {
    await store.close();
  }
});
