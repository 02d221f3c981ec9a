/**
 * A large JSON-lines knowledge import (`softlogic import`) has its analogy lines staged on the
 * staging workers (issue 16); contexts and other kinds are handled on the main thread in their
 * place. It must make exactly what staging on one thread makes: an export mixed with bare
 * analogy lines (ids first or not, spaced, in several contexts, tombstones, concepts), gzip'd or
 * not, and a file with bad lines is refused naming the same lines, with the store unchanged.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { openStore, type Store } from '../src/index.js';
import { PARALLEL_MIN_BYTES, parallelStaged } from '../src/methods/analogies/stage-parallel.js';
import { preparedItems } from '../src/backend/embedded/prepared-chunks.js';
import type { MergeStrategy } from '../src/methods/knowledge/import-applier.js';
import { asyncErr, paddedAnalogy, rng, tempDir } from './helpers.js';

const TIMEOUT = 900_000;

/** Bare analogy lines: ids first (UUIDs, strings), some without, some spaced (the general path's). */
function bareLines(n: number, seed: number): string[] {
  const r = rng(seed);
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    // Random text keeps a gzip'd file large enough to be decompressed and staged on the workers.
    const c = paddedAnalogy(seed * 1_000_000 + i, r, `note ${randomUUID()} ${randomUUID()} padding to a few hundred bytes`);
    const pick = r();
    const value = pick < 0.05 ? c : { id: pick < 0.6 ? randomUUID() : `item-${seed}-${i}`, ...c };
    out.push(pick > 0.97 ? JSON.stringify(value, null, 1).replace(/\n/g, '') : JSON.stringify(value));
  }
  return out;
}

/** An export of a store with contexts, analogies (some deleted) in two of them, and concepts. */
async function exportLines(dir: string): Promise<string[]> {
  const store = await openStore(join(dir, 'source'), { create: true });
  try {
    await store.contexts.create('shop', { description: 'a child context' });
    const file = join(dir, 'source.jsonl');
    for (const [context, seed] of [['default', 1], ['shop', 2]] as const) {
      writeFileSync(file, bareLines(400, seed).join('\n') + '\n');
      await store.analogies.import(file, { context });
    }
    const ids: string[] = [];
    for await (const a of store.analogies.stream({ context: 'shop' })) ids.push(a.id);
    for (const id of ids.slice(0, 20)) await store.analogies.delete(id, 'shop');
    for (const name of ['river', 'bank', 'money']) await store.concepts.add({ name, description: `the ${name}` }, { provider: 'hash', context: 'shop' });
    const out = join(dir, 'export.jsonl');
    await store.export({ out });
    return readFileSync(out, 'utf8').trimEnd().split('\n');
  } finally {
    await store.close();
  }
}

/**
 * The mixed file: bare lines (enough for the first workflow to be pipelined), the export
 * (contexts, other kinds), bare lines again.
 */
function mixedLines(exported: string[]): string[] {
  const lines = [...bareLines(24_000, 3), ...exported, '', ...bareLines(6_000, 4)];
  // Lines of another context among the last bare ones (a context switch mid-block: a workflow each run).
  for (let k = 0; k < 5; k++) lines.splice(lines.length - 5000 + k * 1000, 0, `{"kind":"analogy","context":"lab","record":${bareLines(1, 10 + k)[0]}}`);
  return lines;
}

/**
 * What a store holds, read through its export, independent of the import's clock (times from
 * `since` on), its workflow ids and the ids minted for lines without one.
 */
async function dump(store: Store, dir: string, since: string): Promise<string[]> {
  const out = join(dir, `dump-${randomUUID()}.jsonl`);
  await store.export({ out });
  return readFileSync(out, 'utf8')
    .trimEnd()
    .split('\n')
    .map((line) => {
      const v = JSON.parse(line) as { record: Record<string, unknown> };
      const r = v.record;
      for (const k of ['created_at', 'updated_at']) if (typeof r[k] === 'string' && (r[k] as string) >= since) r[k] = 'import time';
      delete r.workflow_id;
      if (typeof r.id === 'string' && !givenIds.has(r.id)) r.id = 'minted';
      return JSON.stringify(v);
    })
    .sort();
}

/** Ids the input files give (any other was minted by the import). */
const givenIds = new Set<string>();

function noteGivenIds(lines: string[]): void {
  for (const l of lines) {
    const m = /"id":"([^"]+)"/.exec(l);
    if (m) givenIds.add(m[1]);
  }
}

async function importInto(dir: string, name: string, file: string, merge: MergeStrategy, parallel: boolean, prefill: string | null, since: string) {
  const store = await openStore(join(dir, name), { create: true });
  try {
    if (prefill) await store.import(prefill, { merge: 'overwrite', parallel: false });
    const blocks = parallelStaged.blocks;
    const pipelined = preparedItems.count;
    const result = await store.import(file, { merge, parallel, batchSize: 4000 });
    assert.equal((await store.verify()).valid, true);
    return {
      dump: await dump(store, dir, since),
      applied: result.applied,
      records: result.records,
      contexts: result.contexts,
      workflows: result.workflows.length,
      blocks: parallelStaged.blocks - blocks,
      pipelined: preparedItems.count - pipelined,
    };
  } finally {
    await store.close();
  }
}

