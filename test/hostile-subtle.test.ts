/**
 * Subtle input (issue 13, item 11), refused the same way on every path: a repeated JSON key
 * (JSON.parse would keep the last one), a number out of range (1e999 parses to Infinity, stored
 * text and read value would disagree), and a line whose own "context" is not the one it is
 * imported into.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cliAny, cliOk, tempDir } from './helpers.js';
import { startHarness } from './service-helpers.js';

const fields = '"source_domain":"a","target_domain":"b","quality_score":0.5,"concept_mappings":{"k":"v"},"frame_mappings":{},"tags":[]';
/** Lines in the fast path's shape (the seven content fields) and in the general one (with an id). */
const bad: Array<[string, string, RegExp]> = [
  [`{${fields},"metadata":{"n":1,"n":2}}`, 'metadata.n', /duplicate key/],
  [`{${fields},"metadata":{"x":{"k":1,"k":2}}}`, 'metadata.x.k', /duplicate key/],
  [`{${fields.replace('{"k":"v"}', '{"k":"v","k":"w"}')},"metadata":{}}`, 'concept_mappings.k', /duplicate key/],
  [`{"id":"i1","id":"i2",${fields}}`, 'id', /duplicate key/],
  [`{${fields},"metadata":{"x":1e999}}`, 'metadata.x', /not a finite number/],
  [`{"id":"i3",${fields},"metadata":{"x":[-1e400]}}`, 'metadata.x.0', /not a finite number/],
];

test('CLI import: repeated keys and out-of-range numbers are refused, strict and lenient, naming the field', () => {
  const root = tempDir();
  const store = join(root, 's');
  cliOk(store, ['init']);
  const good = `{"id":"good",${fields},"metadata":{"x":1e300}}`;
  for (const [line, field, reason] of bad) {
    const file = join(root, 'in.jsonl');
    writeFileSync(file, `${good}\n${line}\n`);
    const strict = cliAny(store, ['analogies', 'import', file]);
    assert.equal(strict.status, 2, line);
    assert.equal(strict.json.error.code, 'IMPORT_REJECTED', line);
    const issue = strict.json.error.details.issues[0];
    assert.equal(issue.line, 2, line);
    assert.equal(issue.field, field, line);
    assert.match(issue.reason, reason, line);
    const lenient = cliOk(store, ['analogies', 'import', file, '--lenient']);
    assert.equal(lenient.rejected, 1, line);
  }
  // what is stored reads back the same through stream and get
  const streamed = cliAny(store, ['analogies', 'stream']).stdout.trim().split('\n');
  assert.equal(streamed.length, 1);
  assert.deepEqual(JSON.parse(streamed[0]), cliOk(store, ['analogies', 'get', 'good']));
});

test("a line's own context: refused unless it is the import's context (CLI), and over HTTP", async () => {
  const root = tempDir();
  const store = join(root, 's');
  cliOk(store, ['init']);
  const file = join(root, 'ctx.jsonl');
  writeFileSync(file, `{"id":"c1","context":"other",${fields}}\n`);
  const refused = cliAny(store, ['analogies', 'import', file]);
  assert.equal(refused.status, 2);
  assert.equal(refused.json.error.details.issues[0].field, 'context');
  assert.match(refused.json.error.details.issues[0].reason, /is 'other' but the import goes into context 'default'/);
  const elsewhere = cliAny(store, ['analogies', 'import', file, '--context', 'third']);
  assert.equal(elsewhere.status, 2);
  const ok = cliOk(store, ['analogies', 'import', file, '--context', 'other']);
  assert.equal(ok.imported, 1);
  assert.equal(cliOk(store, ['analogies', 'get', 'c1', '--context', 'other']).context, 'other');

  const h = await startHarness();
  try {
    const post = (path: string, body: string, type = 'application/json') => fetch(`${h.base}${path}`, { method: 'POST', headers: { 'content-type': type }, body });
    const conflict = await post('/api/analogies?context=x', `{"id":"h1","context":"y",${fields}}`);
    assert.equal(conflict.status, 400);
    const own = await post('/api/analogies', `{"id":"h2","context":"y",${fields}}`);
    assert.equal(own.status, 201);
    assert.equal(((await own.json()) as { context: string }).context, 'y');
    for (const [line, field] of bad) {
      const single = await post('/api/analogies', line);
      assert.equal(single.status, 400, line);
      const body = (await single.json()) as { error: { code: string; message: string; details: { field?: string; issues?: Array<{ field: string }> } } };
      assert.ok(['INVALID_INPUT', 'INVALID_RECORD'].includes(body.error.code), line);
      assert.equal(body.error.details.field ?? body.error.details.issues?.[0]?.field, field, `${line}: ${body.error.message}`);
      const batch = await post('/api/analogies/batch', `${line}\n`, 'application/x-ndjson');
      assert.equal(batch.status, 422, line);
    }
    assert.equal(await h.store.analogies.count({ context: 'y' }), 1);
    assert.equal(await h.store.analogies.count(), 0);
  } finally {
    await h.close();
  }
});

test('knowledge import and JSON frames files refuse repeated keys', () => {
  const root = tempDir();
  const store = join(root, 's');
  cliOk(store, ['init']);
  const know = join(root, 'k.jsonl');
  writeFileSync(know, '{"kind":"concept","context":"default","record":{"id":"default:x","name":"x","name":"y"}}\n');
  const k = cliAny(store, ['import', know]);
  assert.equal(k.status, 2, k.stdout);
  assert.match(JSON.stringify(k.json.error), /duplicate key record\.name/);
  const frames = join(root, 'f.json');
  writeFileSync(frames, '{"frames":[{"name":"F","name":"G"}]}');
  const f = cliAny(store, ['frames', 'add', frames]);
  assert.equal(f.status, 2);
  assert.equal(f.json.error.code, 'INVALID_INPUT');
  assert.match(f.json.error.message, /duplicate key frames\.\[\]\.name/);
});
