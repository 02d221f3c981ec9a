/**
 * Every import path takes the fast machinery (issue 16) and makes what the plain JSON-lines file
 * makes: a JSON array (read as the JSON lines of its elements, staged on worker threads), gzip'd,
 * and bad input in it (a malformed element refuses the file, naming it, with nothing staged or
 * applied). Stores are compared through the library: every record's history, version by version.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { openStore } from '../src/index.js';
import { preparedItems } from '../src/backend/embedded/prepared-chunks.js';
import { PARALLEL_MIN_BYTES, parallelStaged } from '../src/methods/analogies/stage-parallel.js';
import { asyncErr, tempDir } from './helpers.js';
import { arrayText, dump, givenIds, values } from './import-compare.js';

const TIMEOUT = 900_000;

async function importInto(dir: string, name: string, file: string, options: { lenient?: boolean } = {}): Promise<{ dump: Map<string, unknown[]>; imported: number; rejected: number; blocks: number; pipelined: number }> {
  const store = await openStore(join(dir, name), { create: true });
  try {
    const blocks = parallelStaged.blocks;
    const pipelined = preparedItems.count;
    const result = await store.analogies.import(file, { batchSize: 5000, ...options });
    assert.equal((await store.verify()).valid, true);
    return { dump: await dump(store, given), imported: result.imported, rejected: result.rejected, blocks: parallelStaged.blocks - blocks, pipelined: preparedItems.count - pipelined };
  } finally {
    await store.close();
  }
}

let given = new Set<string>();

test('a JSON array (and gzip\'d) is staged on worker threads and pipelined, and makes exactly what the JSON-lines file makes', { timeout: TIMEOUT }, async () => {
  const dir = tempDir();
  const vs = values(40_000, 3);
  given = givenIds(vs);
  const lines = join(dir, 'in.jsonl');
  writeFileSync(lines, vs.map((v) => JSON.stringify(v)).join('\n') + '\n');
  const array = join(dir, 'in.json');
  writeFileSync(array, arrayText(vs));
  assert.ok(readFileSync(lines).length > PARALLEL_MIN_BYTES, `${readFileSync(lines).length} bytes: large enough for parallel staging`);
  const gz = join(dir, 'in.json.gz');
  writeFileSync(gz, gzipSync(readFileSync(array)));
  const plain = await importInto(dir, 'plain', lines);
  assert.equal(plain.imported, vs.length);
  assert.ok(plain.blocks > 2 && plain.pipelined === vs.length, `plain: ${plain.blocks} blocks, ${plain.pipelined} pipelined`);
  for (const file of [array, gz]) {
    const got = await importInto(dir, file === array ? 'array' : 'gz', file);
    assert.equal(got.imported, vs.length, file);
    assert.ok(got.blocks > 2, `${file}: staged in ${got.blocks} blocks on worker threads`);
    assert.equal(got.pipelined, vs.length, `${file}: every item through prepared chunks`);
    assert.equal(got.dump.size, plain.dump.size);
    assert.deepEqual(got.dump, plain.dump, file);
  }
  assert.ok([...plain.dump.values()].some((h) => h.length > 1), 'some records have several versions');
});

test('a JSON array with bad elements: a malformed one refuses the file naming it, nothing staged or applied; invalid ones as on lines (lenient keeps the rest)', { timeout: TIMEOUT }, async () => {
  const dir = tempDir();
  const vs = values(30_000, 4);
  given = givenIds(vs);
  const text = (k: number, v: unknown) => (k === 0 ? '' : ',\n') + JSON.stringify(v);
  // A malformed element far into the array (a later block), after an element the schema refuses.
  const bad = 25_000;
  const broken = join(dir, 'broken.json');
  writeFileSync(broken, '[\n' + vs.map((v, k) => (k === bad ? ',\n{"source_domain": "x",, "target_domain": "y"}' : k === 100 ? text(k, { ...(v as object), quality_score: 7 }) : text(k, v))).join('') + '\n]');
  const control = join(dir, 'control.json');
  writeFileSync(control, '[\n' + vs.slice(0, 3).map((v, k) => (k === 1 ? ',\n{"source_domain": "x\ny", "target_domain": "y", "quality_score": 1}' : text(k, v))).join('') + '\n]');
  writeFileSync(control, readFileSync(control, 'utf8') + ' '.repeat(9 * 1024 * 1024));
  for (const lenient of [false, true]) {
    const store = await openStore(join(dir, `store-${lenient}`), { create: true });
    try {
      const err = await asyncErr(() => store.analogies.import(broken, { lenient }));
      assert.equal(err.code, 'INVALID_INPUT');
      assert.match(err.message, new RegExp(`not a valid JSON array: element ${bad + 1} \\(line ${bad + 2}\\): `));
      const raw = await asyncErr(() => store.analogies.import(control, { lenient }));
      assert.equal(raw.code, 'INVALID_INPUT');
      assert.match(raw.message, /element 2 \(line 3\): .*control character/i);
      assert.equal(await store.analogies.count(), 0);
      assert.deepEqual(await store.workflows.list(), []);
      assert.equal((await store.verify()).valid, true);
    } finally {
      await store.close();
    }
  }
  // Invalid (but well-formed) elements: refused by line = element number, as the same lines are.
  const invalid = vs.map((v, k) => (k % 5000 === 7 ? { ...v, quality_score: 7 } : v));
  const lines = join(dir, 'invalid.jsonl');
  writeFileSync(lines, invalid.map((v) => JSON.stringify(v)).join('\n') + '\n');
  const array = join(dir, 'invalid.json');
  writeFileSync(array, arrayText(invalid));
  const strict = await openStore(join(dir, 'strict'), { create: true });
  try {
    for (const file of [lines, array]) {
      const err = await asyncErr(() => strict.analogies.import(file));
      assert.equal(err.code, 'IMPORT_REJECTED');
      assert.deepEqual((err.details as { issues: Array<{ line: number }> }).issues.map((i) => i.line), [8, 5008, 10008, 15008, 20008, 25008]);
    }
    assert.equal(await strict.analogies.count(), 0);
  } finally {
    await strict.close();
  }
  const fromLines = await importInto(dir, 'lenient-lines', lines, { lenient: true });
  const fromArray = await importInto(dir, 'lenient-array', array, { lenient: true });
  assert.equal(fromArray.rejected, 6);
  assert.equal(fromArray.imported, vs.length - 6);
  assert.ok(fromArray.blocks > 2);
  assert.deepEqual(fromArray.dump, fromLines.dump);
});

/**
 * A knowledge import (`softlogic import`) of analogies: pipelined (records new to the context
 * written by the prepared import; the first existing id hands the rest to the merge, item by
 * item) makes exactly what applying every record through the merge makes, for every strategy,
 * into an empty store and into one holding some of the records (changed, deleted).
 */
