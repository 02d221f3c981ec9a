/**
 * Documented schemas: the README's frames example is a valid frames file, the OpenAPI document
 * describes frames, elements, relations and instances field by field (generated from the zod
 * schemas), REST answers frames as the library does (no field lost to the schema), and analogy
 * completion states its order.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLI_PATH, cliOk, tempDir } from './helpers.js';
import { startHarness } from './service-helpers.js';

const README = readFileSync(resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'README.md'), 'utf8');

function readmeFramesExample(): string {
  const at = README.indexOf('**Frames file**');
  assert.ok(at >= 0, 'README has a Frames file section');
  const m = /```yaml\n([\s\S]*?)```/.exec(README.slice(at));
  assert.ok(m, 'with a YAML example');
  return m[1];
}

type Json = { [key: string]: unknown };

/** Every sub-schema of a schema, itself included. */
function* schemas(value: unknown): Generator<Json> {
  if (Array.isArray(value)) for (const v of value) yield* schemas(v);
  else if (typeof value === 'object' && value !== null) {
    yield value as Json;
    for (const v of Object.values(value)) yield* schemas(v);
  }
}

test('the README frames example is a complete, valid frames file', () => {
  const dir = tempDir();
  const store = join(dir, 's');
  cliOk(store, ['init']);
  for (const name of ['customer', 'bread', 'coin']) cliOk(store, ['concepts', 'add', name, '--provider', 'hash']);
  const file = join(dir, 'frames.yaml');
  writeFileSync(file, readmeFramesExample());
  const added = cliOk(store, ['frames', 'add', file]) as { frames: number; relations: number; instances: number };
  assert.deepEqual([added.frames, added.relations, added.instances], [2, 1, 1]);
  const commerce = cliOk(store, ['frames', 'get', 'Commerce']) as { core_elements: Array<Record<string, unknown>>; relations: unknown[] };
  // every field of an element appears in the example
  assert.deepEqual(Object.keys(commerce.core_elements[0]).sort(), ['description', 'name', 'semantic_constraints', 'type', 'typical_fillers']);
  assert.equal(commerce.relations.length, 1);
  const found = cliOk(store, ['frames', 'query', '--element', 'Buyer', '--concept', 'default:customer']) as { count: number };
  assert.equal(found.count, 1);
});

test('OpenAPI: frames, elements, relations and instances have real schemas; REST answers them whole', async () => {
  const h = await startHarness();
  try {
    const doc = (await (await fetch(`${h.base}/openapi.json`)).json()) as { paths: Record<string, Record<string, Json>> };
    const post = doc.paths['/api/frames'].post as { requestBody: { content: Record<string, { schema: Json }> } };
    const body = Object.values(post.requestBody.content)[0].schema as { properties: Record<string, { items: { properties: Record<string, Json> } }> };
    const frame = body.properties.frames.items.properties;
    assert.deepEqual(Object.keys(frame).sort(), ['core_elements', 'definition', 'inherits_from', 'lexical_units', 'metadata', 'name', 'peripheral_elements', 'uses_frames']);
    const element = (frame.core_elements as { items: { properties: Json } }).items.properties;
    assert.deepEqual(Object.keys(element).sort(), ['description', 'name', 'semantic_constraints', 'type', 'typical_fillers']);
    const relation = body.properties.relations.items.properties;
    assert.ok(((relation.type as { enum: string[] }).enum ?? []).includes('inheritance'));
    const instance = body.properties.instances.items.properties;
    assert.deepEqual(Object.keys(instance).sort(), ['confidence', 'context', 'element_bindings', 'frame_name', 'instance_id']);
    for (const path of ['/api/frames', '/api/frames/{name}', '/api/frames/{name}/instances', '/api/frames/query']) {
      for (const [method, op] of Object.entries(doc.paths[path]) as Array<[string, { requestBody?: unknown; responses: Record<string, unknown> }]>) {
        // error bodies carry free-form details, a workflow its metadata; records and inputs are not loose
        const parts = [op.requestBody, op.responses['200']];
        for (const s of schemas(parts)) assert.notEqual(s.additionalProperties, true, `${method} ${path} has a loose object schema`);
      }
    }
    const get = doc.paths['/api/frames/{name}'].get as { responses: Record<string, { content: Record<string, { schema: { properties: Json } }> }> };
    const answered = Object.keys(Object.values(get.responses['200'].content)[0].schema.properties);
    for (const k of ['core_elements', 'relations', 'version', 'created_at', 'deleted_at']) assert.ok(answered.includes(k), k);

    // the response schema loses no field: REST answers exactly what the library returns
    for (const name of ['customer', 'bread', 'coin']) await h.store.concepts.add({ name }, { provider: 'hash' });
    const r = await fetch(`${h.base}/api/frames`, { method: 'POST', headers: { 'content-type': 'application/yaml' }, body: readmeFramesExample() });
    assert.equal(r.status, 201, await r.clone().text());
    const viaRest = (await (await fetch(`${h.base}/api/frames/Commerce_buy`)).json()) as Json;
    assert.deepEqual(viaRest, JSON.parse(JSON.stringify(await h.store.frames.get('Commerce_buy'))));
    const instances = (await (await fetch(`${h.base}/api/frames/Commerce_buy/instances`)).json()) as { instances: Json[] };
    assert.deepEqual(instances.instances, JSON.parse(JSON.stringify(await h.store.frames.instances('Commerce_buy'))));
    const complete = doc.paths['/api/analogy/complete'].get as { summary: string };
    assert.match(complete.summary, /a : b :: c : \?/);
    assert.match(complete.summary, /a is to b as c is to \?/);
  } finally {
    await h.close();
  }
});

test('analogy complete states its order (A : B :: C : ?) in --help and the README', () => {
  const help = spawnSync(process.execPath, [CLI_PATH, 'analogy', 'complete', '--help'], { encoding: 'utf8' });
  assert.equal(help.status, 0);
  assert.match(help.stdout, /A : B :: C : \?/);
  assert.match(help.stdout, /A is to B as C is to X/);
  assert.match(README, /analogy complete A B C[^\n]*\n[^\n]*A : B :: C : \?/);
});
