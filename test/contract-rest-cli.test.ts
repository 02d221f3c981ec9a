import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { CLI_PATH, cli, cliErr, cliOk, tempDir, useTestGloveCache, writeJsonl } from './helpers.js';
import { analogy, startHarness, type Harness } from './service-helpers.js';

/**
 * One contract for the CLI (--json) and the REST API: the same operation answers with the same
 * JSON shape, an unknown context is CONTEXT_NOT_FOUND on both, and REST errors name no CLI flags.
 */
useTestGloveCache();

let h: Harness;
let store: string;
const imported: { cli?: unknown; rest?: unknown } = {};

/** The shape of a JSON value: object keys with the shapes of their values, an array's first item. */
function shape(value: unknown): unknown {
  if (Array.isArray(value)) return value.length === 0 ? ['empty'] : [shape(value[0])];
  if (value === null) return 'null';
  if (typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>)
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([k, v]) => [k, shape(v)]),
    );
  }
  return typeof value;
}

async function rest(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const r = await fetch(`${h.base}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: r.status, json: await r.json() };
}

before(async () => {
  h = await startHarness();
  const dir = tempDir();
  store = join(dir, 's');
  cliOk(store, ['init']);
  // The same records on both sides: 6 analogies, a-3 deleted and restored, one child context.
  const items = Array.from({ length: 6 }, (_, i) => analogy(i));
  imported.cli = cliOk(store, ['analogies', 'import', writeJsonl(join(dir, 'a.jsonl'), items)]);
  const r = await fetch(`${h.base}/api/analogies/batch`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-ndjson' },
    body: items.map((a) => JSON.stringify(a)).join('\n') + '\n',
  });
  assert.equal(r.status, 201);
  imported.rest = await r.json();
  cliOk(store, ['analogies', 'delete', 'a-3']);
  cliOk(store, ['analogies', 'restore', 'a-3']);
  assert.equal((await rest('DELETE', '/api/analogies/a-3')).status, 200);
  assert.equal((await rest('POST', '/api/analogies/a-3/restore')).status, 200);
  cliOk(store, ['contexts', 'create', 'science', '--description', 'sci']);
  assert.equal((await rest('POST', '/api/contexts', { name: 'science', description: 'sci' })).status, 201);
});

after(async () => {
  await h.close();
});

test('the same operation has the same JSON shape on the CLI and the REST API', async () => {
  const pairs: Array<[string[], string, string]> = [
    [['contexts', 'list'], 'GET', '/api/contexts'],
    [['workflows', 'list'], 'GET', '/api/workflows'],
    [['audit', '--event', 'context_created', '--limit', '1'], 'GET', '/api/audit?event=context_created&limit=1'],
    [['analogies', 'history', 'a-3'], 'GET', '/api/analogies/a-3/history'],
    [['analogies', 'query', '--limit', '3'], 'GET', '/api/analogies?limit=3'],
    [['analogies', 'get', 'a-1'], 'GET', '/api/analogies/a-1'],
    [['concepts', 'list', '--context', 'science'], 'GET', '/api/concepts?context=science'],
    [['frames', 'list'], 'GET', '/api/frames'],
    [['fields', 'list'], 'GET', '/api/fields'],
    [['compact', '--context', 'science'], 'POST', '/api/compact?context=science'],
    [['similarity', 'cat', 'dog'], 'GET', '/api/similarity?a=cat&b=dog'],
  ];
  for (const [args, method, path] of pairs) {
    const fromCli = cliOk(store, args);
    const fromRest = await rest(method, path);
    assert.equal(fromRest.status, 200, `${method} ${path}: ${JSON.stringify(fromRest.json)}`);
    assert.deepEqual(shape(fromRest.json), shape(fromCli), `softlogic ${args.join(' ')} and ${method} ${path} differ in shape`);
  }
  assert.deepEqual(shape(imported.rest), shape(imported.cli), 'analogies import and POST /api/analogies/batch differ in shape');
  const list = (await rest('GET', '/api/contexts')).json as { contexts: Array<{ name: string }> };
  assert.deepEqual(list.contexts.map((c) => c.name).sort(), ['default', 'science']);
  const hist = (await rest('GET', '/api/analogies/a-3/history')).json as { id: string; versions: Array<{ op: string }> };
  assert.equal(hist.id, 'a-3');
  assert.equal(hist.versions.length, 3);
});

test('an unknown context is CONTEXT_NOT_FOUND on every route and command, never an empty success', async () => {
  const pairs: Array<[string[], string, string, unknown?]> = [
    [['analogies', 'query', '--context', 'nope'], 'GET', '/api/analogies?context=nope'],
    [['analogies', 'get', 'a-1', '--context', 'nope'], 'GET', '/api/analogies/a-1?context=nope'],
    [['analogies', 'history', 'a-1', '--context', 'nope'], 'GET', '/api/analogies/a-1/history?context=nope'],
    [['analogies', 'delete', '--domain', 'finance', '--context', 'nope'], 'DELETE', '/api/analogies?domain=finance&context=nope'],
    [['concepts', 'list', '--context', 'nope'], 'GET', '/api/concepts?context=nope'],
    [['frames', 'list', '--context', 'nope'], 'GET', '/api/frames?context=nope'],
    [['fields', 'list', '--context', 'nope'], 'GET', '/api/fields?context=nope'],
    [['fields', 'discover', '--k', '2', '--context', 'nope'], 'POST', '/api/fields/discover?context=nope', { k: 2 }],
    [['fields', 'cross-domain', '--context', 'nope'], 'POST', '/api/fields/cross-domain?context=nope', {}],
    [['similarity', 'cat', 'dog', '--context', 'nope'], 'GET', '/api/similarity?a=cat&b=dog&context=nope'],
    [['analogy', 'complete', 'man', 'king', 'woman', '--context', 'nope'], 'POST', '/api/analogy/complete?context=nope', { a: 'man', b: 'king', c: 'woman' }],
    [['embeddings', 'info', '--context', 'nope'], 'GET', '/api/embeddings/info?context=nope'],
    [['compact', '--context', 'nope'], 'POST', '/api/compact?context=nope'],
  ];
  for (const [args, method, path, body] of pairs) {
    assert.equal(cliErr(store, args).code, 'CONTEXT_NOT_FOUND', `softlogic ${args.join(' ')}`);
    const r = await rest(method, path, body);
    assert.equal(r.status, 404, `${method} ${path}: ${JSON.stringify(r.json)}`);
    assert.equal((r.json as { error: { code: string } }).error.code, 'CONTEXT_NOT_FOUND', `${method} ${path}`);
  }
  const stream = cli(store, ['analogies', 'stream', '--context', 'nope']);
  assert.equal(stream.status, 2);
  assert.equal((JSON.parse(stream.stdout) as { error: { code: string } }).error.code, 'CONTEXT_NOT_FOUND');
  const kinds = cli(store, ['stream', 'concept', '--context', 'nope']);
  assert.equal(kinds.status, 2);
});

test('?context= is honoured by fields discover (body context wins over it)', async () => {
  assert.equal((await rest('POST', '/api/contexts', { name: 'fx' })).status, 201);
  for (const name of ['cat', 'dog', 'car', 'bus']) {
    assert.equal((await rest('POST', '/api/concepts?context=fx', { name, provider: 'hash' })).status, 201);
  }
  const r = await rest('POST', '/api/fields/discover?context=fx', { k: 2, seed: 1 });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  assert.equal((r.json as { context: string }).context, 'fx');
  const listed = (await rest('GET', '/api/fields?context=fx')).json as { clusters: unknown[] };
  assert.equal(listed.clusters.length, 2);
  assert.equal(((await rest('GET', '/api/fields')).json as { clusters: unknown[] }).clusters.length, 0, 'default untouched');
});

test('REST error messages name no CLI flags; the CLI adds the hint', async () => {
  const r = await rest('GET', '/api/analogy/complete?a=man&b=king&c=nope&scope=registry');
  assert.equal(r.status, 404);
  const message = (r.json as { error: { message: string } }).error.message;
  assert.doesNotMatch(message, /--/);
  const bad = await rest('DELETE', '/api/analogies');
  assert.equal(bad.status, 400);
  assert.doesNotMatch((bad.json as { error: { message: string } }).error.message, /--/);
  const human = spawnSync(process.execPath, [CLI_PATH, '--store', store, 'analogy', 'complete', 'man', 'king', 'nope', '--scope', 'registry'], { encoding: 'utf8' });
  assert.equal(human.status, 2);
  assert.match(human.stderr, /NOT_IN_VOCABULARY/);
  assert.match(human.stderr, /hint: use --scope vocabulary/);
});

test('concepts add of an existing name keeps the fields it does not give (CLI and REST)', async () => {
  const first = cliOk(store, ['concepts', 'add', 'lion', '--description', 'big cat', '--provider', 'hash']);
  assert.equal(first.version, 1);
  const again = cliOk(store, ['concepts', 'add', 'lion']);
  assert.equal(again.version, 2);
  assert.equal(again.description, 'big cat');
  assert.equal(cliOk(store, ['concepts', 'get', 'default:lion']).description, 'big cat');
  const changed = cliOk(store, ['concepts', 'add', 'lion', '--description', 'king of beasts']);
  assert.equal(changed.description, 'king of beasts');

  assert.equal((await rest('POST', '/api/concepts', { name: 'tiger', description: 'striped', provider: 'hash' })).status, 201);
  const r = await rest('POST', '/api/concepts', { name: 'tiger' });
  assert.equal(r.status, 201);
  assert.equal((r.json as { description: string; version: number }).description, 'striped');
  assert.equal((r.json as { version: number }).version, 2);
});

test('contexts create: same parent is idempotent, another parent is a CONFLICT', async () => {
  cliOk(store, ['contexts', 'create', 'kid', '--parent', 'science']);
  const same = cliOk(store, ['contexts', 'create', 'kid', '--parent', 'science']);
  assert.equal(same.parent, 'science');
  assert.equal(cliErr(store, ['contexts', 'create', 'kid', '--parent', 'default']).code, 'CONFLICT');
  assert.equal(cliErr(store, ['contexts', 'create', 'kid']).code, 'CONFLICT');
  const kid = (cliOk(store, ['contexts', 'list']) as { contexts: Array<{ name: string; parent: string | null }> }).contexts.find((c) => c.name === 'kid');
  assert.equal(kid?.parent, 'science', 'the refused create changed nothing');

  assert.equal((await rest('POST', '/api/contexts', { name: 'kid', parent: 'science' })).status, 201);
  assert.equal((await rest('POST', '/api/contexts', { name: 'kid', parent: 'science' })).status, 201);
  const conflict = await rest('POST', '/api/contexts', { name: 'kid', parent: 'default' });
  assert.equal(conflict.status, 409);
  assert.equal((conflict.json as { error: { code: string } }).error.code, 'CONFLICT');
});