test('knowledge imports of analogies: pipelined and item by item agree for every merge strategy', { timeout: TIMEOUT }, async () => {
  const dir = tempDir();
  // (The original system's line shape is not an export's: `analogies import` reads it.)
  // A repeated id stops the pipeline there (merging two versions is the applier's): each id once.
  const seen = new Set<unknown>();
  const vs = values(29_000, 6).filter((v) => v.type === undefined && (v.id === undefined || (!seen.has(v.id) && seen.add(v.id))));
  // Bare analogy lines (repeated ids included), and an export of a store holding them with history.
  const bare = join(dir, 'bare.jsonl');
  writeFileSync(bare, vs.map((v) => JSON.stringify(v)).join('\n') + '\n');
  const exported = join(dir, 'export.jsonl');
  const source = await openStore(join(dir, 'source'), { create: true });
  try {
    await source.analogies.import(bare, { batchSize: 5000 });
    const ids: string[] = [];
    for await (const a of source.analogies.stream()) ids.push(a.id);
    for (const id of ids.slice(0, 50)) await source.analogies.delete(id);
    await source.export({ out: exported });
  } finally {
    await source.close();
  }
  const partial = join(dir, 'partial.jsonl');
  // What the target already holds: some of the records, some changed later (newer), some older.
  // (The last records of the file: the pipeline writes those before the first existing id.)
  const records = readFileSync(exported, 'utf8').split('\n').filter((l) => l.startsWith('{"kind":"analogy"'));
  writeFileSync(partial, records.slice(-3000).map((l, k) => (k % 3 === 0 ? l.replace(/"version":(\d+)/, (_, v) => `"version":${Number(v) + 1}`).replace(/"tags":\[/, '"tags":["newer",') : k % 3 === 1 ? l.replace(/"tags":\[/, '"tags":["older",') : l)).join('\n') + '\n');
  // Times from here on are the target imports' own; the exported ones are compared as they are.
  await new Promise((resolve) => setTimeout(resolve, 5));
  const since = new Date().toISOString();
  const all = new Set<string>();
  for await (const line of readFileSync(exported, 'utf8').split('\n')) {
    const m = /"id":"([^"]+)"/.exec(line);
    if (m) all.add(m[1]);
  }
  given = all;
  // Into an empty store the strategies cannot differ (nothing to merge with): one of them there;
  // every strategy into the store holding some of the records.
  const cases = [
    { file: exported, merge: 'merge', prefilled: false },
    { file: bare, merge: 'merge', prefilled: false },
    ...(['merge', 'overwrite', 'skip'] as const).map((merge) => ({ file: exported, merge, prefilled: true })),
  ] as const;
  for (const { file, merge, prefilled } of cases) {
    {
      {
        const results: Array<{ dump: Map<string, unknown[]>; applied: unknown; pipelined: number }> = [];
        for (const pipeline of [false, true]) {
          const store = await openStore(join(dir, `k-${merge}-${prefilled}-${pipeline}-${file === bare}`), { create: true });
          try {
            if (prefilled) await store.import(partial, { merge: 'overwrite', pipeline: false });
            const before = preparedItems.count;
            const result = await store.import(file, { merge, pipeline, batchSize: 4000 });
            assert.equal((await store.verify()).valid, true);
            results.push({ dump: await dump(store, given, since, true), applied: result.applied, pipelined: preparedItems.count - before });
          } finally {
            await store.close();
          }
        }
        const label = `${file === bare ? 'bare lines' : 'export'}, --merge ${merge}${prefilled ? ', into a store holding some' : ''}`;
        assert.equal(results[0].pipelined, 0, label);
        assert.ok(results[1].pipelined >= (prefilled ? 1000 : 20_000), `${label}: ${results[1].pipelined} pipelined`);
        assert.deepEqual(results[1].applied, results[0].applied, label);
        assert.deepEqual(results[1].dump, results[0].dump, label);
      }
    }
  }
});
