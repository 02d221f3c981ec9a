/**
 * Building blocks of the import path: id keys (idHash) and the staged-file reader.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { idHash, mintId } from '../src/core/id-hash.js';
import { crc32Hex } from '../src/core/checksum.js';
import { isSoftlogicError } from '../src/core/errors.js';
import { StagedSpanReader, readStaged } from '../src/backend/embedded/embedded-staging.js';
import { encodeStagedLine } from '../src/core/staged-lines.js';
import { BytesInterner, readIndexArray, spanText } from '../src/backend/embedded/index-array.js';
import { rng, tempDir } from './helpers.js';

/** The definition idHash implements: a UUIDv7's time and counter bits, a hash of anything else. */
function referenceKey(id: string): number | null {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(id)) return null;
  const ms = parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
  return (ms % 2 ** 41) * 4096 + parseInt(id.slice(15, 18), 16);
}

test('idHash: a UUIDv7 keys by its time and counter; anything near one is hashed instead', () => {
  const ids = Array.from({ length: 2000 }, () => mintId());
  for (const id of ids) assert.equal(idHash(id), referenceKey(id), id);
  // Minted ids are time-ordered, so are their keys.
  for (let i = 1; i < ids.length; i++) assert.ok(idHash(ids[i]) > idHash(ids[i - 1]));
  const r = rng(7);
  const near = ids.slice(0, 200).flatMap((id) => {
    const at = Math.floor(r() * 36);
    return [id.toUpperCase(), id.slice(0, 14) + '4' + id.slice(15), id.slice(0, 19) + 'c' + id.slice(20), id.slice(0, at) + 'g' + id.slice(at + 1), `${id}0`, id.slice(1), id.replace(/-/g, '')];
  });
  for (const id of near) {
    const expected = referenceKey(id);
    if (expected !== null) assert.equal(idHash(id), expected, id);
    else assert.ok(Number.isSafeInteger(idHash(id)) && idHash(id) >= 0, id);
  }
  assert.equal(idHash('x1'), idHash('x1'));
  assert.notEqual(idHash('x1'), idHash('x2'));
});

function stagedFile(dir: string, items: string[], tail = ''): string {
  const path = join(dir, 'staged.jsonl');
  writeFileSync(path, items.map(encodeStagedLine).join('') + tail);
  return path;
}

function readAll(path: string, from: number, bufferBytes: number): string[] {
  const reader = new StagedSpanReader(path, from, bufferBytes);
  const out: string[] = [];
  try {
    for (let span = reader.next(); span; span = reader.next()) out.push(span.data.toString('utf8', span.start, span.end));
  } finally {
    reader.close();
  }
  return out;
}

test('StagedSpanReader: every item in order from any index, lines longer than its buffer included', async () => {
  const dir = tempDir();
  const items = Array.from({ length: 300 }, (_, i) => JSON.stringify({ i, pad: 'é'.repeat(i % 50 === 0 ? 5000 : i % 17) }));
  const path = stagedFile(dir, items);
  // A 64-byte buffer forces a refill on nearly every line, and growth for the long ones.
  for (const bufferBytes of [64, 4096, 1 << 22]) {
    assert.deepEqual(readAll(path, 0, bufferBytes), items);
    assert.deepEqual(readAll(path, 123, bufferBytes), items.slice(123));
    assert.deepEqual(readAll(path, 300, bufferBytes), []);
  }
  const viaAsync: string[] = [];
  for await (const s of readStaged(path, 250)) viaAsync.push(s.json);
  assert.deepEqual(viaAsync, items.slice(250));
});

test('StagedSpanReader: a bad CRC, a damaged prefix or a torn last line is STAGED_CORRUPT naming the item', () => {
  const dir = tempDir();
  const items = ['{"a":1}', '{"a":2}', '{"a":3}'];
  const cases: Array<[string, number]> = [
    [items.map(encodeStagedLine).join('').replace('{"a":2}', '{"a":9}'), 2],
    [`${encodeStagedLine(items[0])}zz${encodeStagedLine(items[1]).slice(2)}`, 2],
    [`${encodeStagedLine(items[0])}${crc32Hex(items[1])}${items[1]}\n`, 2],
    [`${encodeStagedLine(items[0])}${encodeStagedLine(items[1]).slice(0, -3)}`, 2],
  ];
  for (const [text, item] of cases) {
    const path = join(dir, 'bad.jsonl');
    writeFileSync(path, text);
    for (const bufferBytes of [16, 1 << 22]) {
      assert.throws(
        () => readAll(path, 0, bufferBytes),
        (e: unknown) => isSoftlogicError(e) && e.code === 'STAGED_CORRUPT' && (e.details as { item?: number }).item === item,
      );
    }
  }
});

test('readIndexArray reads what JSON.stringify wrote exactly as JSON.parse does, or declines', () => {
  const r = rng(11);
  const texts = ['politics', 'a"b', 'back\\slash', 'é', 'line\u2028sep', '😀', 'tab\there', '', '["tag9","bench"]', 'x'.repeat(300)];
  const numbers = [0, 1, 0.5, 0.8525, 1e-7, 0.1234567890123456, 5e-324, 0.1 + 0.2, 123456789012345, 1764157518674];
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)];
  const interner = new BytesInterner([]);
  const seen = new Map<string, number>();
  for (let k = 0; k < 3000; k++) {
    const columns = [mintId(), 1 + Math.floor(r() * 3), pick(texts), pick(texts), pick(numbers), pick(numbers), r() < 0.2 ? null : pick(texts), r() < 0.3 ? null : JSON.stringify([pick(texts)]), r() < 0.3 ? null : pick(texts)];
    const data = Buffer.from(`xx${JSON.stringify(columns)},"input":{}}`);
    const got = readIndexArray(data, 2, data.length);
    assert.ok(got, JSON.stringify(columns));
    assert.equal(data[got.end - 1], 0x5d);
    const values = [data.toString('latin1', got.idStart, got.idEnd), got.version, spanText(data, got.source), spanText(data, got.target), got.quality, got.created, spanText(data, got.workflow), spanText(data, got.tags), spanText(data, got.frames)];
    assert.deepEqual(values, JSON.parse(data.toString('utf8', 2, got.end)));
    // The same text always gets the same number, different texts different ones.
    for (const s of [got.source, got.target, got.workflow, got.tags]) {
      const text = spanText(data, s);
      const n = interner.intern(data, s);
      if (text === null) {
        assert.equal(n, -1);
        continue;
      }
      if (!seen.has(text)) assert.ok(![...seen.values()].includes(n), `${text} shares ${n}`);
      seen.set(text, seen.get(text) ?? n);
      assert.equal(n, seen.get(text), text);
    }
  }
  assert.ok(seen.size > 10);
  // Forms JSON.stringify does not write are declined (the caller falls back to JSON.parse).
  for (const text of ['[ "id",1,"a","b",0.5,1,null,null,null]', '["id",1,"a","b",0.5,1,null,null]', '["id",1,"a","b",0.5,1,null,null,null,1]', '["i\\"d",1,"a","b",0.5,1,null,null,null]', '["id","1","a","b",0.5,1,null,null,null]', '["id",1,"a","b",x,1,null,null,null]']) {
    assert.equal(readIndexArray(Buffer.from(text), 0, text.length), null, text);
  }
});
