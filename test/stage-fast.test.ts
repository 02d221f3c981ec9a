/**
 * The fast staging path (src/methods/analogies/stage-fast.ts) against the general one: for every
 * line, valid or not, staging with the fast path must give exactly what the general path gives
 * (the same verdict, the same issues, the same staged item up to the freshly minted id). The
 * lines are the shapes the scanner decides on, their edges (limits, escapes, numbers, keys
 * JavaScript reorders, nesting) and thousands of random byte mutations of them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { stageBlock, type StagedBlock } from '../src/methods/analogies/stage-block.js';
import { stageBlock as stageKnowledgeBlock } from '../src/methods/knowledge/knowledge-block.js';
import type { StagingTarget } from '../src/core/staged-put.js';
import { rng } from './helpers.js';
import { compareMutations, stagedBothWays } from './staging-compare.js';

const target: StagingTarget = { workflowId: '01a2b3c4-0000-7000-8000-000000000001', context: 'ctx', now: '2026-01-02T03:04:05.678Z' };
const options = { lenient: true, maxIssues: 1000 };

/** A staged block's items with each minted id replaced, so two stagings compare equal. */
function normalised(block: StagedBlock): unknown[] {
  const text = Buffer.from(block.staged).toString('utf8');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const item = JSON.parse(line.slice(9)) as { fresh?: boolean; index?: unknown[]; record?: { id?: string } };
      // Only minted ids differ between two stagings; an id the line gave must be the same.
      if (item.fresh && item.index) item.index[0] = 'ID';
      if (item.fresh && item.record?.id) item.record.id = 'ID';
      return item;
    });
}

function compare(line: string): 'fast' | 'general' {
  const { fast, general } = stagedBothWays(line, target, options);
  assert.deepEqual(normalised(fast), normalised(general), line);
  return fast.count === 1 ? 'fast' : 'general';
}

const base = {
  source_domain: 'politics',
  target_domain: 'warfare',
  quality_score: 0.8525,
  concept_mappings: { coach_a: 'chord', army_b: 'river' },
  frame_mappings: { frame_team: 'frame_patient' },
  tags: ['tag9', 'bench'],
  metadata: { origin: 'benchmark', n: 0, note: 'generated', deep: { a: [1, 2.5e-3, true, null, 'x\\"y'] } },
};