test('a large JSON-lines knowledge import staged on the workers makes what one thread makes (mixed kinds and contexts, gzip\'d, every strategy into a store holding some)', { timeout: TIMEOUT }, async () => {
  const dir = tempDir();
  const exported = await exportLines(dir);
  const lines = mixedLines(exported);
  noteGivenIds(lines);
  const file = join(dir, 'mixed.jsonl');
  writeFileSync(file, lines.join('\n') + '\n');
  assert.ok(statSync(file).size > PARALLEL_MIN_BYTES, 'large enough for the workers (three blocks)');
  const gz = join(dir, 'mixed.jsonl.gz');
  writeFileSync(gz, gzipSync(readFileSync(file)));
  // Some of the records already there (some newer, some older), for the strategies to differ.
  const prefill = join(dir, 'prefill.jsonl');
  writeFileSync(prefill, [...exported.filter((l) => l.startsWith('{"kind":"context"')), ...lines.filter((l, k) => k % 7 === 0 && l.startsWith('{"id":"item-')).map((l) => l.replace(/"tags":\[/, '"tags":["older",'))].join('\n') + '\n');
  await new Promise((resolve) => setTimeout(resolve, 5));
  const since = new Date().toISOString();

  const one = await importInto(dir, 'one', file, 'merge', false, null, since);
  assert.equal(one.blocks, 0);
  assert.equal(one.records, lines.filter((l) => l.length > 0 && !l.startsWith('{"kind":"context"')).length);
  assert.deepEqual([...one.contexts].sort(), ['default', 'lab', 'shop']);
  assert.ok(one.workflows >= 10, `${one.workflows} workflows: a context switch starts one`);
  assert.ok(one.pipelined >= 20_000, `${one.pipelined} pipelined`);
  for (const [name, input] of [['workers', file], ['gzip', gz]] as const) {
    const r = await importInto(dir, name, input, 'merge', true, null, since);
    assert.ok(r.blocks >= 3, `${name}: ${r.blocks} blocks on the workers`);
    assert.ok(r.pipelined >= 20_000, `${name}: ${r.pipelined} records written by the prepared import`);
    assert.equal(r.records, one.records, name);
    assert.equal(r.workflows, one.workflows, name);
    assert.deepEqual(r.applied, one.applied, name);
    assert.deepEqual(r.dump, one.dump, name);
  }
  for (const merge of ['merge', 'overwrite', 'skip'] as const) {
    const a = await importInto(dir, `one-${merge}`, file, merge, false, prefill, since);
    const b = await importInto(dir, `workers-${merge}`, file, merge, true, prefill, since);
    assert.ok(b.blocks >= 3);
    assert.ok(a.applied.created < one.applied.created, `${merge}: the prefilled records are not created again`);
    assert.deepEqual(b.applied, a.applied, merge);
    assert.deepEqual(b.dump, a.dump, merge);
  }
});

test('a large knowledge import with bad lines is refused naming the same lines as on one thread, nothing applied', { timeout: TIMEOUT }, async () => {
  const dir = tempDir();
  const lines = mixedLines(await exportLines(dir));
  // Far into the file (a later block): malformed JSON, an invalid analogy, a bad context name,
  // an unknown kind; and a malformed line early on.
  lines[25_000] = lines[25_000].slice(0, 40);
  lines[26_000] = lines[26_000].replace(/"quality_score":[0-9.]+/, '"quality_score":2');
  lines[27_000] = `{"kind":"analogy","context":"no such/context","record":${lines[27_000]}}`;
  lines[28_000] = '{"kind":"spaceship","record":{}}';
  lines[10] = '{"id":"x",';
  const file = join(dir, 'bad.jsonl');
  writeFileSync(file, lines.join('\n') + '\n');
  const since = new Date().toISOString();
  const refusals = [];
  for (const parallel of [false, true]) {
    const store = await openStore(join(dir, `bad-${parallel}`), { create: true });
    try {
      await store.import(join(dir, 'export.jsonl'), { merge: 'overwrite' });
      const before = await dump(store, dir, since);
      const blocks = parallelStaged.blocks;
      const err = await asyncErr(() => store.import(file, { merge: 'merge', parallel }));
      assert.equal(err.code, 'IMPORT_REJECTED');
      assert.equal(parallelStaged.blocks > blocks, parallel);
      assert.deepEqual(await dump(store, dir, since), before, 'nothing applied');
      assert.equal((await store.workflows.list()).filter((w) => w.status === 'pending' || w.status === 'processing').length, 0);
      refusals.push(err.details);
    } finally {
      await store.close();
    }
  }
  const { issues, rejected } = refusals[1] as { issues: Array<{ line: number; field: string }>; rejected: number };
  assert.equal(rejected, 5);
  assert.deepEqual(issues.map((i) => i.line), [11, 25_001, 26_001, 27_001, 28_001]);
  assert.equal(issues[0].field, '(line)');
  assert.deepEqual(refusals[1], refusals[0]);
});
