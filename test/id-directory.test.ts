/**
 * The chunk encoder's record of the ids an import wrote (id-directory.ts ImportIds): typed
 * arrays keyed by the ids' hashes, a hash match confirmed by reading the earlier item's id back
 * from the staged file. Two ids sharing a hash stay two records; a repeated id finds its slot
 * across pages and table growth; created_at comes back as written (kept as text, as time, or as
 * its place in the staged file).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ImportIds, mergeRuns, SortedHashes } from '../src/backend/embedded/id-directory.js';
import { StagedSpanReader } from '../src/backend/embedded/embedded-staging.js';
import { encodeStagedLine } from '../src/core/staged-lines.js';
import { idHash } from '../src/core/id-hash.js';
import { openStore } from '../src/index.js';
import { tempDir } from './helpers.js';

/** Ids laid out one after the other, as the staged file would hold them; reads are counted. */
function stagedIds(): { place(id: string): { pos: number; text: null }; reads: number; read(pos: number, len: number): string } {
  let text = '';
  const state = {
    reads: 0,
    place(id: string) {
      const pos = text.length;
      text += id + ' ';
      return { pos, text: null };
    },
    read(pos: number, len: number) {
      state.reads += 1;
      return text.slice(pos, pos + len);
    },
  };
  return state;
}

test('ids sharing a hash stay apart: the exact comparison reads the earlier id back, a miss reads nothing', () => {
  const staged = stagedIds();
  const ids = new ImportIds((pos, len) => staged.read(pos, len));
  const h = 123456789;
  const a = ids.add(h, 'first-id', staged.place('first-id'));
  ids.set(a, 1, 0, 1, '2026-01-01T00:00:00.000Z');
  assert.equal(ids.find('second-id', h), -1, 'same hash, another id (another length)');
  assert.equal(ids.find('other-id', h), -1, 'same hash and length, another id');
  const b = ids.add(h, 'other-id', staged.place('other-id'));
  ids.set(b, 2, 100, 1, '2026-01-02T00:00:00.000Z');
  assert.notEqual(a, b);
  assert.equal(ids.find('first-id', h), a);
  assert.equal(ids.find('other-id', h), b);
  assert.equal(ids.get(b).off, 100);
  const before = staged.reads;
  assert.equal(ids.find('first-id', idHash('first-id')), -1, 'a hash nobody has');
  assert.equal(staged.reads, before, 'a miss reads no id back');
  // An id decoded by JSON.parse is compared as kept text.
  const c = ids.add(h, 'decoded-id', { pos: -1, text: 'decoded-id' });
  ids.set(c, 3, 200, 1, '2026-01-03T00:00:00.000Z');
  assert.equal(ids.find('decoded-id', h), c);
  assert.equal(ids.find('first-id', h), a);
});

test('140,000 ids over three pages and table sizes: each found again with its latest columns; created_at as written', () => {
  const staged = stagedIds();
  const ids = new ImportIds((pos, len) => staged.read(pos, len));
  const n = 140_000;
  const name = (i: number) => `item-${i}`;
  for (let i = 0; i < n; i++) {
    const id = name(i);
    const h = idHash(id);
    assert.equal(ids.find(id, h), -1);
    const slot = ids.add(h, id, staged.place(id));
    // Every 1000th a created_at in another ISO form: kept as its text.
    ids.set(slot, i + 1, i * 10, 1, i % 1000 === 0 ? '2020-01-01T00:00:00Z' : new Date(1.7e12 + i).toISOString());
  }
  for (let i = 0; i < n; i += 7) {
    const slot = ids.find(name(i), idHash(name(i)));
    assert.ok(slot >= 0, name(i));
    ids.set(slot, n + i + 1, (n + i) * 10, 2, ids.get(slot).created);
  }
  for (let i = 0; i < n; i++) {
    const got = ids.get(ids.find(name(i), idHash(name(i))));
    const updated = i % 7 === 0;
    assert.ok(got.off === (updated ? n + i : i) * 10 && got.version === (updated ? 2 : 1) && got.seq === (updated ? n + i + 1 : i + 1) && got.replaces === -got.seq, name(i));
    assert.equal(got.created, i % 1000 === 0 ? '2020-01-01T00:00:00Z' : new Date(1.7e12 + i).toISOString());
  }
});

