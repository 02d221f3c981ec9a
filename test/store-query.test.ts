import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { openStore, type Analogy, type AnalogyFilter } from '../src/index.js';
import { byId, cli, cliErr, cliOk, DAY, DOMAINS, FRAMES, genAnalogies, inputFields, matches, rng, streamLines, T0, TAGS, tempDir, writeJsonl, type GenAnalogy, type RefFilter, asyncErrCode, collect } from './helpers.js';

const N = 400;
const data = genAnalogies(N, 42);
const dir = tempDir();
const storeDir = join(dir, 'store');
const deleted = new Set(data.filter((_, i) => i % 9 === 4).map((a) => a.id));
const live = data.filter((a) => !deleted.has(a.id));

// Bounds that fall between generated timestamps (the generator uses whole milliseconds).
const iso = (days: number) => new Date(T0 + days * DAY + 0.5 * DAY + 123).toISOString();

/** Every single criterion, then combinations, all checked against the brute-force filter. */
function filters(): RefFilter[] {
  const out: RefFilter[] = [{}];
  for (const d of DOMAINS) out.push({ domain: d });
  for (const q of [0, 0.25, 0.5, 0.9, 0.999, 1]) out.push({ min_quality: q });
  for (const t of TAGS) out.push({ tag: t });
  out.push({ tag: 'no-such-tag' }, { domain: 'no-such-domain' });
  out.push({ created_after: iso(500) }, { created_before: iso(200) }, { created_after: iso(100), created_before: iso(300) });
  out.push({ created_after: iso(2000) }, { created_before: iso(-5) });
  const r = rng(7);
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)];
  for (let i = 0; i < 25; i++) {
    const f: RefFilter = {};
    if (r() < 0.6) f.domain = pick(DOMAINS);
    if (r() < 0.5) f.min_quality = Math.round(r() * 100) / 100;
    if (r() < 0.5) f.tag = pick(TAGS);
    if (r() < 0.4) f.created_after = iso(Math.floor(r() * 500));
    if (r() < 0.4) f.created_before = iso(500 + Math.floor(r() * 500));
    out.push(f);
  }
  return out;
}

function brute(f: RefFilter): GenAnalogy[] {
  return live.filter((a) => matches(a, f));
}

function assertQueryResult(got: Analogy[], f: RefFilter, limit: number, label: string): void {
  const expected = brute(f);
  const expectedQualities = expected.map((a) => a.quality_score).sort((x, y) => y - x).slice(0, limit);
  assert.deepEqual(
    got.map((a) => a.quality_score),
    expectedQualities,
    `${label}: qualities (sorted desc) differ for ${JSON.stringify(f)}`,
  );
  const byIdMap = new Map(expected.map((a) => [a.id, a]));
  for (const a of got) {
    assert.ok(byIdMap.has(a.id), `${label}: ${a.id} does not match ${JSON.stringify(f)} or is deleted`);
    assert.deepEqual(inputFields(a), byIdMap.get(a.id));
    assert.equal(a.deleted_at, null);
  }
  assert.equal(new Set(got.map((a) => a.id)).size, got.length, `${label}: duplicate ids`);
  if (expected.length <= limit) assert.deepEqual(byId(got.map(inputFields)), byId(expected), `${label}: ${JSON.stringify(f)}`);
}

function cliFlags(f: RefFilter): string[] {
  const flags: string[] = [];
  if (f.domain !== undefined) flags.push('--domain', f.domain);
  if (f.min_quality !== undefined) flags.push('--min-quality', String(f.min_quality));
  if (f.tag !== undefined) flags.push('--tag', f.tag);
  if (f.created_after !== undefined) flags.push('--created-after', f.created_after);
  if (f.created_before !== undefined) flags.push('--created-before', f.created_before);
  return flags;
}

test('setup: import the generated data, delete every 9th record', async () => {
  const store = await openStore(storeDir, { create: true });
  try {
    const r = await store.analogies.import(writeJsonl(join(dir, 'data.jsonl'), data), { batchSize: 64 });
    assert.equal(r.imported, N);
    for (const id of deleted) await store.analogies.delete(id);
    assert.equal(await store.analogies.count(), live.length);
  } finally {
    await store.close();
  }
});