const edgeLines: string[] = [
  JSON.stringify(base),
  `  ${JSON.stringify(base)}  `,
  JSON.stringify(base, null, 1).replace(/\n/g, ' '),
  JSON.stringify({ ...base, tags: [], frame_mappings: {}, concept_mappings: {}, metadata: {} }),
  JSON.stringify({ tags: base.tags, metadata: base.metadata, source_domain: base.source_domain, target_domain: base.target_domain, quality_score: base.quality_score, concept_mappings: base.concept_mappings, frame_mappings: base.frame_mappings }),
  JSON.stringify({ ...base, quality_score: 0 }),
  JSON.stringify({ ...base, quality_score: 1 }),
  JSON.stringify(base).replace('0.8525', '0.50'),
  JSON.stringify(base).replace('0.8525', '1.0'),
  JSON.stringify(base).replace('0.8525', '1e0'),
  JSON.stringify(base).replace('0.8525', '5E-1'),
  JSON.stringify(base).replace('0.8525', '1.0000000000000001'),
  JSON.stringify(base).replace('0.8525', '-0'),
  JSON.stringify(base).replace('0.8525', '-0.0'),
  JSON.stringify(base).replace('0.8525', '1.5'),
  JSON.stringify(base).replace('0.8525', '01'),
  JSON.stringify(base).replace('0.8525', '.5'),
  JSON.stringify(base).replace('0.8525', '0.'),
  JSON.stringify(base).replace('0.8525', '1e400'),
  JSON.stringify(base).replace('0.8525', '"0.5"'),
  JSON.stringify(base).replace('0.8525', 'null'),
  JSON.stringify({ ...base, source_domain: 'a'.repeat(512) }),
  JSON.stringify({ ...base, source_domain: 'a'.repeat(513) }),
  JSON.stringify({ ...base, target_domain: '' }),
  JSON.stringify({ ...base, source_domain: 'é' }),
  JSON.stringify({ ...base, source_domain: 'a"b' }),
  JSON.stringify({ ...base, source_domain: 'a\u0001b' }),
  JSON.stringify(base).replace('politics', 'pol\\u0069tics'),
  JSON.stringify({ ...base, tags: Array.from({ length: 64 }, (_, i) => `t${i}`) }),
  JSON.stringify({ ...base, tags: Array.from({ length: 65 }, (_, i) => `t${i}`) }),
  JSON.stringify({ ...base, tags: ['x'.repeat(128)] }),
  JSON.stringify({ ...base, tags: ['x'.repeat(129)] }),
  JSON.stringify({ ...base, tags: [''] }),
  JSON.stringify({ ...base, tags: ['a', 1] }),
  JSON.stringify({ ...base, tags: 'a' }),
  JSON.stringify(base).replace('["tag9","bench"]', '[ "tag9", "bench" ]'),
  JSON.stringify(base).replace('{"frame_team":"frame_patient"}', '{"2":"b","1":"a","z":"c"}'),
  JSON.stringify(base).replace('{"frame_team":"frame_patient"}', '{"z":"b","0x":"a"}'),
  JSON.stringify({ ...base, frame_mappings: { b: 'x', a: 'y' } }),
  JSON.stringify(base).replace('{"frame_team":"frame_patient"}', '{"f":"a","f":"b"}'),
  JSON.stringify(base).replace('{"coach_a":"chord","army_b":"river"}', '{"c":"a","c":"b"}'),
  JSON.stringify(base).replace('{"coach_a":"chord","army_b":"river"}', '{"__proto__":"x"}'),
  JSON.stringify(base).replace('{"frame_team":"frame_patient"}', '{"__proto__":"x"}'),
  JSON.stringify({ ...base, frame_mappings: Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`f${i}`, 'g'])) }),
  JSON.stringify({ ...base, concept_mappings: { a: 'x'.repeat(513) } }),
  JSON.stringify({ ...base, concept_mappings: { a: '' } }),
  JSON.stringify({ ...base, concept_mappings: { a: 1 } }),
  JSON.stringify({ ...base, concept_mappings: [] }),
  JSON.stringify({ ...base, metadata: [] }),
  JSON.stringify({ ...base, metadata: null }),
  JSON.stringify({ ...base, metadata: 'x' }),
  JSON.stringify({ ...base, metadata: { s: 'x'.repeat(70_000) } }),
  JSON.stringify({ ...base, metadata: { s: 'x'.repeat(65_000) } }),
  JSON.stringify({ ...base, metadata: JSON.parse('['.repeat(63) + ']'.repeat(63)) as unknown }),
  `${JSON.stringify(base).slice(0, -1)},"metadata":{"deep":${'['.repeat(100)}${']'.repeat(100)}}}`.replace('"metadata":{"origin"', '"m2":{"origin"'),
  JSON.stringify(base).replace('"metadata":{', '"metadata":{"\\ud800":"\\u00e9\\n\\t\\/\\b\\f\\r\\\\",'),
  JSON.stringify(base).replace('"metadata":{', '"metadata":{"bad":"\\x",'),
  JSON.stringify(base).replace('"metadata":{', '"metadata":{"bad":"\\u12g4",'),
  JSON.stringify(base).replace('"metadata":{', '"metadata":{"t":true,"f":false,"n":null,"x":[],"y":{},'),
  JSON.stringify(base).replace('"metadata":{', '"metadata":{"t":tru,'),
  JSON.stringify({ ...base, id: 'x1' }),
  JSON.stringify({ ...base, context: 'c' }),
  JSON.stringify({ ...base, extra: 1 }),
  JSON.stringify({ ...base, type: 'analogy' }),
  JSON.stringify({ source_domain: 'a', target_domain: 'b', quality_score: 0.5 }),
  JSON.stringify(base).replace('"source_domain"', '"source_domain","source_domain":"x"'),
  JSON.stringify(base).replace('"target_domain"', '"targ\\u0065t_domain"'),
  `${JSON.stringify(base)} x`,
  `${JSON.stringify(base)}}`,
  `${JSON.stringify(base)}\u000b`,
  JSON.stringify(base).slice(0, -1),
  '',
  '   ',
  '[]',
  'null',
  '{}',
  JSON.stringify(base).replace('"warfare"', '"war\u007ffare"'),
  // issue 13, item 11: repeated keys, numbers out of range, a line's own context
  JSON.stringify(base).replace('"metadata":{', '"metadata":{"n":1,'),
  JSON.stringify(base).replace('"deep":{"a":', '"deep":{"b":1,"b":2,"a":'),
  JSON.stringify(base).replace('"metadata":{', '"metadata":{"a":1,"\\u0061":2,'),
  JSON.stringify(base).replace('"metadata":{', '"metadata":{"x":{"k":1},"y":{"k":2},'),
  JSON.stringify(base).replace('"metadata":{', '"metadata":{"x":1e999,'),
  JSON.stringify(base).replace('"metadata":{', '"metadata":{"x":[-1E400],'),
  JSON.stringify(base).replace('"metadata":{', `"metadata":{"x":${'9'.repeat(400)},`),
  JSON.stringify(base).replace('"metadata":{', `"metadata":{"x":${'9'.repeat(300)},`),
  JSON.stringify(base).replace('"metadata":{', '"metadata":{"x":1e308,"y":2e-400,'),
  JSON.stringify({ ...base, context: 'ctx' }),
];