test('a created_at kept as its place in the staged file comes back as written, and a later version\'s replaces it', () => {
  const staged = stagedIds();
  const ids = new ImportIds((pos, len) => staged.read(pos, len));
  const id = 'legacy-id';
  const slot = ids.add(idHash(id), id, staged.place(id));
  const created = '2025-07-09T15:22:52.123456+00:00';
  const place = staged.place(created);
  ids.set(slot, 1, 0, 1, { pos: place.pos, len: created.length });
  assert.equal(ids.get(slot).created, created);
  ids.set(slot, 2, 10, 2, '2026-01-01T00:00:00.000Z');
  assert.equal(ids.get(slot).created, '2026-01-01T00:00:00.000Z');
  ids.set(slot, 3, 20, 3, '2026-01-01T00:00:00Z');
  assert.equal(ids.get(slot).created, '2026-01-01T00:00:00Z');
  ids.set(slot, 4, 30, 4, { pos: place.pos, len: created.length });
  assert.equal(ids.get(slot).created, created, 'the place, not the text kept before');
});

test('memory of the ids an import wrote: at most 46 bytes an id with the table (a 5M import: 230 MB), seqs beyond 32 bits kept as their distance from the first', () => {
  const staged = stagedIds();
  const firstSeq = 2 ** 40;
  const ids = new ImportIds((pos, len) => staged.read(pos, len), firstSeq);
  // Five full pages of slots: the per-id figure without a half-used last page.
  const n = 5 * 65_536;
  for (let i = 0; i < n; i++) {
    const id = `id-${i}`;
    const slot = ids.add(idHash(id), id, staged.place(id));
    ids.set(slot, firstSeq + 1 + i, i * 300, 1, new Date(1.7e12 + i).toISOString());
  }
  assert.ok(ids.bytes() / n <= 46, `${(ids.bytes() / n).toFixed(1)} bytes an id`);
  const last = ids.get(ids.find(`id-${n - 1}`, idHash(`id-${n - 1}`)));
  assert.equal(last.seq, firstSeq + n);
  assert.equal(last.replaces, -(firstSeq + n));
  assert.throws(() => ids.set(0, firstSeq - 1, 0, 1, new Date(0).toISOString()), /out of the import's range/);
  // Ids whose hashes differ only above their low 32 bits: told apart by their text.
  const h = 2 ** 40 + 12345;
  const a = ids.add(h, 'hash-a', staged.place('hash-a'));
  ids.set(a, firstSeq + n + 1, 1, 1, new Date(0).toISOString());
  assert.equal(ids.find('hash-b', h + 2 ** 33), -1);
  assert.equal(ids.find('hash-a', h), a);
});

test('a staged span gives the file offset of its buffer: bytes read back there are the item\'s, across refills', () => {
  const dir = tempDir();
  const path = join(dir, 'staged.jsonl');
  const items = Array.from({ length: 500 }, (_, i) => JSON.stringify({ id: `id-${i}`, pad: 'x'.repeat(i % 37) }));
  writeFileSync(path, items.map((t) => encodeStagedLine(t)).join(''));
  const file = readFileSync(path);
  const reader = new StagedSpanReader(path, 0, 256);
  let count = 0;
  for (let span = reader.next(); span; span = reader.next()) {
    const at = span.base + span.start;
    assert.equal(file.toString('utf8', at, at + span.end - span.start), span.data.toString('utf8', span.start, span.end));
    count += 1;
  }
  reader.close();
  assert.equal(count, items.length);
});

test('an import of 66,000 ids repeating ids of both its first and its second page of slots: each repeat is the next version, in file order', { timeout: 600_000 }, async () => {
  const dir = tempDir();
  const file = join(dir, 'ids.jsonl');
  const n = 66_000;
  const line = (id: string, i: number) => JSON.stringify({ id, source_domain: `s${i % 13}`, target_domain: `t${i % 11}`, quality_score: (i % 100) / 100, metadata: { i } });
  const lines = Array.from({ length: n }, (_, i) => line(`item-${i}`, i));
  // Repeats at the end: ids of the first slots, of the last ones, and one twice.
  const repeated = ['item-0', 'item-1', 'item-65535', 'item-65536', 'item-65999', 'item-0'];
  repeated.forEach((id, k) => lines.push(line(id, n + k)));
  writeFileSync(file, lines.join('\n') + '\n');
  const store = await openStore(join(dir, 'store'), { create: true });
  try {
    const result = await store.analogies.import(file, { batchSize: 20_000 });
    assert.equal(result.imported, lines.length);
    assert.equal(await store.analogies.count(), n);
    for (const id of new Set(repeated)) {
      const expected = [Number(id.slice(5)), ...repeated.flatMap((r, k) => (r === id ? [n + k] : []))];
      const history = await store.analogies.history(id);
      assert.deepEqual(history.map((h) => (h.metadata as { i: number }).i), [...expected].reverse(), `history of ${id}`);
      assert.deepEqual(history.map((h) => h.version), expected.map((_, k) => expected.length - k));
      assert.ok(history.every((h) => h.created_at === history[history.length - 1].created_at), `created_at of ${id} kept`);
    }
    assert.equal((await store.analogies.get('item-12345')).version, 1);
    assert.equal((await store.verify()).valid, true);
  } finally {
    await store.close();
  }
});

test('the original system\'s created_at (microseconds, an offset) of an id the file repeats without one: the next version keeps it as written', { timeout: 600_000 }, async () => {
  const dir = tempDir();
  const file = join(dir, 'legacy.jsonl');
  // Enough items for the pipelined import (the chunk encoder on its thread: process.ts's PIPELINE_MIN_ITEMS).
  const n = 21_000;
  const created = (i: number) => `2025-07-09T15:22:${String(i % 60).padStart(2, '0')}.${String(i).padStart(6, '0')}+00:00`;
  const lines = Array.from({ length: n }, (_, i) => `{"type": "analogy", "workflow_id": "batch_${i % 7}", "id": "old-${i}", "created_at": "${created(i)}", "source_pair": ["a${i}"], "target_pair": ["b${i}"], "context": "c", "quality_score": 0.5}`);
  // Repeats in this package's own lines (no created_at: the current version's is kept), and one in the original's shape (its own).
  const repeats = [0, 1, 12_345, n - 1];
  for (const i of repeats) lines.push(JSON.stringify({ id: `old-${i}`, source_domain: 's', target_domain: 't', quality_score: 0.9 }));
  lines.push(`{"type": "analogy", "id": "old-7", "created_at": "2024-01-01 10:00:00", "quality_score": 0.1}`);
  writeFileSync(file, lines.join('\n') + '\n');
  const store = await openStore(join(dir, 'store'), { create: true });
  try {
    const result = await store.analogies.import(file);
    assert.equal(result.imported, lines.length);
    for (const i of repeats) {
      const history = await store.analogies.history(`old-${i}`);
      assert.deepEqual(history.map((h) => [h.version, h.created_at, h.quality_score]), [[2, created(i), 0.9], [1, created(i), 0.5]], `old-${i}`);
    }
    assert.deepEqual((await store.analogies.history('old-7')).map((h) => [h.version, h.created_at]), [[2, '2024-01-01T10:00:00Z'], [1, created(7)]]);
    assert.equal((await store.analogies.get('old-8')).created_at, created(8));
    assert.equal((await store.verify()).valid, true);
  } finally {
    await store.close();
  }
});

test('the existing ids\' hashes, read tier by tier from the id indexes (each partial on its tier), merged into one sorted array', () => {
  const runs = [[1, 5, 9, 12], [-3, 2, 5.5], [0, 100], [7]];
  const merged = mergeRuns(Float64Array.from(runs.flat()));
  assert.deepEqual(Array.from(merged), runs.flat().sort((a, b) => a - b));
  const one = Float64Array.from([1, 2, 2, 3]);
  assert.equal(mergeRuns(one), one, 'one run: the array itself');
  assert.deepEqual(Array.from(mergeRuns(new Float64Array(0))), []);
});

test('SortedHashes answers as a set of the hashes: repeated values across block edges, values between, below and above, sizes around a block', () => {
  let seed = 7;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
  for (const n of [0, 1, 31, 32, 33, 64, 1000, 5000]) {
    // Few distinct values, so runs of one value cross the 32-hash blocks.
    const values = Array.from({ length: n }, () => (next() % Math.max(1, n >> 2)) * 2 ** 21 + (n > 1000 ? next() % 3 : 0));
    const sorted = Float64Array.from(values).sort();
    const set = new Set(values);
    const hashes = new SortedHashes(sorted);
    const probes = [-1, 0, ...values, ...values.map((v) => v + 1), ...values.map((v) => v - 1), 2 ** 53 - 1];
    for (const h of probes) assert.equal(hashes.has(h), set.has(h), `n ${n}: ${h}`);
  }
});
