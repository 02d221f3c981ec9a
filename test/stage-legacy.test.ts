/**
 * The fast path of the original system's analogy lines (src/methods/analogies/stage-legacy.ts)
 * against the general path (JSON.parse, normaliseLegacyShape, the schema, buildAnalogy): for
 * every line, valid or not, staging a block with the fast paths must give byte for byte what the
 * general path gives (the same staged items, verdicts, issues and rejects). The lines are those
 * of the original system's sample store (the fixture, and ../shared's whole file when present),
 * the shapes and edges the scanner decides on, and thousands of random byte mutations of them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stageBlock } from '../src/methods/analogies/stage-block.js';
import { stageLegacyLineFast } from '../src/methods/analogies/stage-legacy.js';
import { StagedLines } from '../src/core/staged-lines.js';
import type { StagingTarget } from '../src/core/staged-put.js';
import { rng } from './helpers.js';
import { compareMutations, stagedBothWays } from './staging-compare.js';

const here = dirname(fileURLToPath(import.meta.url));
const FIXTURE = [resolve(here, 'fixtures/legacy-analogies.jsonl'), resolve(here, '../../test/fixtures/legacy-analogies.jsonl')].find((p) => existsSync(p)) as string;
const SAMPLE = '/work/shared/legacy-store-sample/storage/contexts/default/analogies.jsonl';

const target: StagingTarget = { workflowId: '01a2b3c4-0000-7000-8000-000000000001', context: 'ctx', now: '2026-01-02T03:04:05.678Z' };
const options = { lenient: true, maxIssues: 1000 };

const textLines = (path: string) => readFileSync(path, 'utf8').split('\n').filter((l) => l.trim() !== '');

/** Whether the legacy scanner takes the line (staging it on its own). */
function takes(line: string): boolean {
  const data = Buffer.from(line);
  return stageLegacyLineFast(data, 0, data.length, target, new StagedLines(4096));
}

/** Staged items with the ids the staging made up (for a line without a valid id) replaced, so two stagings compare equal. */
function normalised(staged: Uint8Array, line: string): unknown[] {
  return Buffer.from(staged)
    .toString('utf8')
    .split('\n')
    .filter(Boolean)
    .map((text) => {
      const item = JSON.parse(text.slice(9)) as { index?: unknown[]; record?: { id?: string } };
      if (item.record?.id && !line.includes(`"${item.record.id}"`)) {
        item.record.id = 'ID';
        if (item.index) item.index[0] = 'ID';
      }
      return item;
    });
}

/**
 * Stages the line both ways and requires the same items (byte for byte where the legacy scanner
 * takes the line); 'fast' when it took it.
 */
function compare(line: string): 'fast' | 'general' {
  const { fast, general } = stagedBothWays(line, target, options);
  if (!takes(line)) {
    assert.deepEqual(normalised(fast.staged, line), normalised(general.staged, line), line);
    return 'general';
  }
  assert.equal(Buffer.from(fast.staged).toString('utf8'), Buffer.from(general.staged).toString('utf8'), line);
  return 'fast';
}