test('library: query / count / stream for every filter equal the brute-force filter', async () => {
  const store = await openStore(storeDir);
  try {
    for (const f of filters()) {
      const filter = f as AnalogyFilter;
      const expected = brute(f);
      assertQueryResult(await store.analogies.query({ ...filter, limit: 1000 }), f, 1000, 'query');
      assertQueryResult(await store.analogies.query(filter), f, 100, 'query (default limit 100)');
      assertQueryResult(await store.analogies.query({ ...filter, limit: 5 }), f, 5, 'query limit 5');
      assert.equal(await store.analogies.count(filter), expected.length, `count ${JSON.stringify(f)}`);
      const streamed = (await collect(store.analogies.stream(filter)));
      assert.equal(streamed.length, expected.length, `stream ${JSON.stringify(f)}`);
      assert.deepEqual(byId(streamed.map(inputFields)), byId(expected));
      assert.deepEqual((await collect(store.analogies.streamJson(filter))).map((j) => JSON.parse(j) as Analogy), streamed);
      for (const a of streamed) assert.ok(!deleted.has(a.id), 'a deleted record was streamed');
    }
    // max_quality / frame_type are filters of the library too (used by delete by criteria)
    for (const f of [{ max_quality: 0.3 }, { frame_type: FRAMES[0] }, { frame_type: FRAMES[3], max_quality: 0.7, domain: DOMAINS[1] }]) {
      assert.equal(await store.analogies.count(f), brute(f).length, JSON.stringify(f));
      assert.deepEqual(byId((await collect(store.analogies.stream(f))).map(inputFields)), byId(brute(f)));
    }
    // stream with a limit yields the first N in log order
    const firstTen = (await collect(store.analogies.stream({ limit: 10 }))).map((a) => a.id);
    assert.deepEqual(firstTen, live.slice(0, 10).map((a) => a.id));
    // include_deleted shows tombstones to the library
    assert.equal(await store.analogies.count({ include_deleted: true }), N);
    // an unknown context is an error, not an empty answer (a misspelt name must not look empty)
    assert.equal(await asyncErrCode(() => store.analogies.query({ context: 'nowhere' })), 'CONTEXT_NOT_FOUND');
    assert.equal(await asyncErrCode(() => store.analogies.count({ context: 'nowhere' })), 'CONTEXT_NOT_FOUND');
  } finally {
    await store.close();
  }
});

test('library: invalid filters are refused with INVALID_INPUT', async () => {
  const store = await openStore(storeDir);
  try {
    for (const f of [{ min_quality: 1.5 }, { min_quality: Number.NaN }, { limit: 0 }, { created_after: 'yesterday' }, { bogus: 1 }, { tag: '' }]) {
      await assert.rejects(() => store.analogies.query(f as AnalogyFilter), (e: { code?: string }) => e.code === 'INVALID_INPUT', JSON.stringify(f));
    }
  } finally {
    await store.close();
  }
});

test('CLI: query filters, sort and limit, and stream (JSON lines) agree with brute force and with each other', () => {
  const picked: RefFilter[] = [
    {},
    { domain: 'finance' },
    { min_quality: 0.75 },
    { tag: 'gold' },
    { created_after: iso(250), created_before: iso(700) },
    { domain: 'music', min_quality: 0.3, tag: 'core' },
  ];
  for (const f of picked) {
    const q = cliOk(storeDir, ['analogies', 'query', ...cliFlags(f), '--limit', '1000']);
    assert.equal(q.count, q.analogies.length);
    assertQueryResult(q.analogies, f, 1000, 'cli query');
    const s = streamLines(storeDir, cliFlags(f));
    assert.deepEqual(byId(s.map(inputFields)), byId(brute(f)), `cli stream ${JSON.stringify(f)}`);
    assert.equal(s.length, q.count, 'stream count equals query count');
  }
  const top = cliOk(storeDir, ['analogies', 'query', '--limit', '7']);
  assert.equal(top.count, 7);
  assertQueryResult(top.analogies, {}, 7, 'cli top 7');
  const dflt = cliOk(storeDir, ['analogies', 'query']);
  assert.equal(dflt.count, 100);
  // stream prints nothing but JSON lines on stdout
  const raw = cli(storeDir, ['analogies', 'stream', '--limit', '3']);
  assert.equal(raw.status, 0);
  assert.equal(raw.stdout.split('\n').filter(Boolean).length, 3);
});

test('CLI: bad filter flags are INVALID_INPUT, exit 2', () => {
  for (const args of [
    ['--min-quality', '1.5'],
    ['--min-quality', 'abc'],
    ['--min-quality', '-0.1'],
    ['--limit', '0'],
    ['--limit', '2.5'],
    ['--created-after', 'not-a-date'],
  ]) {
    assert.equal(cliErr(storeDir, ['analogies', 'query', ...args]).code, 'INVALID_INPUT', args.join(' '));
  }
});