test('the fast path stages every edge case exactly as the general path does', () => {
  const outcomes = edgeLines.map(compare);
  // The scanner must take the common shapes, or it is no fast path at all.
  assert.equal(outcomes[0], 'fast');
  assert.equal(outcomes[1], 'fast');
  assert.equal(outcomes[3], 'fast');
  assert.ok(outcomes.filter((o) => o === 'fast').length >= 15, `fast on ${outcomes.filter((o) => o === 'fast').length} lines`);
});

/** Lines giving their own id: first (the fast path's shape) and every other way. */
const idLines: string[] = [
  JSON.stringify({ id: 'item-1', ...base }),
  JSON.stringify({ id: '0b3c9f1e-8d2a-4c1b-9e7f-5a6b7c8d9e0f', ...base }),
  JSON.stringify({ id: 'a:b.c-d_E9', ...base }),
  `  ${JSON.stringify({ id: 'x', ...base })}\t`,
  JSON.stringify({ id: 'x'.repeat(256), ...base }),
  JSON.stringify({ id: 'x'.repeat(257), ...base }),
  JSON.stringify({ id: '-x', ...base }),
  JSON.stringify({ id: '.x', ...base }),
  JSON.stringify({ id: '', ...base }),
  JSON.stringify({ id: 'a/b', ...base }),
  JSON.stringify({ id: 'é', ...base }),
  JSON.stringify({ id: 5, ...base }),
  JSON.stringify({ ...base, id: 'last' }),
  JSON.stringify({ id: 'x', ...base }).replace('"id":"x"', '"id": "x"'),
  JSON.stringify({ id: 'x', ...base }).replace('{"id":"x",', '{ "id":"x",'),
  JSON.stringify({ id: 'x', ...base }).replace('{"id":"x",', '{"id":"x", '),
  JSON.stringify({ id: 'x', ...base }).replace('{"id":"x",', '{"id":"x","id":"y",'),
  JSON.stringify({ id: 'x', ...base, created_at: '2020-01-01T00:00:00Z' }),
  JSON.stringify({ id: 'x', ...base, version: 3 }),
  JSON.stringify({ id: 'x', ...base, metadata: undefined }),
  JSON.stringify({ type: 'analogy', id: 'x', ...base, reasoning: 'r' }),
];