/** A line the way the original system wrote them (Python's separators). */
function py(value: Record<string, unknown>): string {
  return JSON.stringify(value).replace(/","/g, '", "').replace(/":/g, '": ').replace(/,"/g, ', "');
}

const typical = {
  type: 'analogy',
  workflow_id: 'demo_workflow_001',
  id: '641562fc-0679-4404-a353-c05e766c3882',
  created_at: '2025-07-09T15:22:52.569483+00:00',
  source_pair: ['knight', 'sword'],
  target_pair: ['wizard', 'staff'],
  context: 'fantasy character-tool relationships',
  quality_score: 0.87,
  reasoning: 'Both represent character-primary tool pairings in fantasy settings',
};
const T = py(typical);

const edgeLines: string[] = [
  T,
  JSON.stringify(typical),
  JSON.stringify(typical, null, 2).replace(/\n/g, ' '),
  `  ${T}\t`,
  py({ type: 'analogy', workflow_id: 'string', id: 'cc2b5d4f-690b-4a59-8d76-5de089685111', created_at: '2025-07-06T15:19:38.710399+00:00' }),
  py({ type: 'analogy', id: 'x' }),
  py({ id: 'x', type: 'analogy', reasoning: 'r' }),
  py({ ...typical, quality_score: undefined }),
  py({ ...typical, workflow_id: undefined }),
  py({ ...typical, created_at: undefined }),
  py({ ...typical, context: undefined, reasoning: undefined }),
  // times: the SQLite form, other offsets, no offset, impossible dates, not times
  py({ ...typical, created_at: '2025-07-09 15:22:52' }),
  py({ ...typical, created_at: '2025-07-09 15:22:52.123456' }),
  py({ ...typical, created_at: '2025-07-09T15:22:52Z' }),
  py({ ...typical, created_at: '2025-07-09T15:22:52.1-05:30' }),
  py({ ...typical, created_at: '2025-07-09T15:22:52' }),
  py({ ...typical, created_at: '2025-07-09T15:22' }),
  py({ ...typical, created_at: '2024-02-29T00:00:00Z' }),
  py({ ...typical, created_at: '2025-02-29T00:00:00Z' }),
  py({ ...typical, created_at: '2025-13-01T00:00:00Z' }),
  py({ ...typical, created_at: '2025-07-09T25:00:00Z' }),
  py({ ...typical, created_at: '2025-07-09T15:22:52+24:00' }),
  py({ ...typical, created_at: 'yesterday' }),
  py({ ...typical, created_at: '' }),
  py({ ...typical, created_at: null }),
  py({ ...typical, created_at: 5 }),
  // quality
  py({ ...typical, quality_score: 0 }),
  py({ ...typical, quality_score: 1 }),
  T.replace('0.87', '0.870'),
  T.replace('0.87', '1.0'),
  T.replace('0.87', '87e-2'),
  T.replace('0.87', '1e-400'),
  T.replace('0.87', '1.5'),
  T.replace('0.87', '-0'),
  T.replace('0.87', '-0.5'),
  T.replace('0.87', '1e400'),
  T.replace('0.87', '"0.87"'),
  T.replace('0.87', 'null'),
  T.replace('0.87', '.5'),
  T.replace('0.87', '01'),
  // ids
  py({ ...typical, id: 'a:b.c-d_E9' }),
  py({ ...typical, id: 'x'.repeat(256) }),
  py({ ...typical, id: 'x'.repeat(257) }),
  py({ ...typical, id: '-x' }),
  py({ ...typical, id: '' }),
  py({ ...typical, id: 'a/b' }),
  py({ ...typical, id: 7 }),
  py({ ...typical, id: undefined }),
  // type
  py({ ...typical, type: 'deletion' }),
  py({ ...typical, type: 'Analogy' }),
  py({ ...typical, type: undefined }),
  T.replace('"type": "analogy"', '"type": "analogy", "type": "analogy"'),
  // pairs: uneven, empty, repeated keys, long, non-strings, keys JavaScript reorders
  py({ ...typical, source_pair: ['a', 'b', 'c'], target_pair: ['x'] }),
  py({ ...typical, source_pair: ['a'], target_pair: ['x', 'y'] }),
  py({ ...typical, source_pair: [], target_pair: [] }),
  py({ ...typical, source_pair: ['a', 'a'], target_pair: ['x', 'y'] }),
  py({ ...typical, source_pair: ['a', ''], target_pair: ['', 'y'] }),
  py({ ...typical, source_pair: ['a'.repeat(512), 'b'.repeat(513)], target_pair: ['x', 'y'] }),
  py({ ...typical, source_pair: ['a', 1], target_pair: ['x', 'y'] }),
  py({ ...typical, source_pair: ['a', 'b'], target_pair: ['x', null] }),
  py({ ...typical, source_pair: ['1', 'b'], target_pair: ['x', 'y'] }),
  py({ ...typical, source_pair: ['__proto__', 'b'], target_pair: ['x', 'y'] }),
  py({ ...typical, source_pair: 'a', target_pair: ['x'] }),
  py({ ...typical, source_pair: ['a', 'b'], target_pair: undefined }),
  py({ ...typical, source_pair: [['a'], 'b'], target_pair: ['x', 'y'] }),
  py({ ...typical, source_pair: ['a', 'b'], target_pair: ['x', 'y'], source_concept: 'c', target_concept: 'd' }),
  py({ ...typical, source_a: 'bird', source_b: 'fly', target_a: 'fish' }),
  // other fields: values of every kind, names the general path writes itself, schema fields
  py({ ...typical, extra: [1, 2.50, true, false, null, 'x'], n: -12.5e3, f: false, z: null }),
  T.replace('"reasoning"', '"w": 1E2, "v": [ 1 , 2 ], "reasoning"'),
  py({ ...typical, nested: { a: 1 } }),
  py({ ...typical, nested: [[1]] }),
  py({ ...typical, big: 1e308 }),
  T.replace('"reasoning"', '"n": [0.0000001, 0.000001, 0.0000012, 123456789012345, 1234567890123456, 0.1234567890123456, 0.123456789012345, -0.5, -0, -0.0, 1.10, 100, 1e2, 0.30000000000000004, 12.5, -7, 1E-7, 0.00001000], "reasoning"'),
  T.replace('0.87', '0.000001'),
  T.replace('0.87', '0.0000001'),
  T.replace('0.87', '0.123456789012345'),
  T.replace('0.87', '0.1234567890123456'),
  T.replace('0.87', '0.30000000000000004'),
  T.replace('"reasoning"', '"big": 1e999, "reasoning"'),
  py({ ...typical, quality_missing: false }),
  py({ ...typical, concept_mappings_derived: 'x' }),
  py({ ...typical, invalid: 1 }),
  py({ ...typical, raw: 1 }),
  py({ ...typical, source_domain: 'biology' }),
  py({ ...typical, concept_mappings: { a: 'b' } }),
  py({ ...typical, tags: ['t'] }),
  py({ ...typical, metadata: { m: 1 } }),
  py({ ...typical, version: 3 }),
  py({ ...typical, updated_at: '2025-07-09T15:22:52Z' }),
  py({ ...typical, deleted_at: null }),
  py({ ...typical, context: ['a'] }),
  py({ ...typical, context: 5 }),
  py({ ...typical, workflow_id: null }),
  py({ ...typical, workflow_id: ['a', 'b'] }),
  py({ ...typical, '2': 'x' }),
  T.replace('"reasoning"', '"__proto__": 1, "reasoning"'),
  T.replace('"reasoning"', '"reas\\u006fning"'),
  // strings: escapes, non-ASCII, controls, long
  py({ ...typical, reasoning: 'a "quoted" word' }),
  py({ ...typical, reasoning: 'caf\u00e9' }),
  T.replace('fantasy settings', 'fantasy settings \\u00e9'),
  py({ ...typical, reasoning: 'tab\there' }),
  py({ ...typical, reasoning: 'x'.repeat(64_800) }),
  py({ ...typical, reasoning: 'x'.repeat(65_300) }),
  py({ ...typical, reasoning: 'x'.repeat(66_000) }),
  // not JSON, not objects
  T.slice(0, -1),
  `${T}}`,
  `${T} x`,
  T.replace('", "id"', '",, "id"'),
  T.replace('["knight", "sword"]', '["knight", "sword",]'),
  '[]',
  'null',
  '{}',
];

test('the original system\'s lines: the fast path stages every edge case byte for byte as the general path does', () => {
  const outcomes = edgeLines.map(compare);
  // The scanner must take the lines the original system wrote, or it is no fast path at all.
  assert.deepEqual(outcomes.slice(0, 11), Array(11).fill('fast'));
  assert.ok(outcomes.filter((o) => o === 'fast').length >= 40, `fast on ${outcomes.filter((o) => o === 'fast').length} of ${outcomes.length} lines`);
});

test('the sample store\'s lines: every analogy line staged by the fast path, byte for byte as the general path stages it', () => {
  const lines = [...textLines(FIXTURE), ...(existsSync(SAMPLE) ? textLines(SAMPLE) : [])];
  for (const line of lines) {
    const deletion = (JSON.parse(line) as { type: string }).type === 'deletion';
    assert.equal(compare(line), deletion ? 'general' : 'fast', line);
  }
  // A whole block of them, in one staging: the same bytes, order and line numbers.
  const data = Buffer.from(lines.join('\n') + '\n');
  const fast = stageBlock(0, data, target, { ...options, fast: true });
  const slow = stageBlock(0, data, target, { ...options, fast: false });
  assert.equal(fast.lines, slow.lines);
  assert.equal(Buffer.from(fast.staged).toString('utf8'), Buffer.from(slow.staged).toString('utf8'));
});

test('the original system\'s lines: the fast path agrees with the general path on random mutations', () => {
  const r = rng(2026_11_27);
  const alphabet = '{}[]:,"\\ 0123456789.eE+-truefalsnul_aé\t:TZ';
  const seeds = [...edgeLines.slice(0, 11), ...textLines(FIXTURE)];
  const { fast, total } = compareMutations(seeds, r, alphabet, 250, compare);
  assert.ok(fast > total / 20 && fast < total, `fast on ${fast} of ${total}`);
});

test('the original system\'s lines: random records of its fields and others, every kind of value, as the general path stages them', () => {
  const r = rng(16_2026);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
  const keys = ['workflow_id', 'id', 'created_at', 'quality_score', 'context', 'source_pair', 'target_pair', 'source_concept', 'target_concept', 'source_a', 'target_a', 'source_b', 'target_b', 'reasoning', 'relation', 'extra', 'source_domain', 'metadata', 'tags', 'quality_missing', '7'];
  const texts = ['knight', 'sword', 'a', '', 'x'.repeat(513), 'q"uote', 'caf\u00e9', 'knight', '2025-07-09T15:22:52.569483+00:00', '2025-07-09 15:22:52', 'item-1'];
  const scalarOf = (): unknown => pick<() => unknown>([() => pick(texts), () => pick([0, 1, 0.5, 0.87, -1, 1e-7, 2, 12.5]), () => pick([null, true, false])])();
  const valueOf = (): unknown => (r() < 0.3 ? Array.from({ length: Math.floor(r() * 4) }, scalarOf) : r() < 0.05 ? { k: scalarOf() } : scalarOf());
  let fast = 0;
  for (let i = 0; i < 3000; i++) {
    const record: Record<string, unknown> = { type: r() < 0.95 ? 'analogy' : pick(['deletion', 'other']) };
    if (r() < 0.9) record.id = r() < 0.9 ? `id-${i}` : valueOf();
    for (let k = Math.floor(r() * 8); k > 0; k--) {
      const key = pick(keys);
      record[key] = key.endsWith('_pair') && r() < 0.7 ? [pick(texts), pick(texts)] : key === 'quality_score' && r() < 0.7 ? Math.round(r() * 100) / 100 : valueOf();
    }
    const line = r() < 0.5 ? py(record) : JSON.stringify(record);
    if (line.includes('\n')) continue;
    if (compare(line) === 'fast') fast += 1;
  }
  assert.ok(fast > 300, `fast on ${fast} of 3000`);
});
