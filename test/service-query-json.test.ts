/**
 * GET /api/analogies answers with the records' own JSON text joined into the page (no parse and
 * serialise per record). Its answers must be the ones the route gave when it serialised the
 * records of store.analogies.query with its response schema: the same JSON values, for every
 * filter, on both backends, and the same errors for bad input.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fastJson from 'fast-json-stringify';
import { Store } from '../src/index.js';
import type { AnalogyFilter } from '../src/core/schemas.js';
import { buildServer } from '../src/service/server.js';
import { analogyPageSchema } from '../src/service/routes/analogies.js';
import { inScratchDirectory, usePostgres } from './pg-helpers.js';

const db = await usePostgres();
if (!('skip' in db)) inScratchDirectory();

/** What the route answered before: the page object serialised with its response schema. */
const serialisePage = fastJson(analogyPageSchema as Parameters<typeof fastJson>[0]);

const T0 = Date.parse('2025-05-01T00:00:00.000Z');

/** Records with what JSON text can differ in: escapes, non-ASCII, nesting, number forms. */
async function fill(store: Store, dir: string): Promise<void> {
  await store.contexts.create('other');
  for (let i = 0; i < 40; i++) {
    await store.analogies.save({
      id: `q-${i}`,
      source_domain: i % 3 === 0 ? 'music' : 'finance',
      target_domain: i % 4 === 0 ? 'music' : 'biology',
      quality_score: ((i * 37) % 101) / 100,
      concept_mappings: { [`tone ${i}`]: i % 2 ? 'colour "hue"' : 'déjà vu 漢字 😀', 'back\\slash': 'new\nline\ttab\u0001' },
      frame_mappings: i % 5 === 0 ? { motion: 'flow' } : {},
      tags: i % 2 ? ['red', 'x"y'] : ['blue'],
      metadata: { i, small: 1e-7, big: 123456789012345, neg: -2.5e10, ok: i % 2 === 0, none: null, deep: { a: [1, [2, { b: '}]{[' }]] } },
      created_at: new Date(T0 + i * 60_000).toISOString(),
    });
  }
  for (let i = 0; i < 5; i++) await store.analogies.save({ id: `o-${i}`, source_domain: 'music', target_domain: 'art', quality_score: i / 5 }, 'other');
  for (const id of ['q-3', 'q-8', 'q-21']) await store.analogies.delete(id);
  // Imported lines as a client wrote them: spaces, another key order, escapes, 1.0 and 1E2.
  const file = join(dir, 'odd.jsonl');
  writeFileSync(
    file,
    [
      '{ "target_domain" : "music", "source_domain":"physics", "quality_score": 1.0, "id": "imp-1", "metadata": {"n": 1E2, "s": "\\u00e9\\/"} }',
      '{"quality_score":0.5,"source_domain":"music","target_domain":"physics","tags":["a","b"],"id":"imp-2","concept_mappings":{"k":"v"}}',
      '{"source_domain":"music","target_domain":"music","quality_score":0.75}',
    ].join('\n') + '\n',
  );
  const imported = await store.analogies.import(file);
  assert.equal(imported.imported, 3);
}

/** [query string, the filter the route passes to the store] */
const QUERIES: Array<[string, AnalogyFilter & { total?: boolean }]> = [
  ['', {}],
  ['limit=5', { limit: 5 }],
  ['limit=7&offset=4&total=true', { limit: 7, offset: 4, total: true }],
  ['domain=music', { domain: 'music' }],
  ['domain=music&min_quality=0.3&limit=20&total=true', { domain: 'music', min_quality: 0.3, limit: 20, total: true }],
  ['domain=physics', { domain: 'physics' }],
  ['tag=red&limit=20', { tag: 'red', limit: 20 }],
  ['frame_type=motion', { frame_type: 'motion' }],
  ['max_quality=0.2', { max_quality: 0.2 }],
  [`created_after=${encodeURIComponent(new Date(T0 + 20 * 60_000).toISOString())}`, { created_after: new Date(T0 + 20 * 60_000).toISOString() }],
  ['context=other&domain=music', { context: 'other', domain: 'music' }],
  ['domain=nowhere&total=true', { domain: 'nowhere', total: true }],
  ['limit=10&offset=1000', { limit: 10, offset: 1000 }],
];

/** Bad input: [query string, the status, the error code] (the same as before: the route's checks did not change). */
const BAD: Array<[string, number, string]> = [
  ['limit=-1', 400, 'INVALID_INPUT'],
  ['offset=abc', 400, 'INVALID_INPUT'],
  ['min_quality=2', 400, 'INVALID_INPUT'],
  ['bogus=1', 400, 'INVALID_INPUT'],
  ['created_after=yesterday', 400, 'INVALID_INPUT'],
  ['context=missing', 404, 'CONTEXT_NOT_FOUND'],
];

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    const e = err as { code?: unknown; message?: unknown; details?: unknown };
    return { code: e.code, message: e.message, details: e.details };
  }
  return 'resolved';
}

async function checkAnswers(store: Store, dir: string): Promise<void> {
  await fill(store, dir);
  const app = await buildServer({ store, logLevel: 'silent', rateLimit: false, processInWorker: false });
  try {
    const base = await app.listen({ port: 0, host: '127.0.0.1' });
    for (const [qs, { total, ...filter }] of QUERIES) {
      const res = await fetch(`${base}/api/analogies?${qs}`);
      const body = await res.text();
      assert.equal(res.status, 200, `${qs}: ${body}`);
      assert.equal(res.headers.get('content-type'), 'application/json; charset=utf-8');
      const analogies = await store.analogies.query({ ...filter, limit: filter.limit ?? 1000 });
      const { offset: _o, limit: _l, ...criteria } = filter;
      const before = serialisePage({ count: analogies.length, offset: filter.offset ?? 0, ...(total ? { total: await store.analogies.count(criteria) } : {}), analogies });
      assert.deepStrictEqual(JSON.parse(body), JSON.parse(before), `GET /api/analogies?${qs}`);
      assert.ok(qs.includes('offset=1000') || analogies.length > 0 || qs.includes('nowhere'), `${qs} finds something`);
    }
    for (const [qs, status, code] of BAD) {
      const res = await fetch(`${base}/api/analogies?${qs}`);
      const body = (await res.json()) as { error: { code: string } };
      assert.deepEqual([res.status, body.error.code], [status, code], qs);
    }
    // The store calls reject alike where the route leaves the check to the store.
    const badFilters: AnalogyFilter[] = [{ context: 'missing' }, { limit: -1 }, { min_quality: 2 }, { created_after: 'yesterday' }, { context: 'Bad Name' }];
    for (const f of badFilters) assert.deepEqual(await rejection(store.analogies.queryJson(f)), await rejection(store.analogies.query(f)), JSON.stringify(f));
  } finally {
    await app.close();
  }
}

test('GET /api/analogies from stored JSON text: the same answers and errors as serialising the records (embedded)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'softlogic-query-json-'));
  const store = await Store.open(join(dir, 'store'), { create: true });
  try {
    await checkAnswers(store, dir);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('GET /api/analogies from stored JSON text: the same answers and errors as serialising the records (PostgreSQL)', { skip: 'skip' in db ? db.skip : false }, async () => {
  if ('skip' in db) return;
  const dir = mkdtempSync(join(tmpdir(), 'softlogic-query-json-'));
  const store = await Store.init(db.freshStoreUrl());
  try {
    await checkAnswers(store, dir);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
