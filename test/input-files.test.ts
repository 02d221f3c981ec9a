import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { readInputRecords, type InputItem } from '../src/core/input-files.js';
import { asyncErr, genAnalogies, tempDir } from './helpers.js';

async function readAll(path: string): Promise<InputItem[]> {
  const items: InputItem[] = [];
  for await (const item of readInputRecords(path)) items.push(item);
  return items;
}

/** Counts the bytes Buffer.concat copies while fn runs: the splitter's work on long lines. */
async function bytesConcatenated(fn: () => Promise<void>): Promise<number> {
  const original = Buffer.concat;
  let copied = 0;
  Buffer.concat = ((list: readonly Uint8Array[], total?: number) => {
    const out = original(list, total);
    copied += out.length;
    return out;
  }) as typeof Buffer.concat;
  try {
    await fn();
  } finally {
    Buffer.concat = original;
  }
  return copied;
}

test('a gzip\'d file holding one 40 MB line is split in linear work (each byte copied about once)', async () => {
  const dir = tempDir();
  const size = 40 * 1024 * 1024;
  const line = Buffer.alloc(size, 0x61);
  const file = join(dir, 'long.jsonl.gz');
  writeFileSync(file, gzipSync(Buffer.concat([Buffer.from('{"a":1}\n'), line, Buffer.from('\n{"b":2}\n')])));
  let items: InputItem[] = [];
  const started = performance.now();
  const copied = await bytesConcatenated(async () => {
    items = await readAll(file);
  });
  const seconds = (performance.now() - started) / 1000;
  // Quadratic splitting copied the growing line once per gunzip piece (~640 pieces: ~13 GB).
  assert.ok(copied <= 2 * size, `copied ${copied} bytes for a ${size}-byte line`);
  assert.ok(seconds < 30, `took ${seconds} s`);
  assert.deepEqual(
    items.map((i) => [i.line, 'error' in i]),
    [
      [1, false],
      [2, true],
      [3, false],
    ],
  );
  assert.match((items[1] as { error: string }).error, /over the 65536 limit/);
});

test('lines split across pieces keep their text, CRLF endings and a last line without newline', async () => {
  const dir = tempDir();
  const file = join(dir, 'x.jsonl.gz');
  const text = '{"a":"é"}\r\n\n  \n' + `{"b":"${'z'.repeat(60_000)}"}\n{"c":3}`;
  writeFileSync(file, gzipSync(Buffer.from(text)));
  const items = await readAll(file);
  assert.deepEqual(
    items.map((i) => ('value' in i ? [i.line, Object.keys(i.value as object)[0]] : [i.line, 'error'])),
    [
      [1, 'a'],
      [4, 'b'],
      [5, 'c'],
    ],
  );
  assert.equal((items[0] as { value: { a: string } }).value.a, 'é');
});

test('a JSON array is read element by element: positions, nested brackets in strings, pretty-printed text', async () => {
  const dir = tempDir();
  const file = join(dir, 'a.json');
  const values = [{ s: 'a"],[{"' }, { n: [1, [2, { x: ']' }]] }, 'text, with comma', 7, null, { e: '\\' }];
  writeFileSync(file, '\n  ' + JSON.stringify(values, null, 2) + '\n\n');
  const items = await readAll(file);
  assert.deepEqual(
    items.map((i) => [i.line, 'value' in i ? i.value : i.error]),
    values.map((v, i) => [i + 1, v]),
  );
  writeFileSync(join(dir, 'e.json'), '[]');
  assert.deepEqual(await readAll(join(dir, 'e.json')), []);
  writeFileSync(join(dir, 'g.json.gz'), gzipSync(Buffer.from(JSON.stringify(values))));
  assert.equal((await readAll(join(dir, 'g.json.gz'))).length, values.length);
});

test('a broken JSON array is refused with INVALID_INPUT naming where', async () => {
  const dir = tempDir();
  const cases: Array<[string, RegExp]> = [
    ['[{"a":1},]', /value is missing/],
    ['[,{"a":1}]', /value is missing/],
    ['[{"a":1}\n{"b":2}]', /element 1 \(line 1\)/],
    ['[{"a":1}] x', /after the closing/],
    ['[{"a":1},\n{"b":', /not closed/],
    ['[{"a":1},\n {"b":}]', /element 2 \(line 2\)/],
    ['[1]]', /after the closing/],
    ['[{"a":1}}]', /unbalanced/],
  ];
  for (const [text, reason] of cases) {
    const file = join(dir, 'bad.json');
    writeFileSync(file, text);
    const err = await asyncErr(() => readAll(file));
    assert.equal(err.code, 'INVALID_INPUT', text);
    assert.match(err.message, reason, text);
  }
});

test('a large JSON array is streamed: heap growth stays far below the file size', async () => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const dir = tempDir();
  const file = join(dir, 'big.json');
  const n = 200_000;
  const out = createWriteStream(file);
  let bytes = 0;
  out.write('[');
  for (let k = 0; k < n; k += 10_000) {
    const chunk = genAnalogies(10_000, k).map((a) => JSON.stringify(a)).join(',\n');
    bytes += chunk.length;
    out.write((k > 0 ? ',\n' : '') + chunk);
  }
  out.write(']\n');
  await new Promise<void>((resolve) => out.end(resolve));
  gc();
  const base = process.memoryUsage().heapUsed;
  let peak = 0;
  let count = 0;
  for await (const item of readInputRecords(file)) {
    assert.ok('value' in item);
    count += 1;
    if (count % 20_000 === 0) {
      gc();
      peak = Math.max(peak, process.memoryUsage().heapUsed - base);
    }
  }
  assert.equal(count, n);
  // Parsing the whole array at once held the text and every value: several times the file.
  assert.ok(peak < bytes / 8, `heap grew ${peak} bytes reading a ${bytes}-byte array`);
});