test('lines giving their own id: staged as given-id puts, the fast path exactly as the general one', () => {
  const outcomes = idLines.map(compare);
  assert.deepEqual(outcomes.slice(0, 5), ['fast', 'fast', 'fast', 'fast', 'fast']);
  const staged = Buffer.from(stageBlock(0, Buffer.from(idLines[0]), target, options).staged).toString('utf8');
  assert.ok(staged.slice(9).startsWith('{"op":"put","given":true,"index":["item-1",1,'), staged);
  const r = rng(16);
  const alphabet = '{}[]:,"\\ 0123456789.-_:ide\t';
  for (const seed of idLines.slice(0, 4)) {
    for (let k = 0; k < 300; k++) {
      const at = Math.floor(r() * 24);
      const line = seed.slice(0, at) + alphabet[Math.floor(r() * alphabet.length)] + seed.slice(at + (r() < 0.5 ? 1 : 0));
      compare(line);
    }
  }
});

test('the fast path agrees with the general path on random mutations of valid lines', () => {
  const r = rng(20261126);
  const alphabet = '{}[]:,"\\ 0123456789.eE+-truefalsnul_aé\t';
  const { fast, total } = compareMutations(edgeLines.slice(0, 12), r, alphabet, 400, compare);
  // Many mutations keep the line valid (a changed digit, a letter in a string): both paths take them.
  assert.ok(fast > total / 20 && fast < total, `fast on ${fast} of ${total}`);
});

test('a block mixing fast and general lines keeps its order, line numbers and CRLF handling', () => {
  const lines = [JSON.stringify(base), '', JSON.stringify({ ...base, source_domain: 'é' }), `${JSON.stringify(base)}\r`, '{"bad":', JSON.stringify(base)];
  const data = Buffer.from(lines.join('\n'));
  const fast = stageBlock(0, data, target, { ...options, fast: true });
  const general = stageBlock(0, data, target, { ...options, fast: false });
  assert.equal(fast.count, 4);
  assert.equal(fast.lines, general.lines);
  assert.deepEqual(fast.issues, general.issues);
  assert.equal(fast.issues[0].line, 5);
  assert.deepEqual(normalised(fast), normalised(general));
});

/** A knowledge import's block staged (knowledge-block.ts), its items parsed; ids minted for lines without one replaced. */
function knowledgeStaged(line: string, fast: boolean): { runs: unknown[]; items: unknown[]; text: string } {
  const block = stageKnowledgeBlock(0, Buffer.from(line), target, { override: undefined, merge: 'merge', fast });
  const text = Buffer.from(block.staged).toString('utf8');
  const items = text
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const item = JSON.parse(l.slice(9)) as { index?: unknown[]; record?: { id?: string } };
      if (!line.includes('"id"')) {
        if (item.index) item.index[0] = 'ID';
        if (item.record) item.record.id = 'ID';
      }
      return item;
    });
  // A run's byte count depends on how the members were spaced: not compared.
  return { runs: block.runs.map((run) => ('bytes' in run ? { ...run, bytes: 0 } : run)), items, text };
}

test('a knowledge import\'s bare lines: the fast path stages what the general path stages', () => {
  let fast = 0;
  const r = rng(16_16);
  const alphabet = '{}[]:,"\\ 0123456789.-_:ide\t';
  const mutated = idLines.slice(0, 4).flatMap((seed) =>
    Array.from({ length: 200 }, () => {
      const at = Math.floor(r() * seed.length);
      return seed.slice(0, at) + alphabet[Math.floor(r() * alphabet.length)] + seed.slice(at + (r() < 0.5 ? 1 : 0));
    }),
  );
  for (const line of [...idLines, ...edgeLines, ...mutated]) {
    if (line.includes('\n')) continue;
    const a = knowledgeStaged(line, true);
    const b = knowledgeStaged(line, false);
    assert.deepEqual(a.runs, b.runs, line);
    assert.deepEqual(a.items, b.items, line);
    if (a.text !== b.text) fast += 1;
  }
  // Lines written as JSON.stringify writes them are staged byte for byte the same.
  for (const line of idLines.slice(0, 3)) assert.equal(knowledgeStaged(line, true).text, knowledgeStaged(line, false).text, line);
  // Spaced lines the fast path takes (its members copied as they are): staged differently, read back the same.
  assert.ok(fast > 0, 'the fast path took some lines');
});
