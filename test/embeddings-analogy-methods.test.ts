/**
 * Beyond 3CosAdd: all-but-the-top post-processing (Mu & Viswanath 2018) and 3CosAvg (Drozd et al.
 * 2016) in `analogy eval` and `analogy complete`, through the library, the CLI and HTTP; each
 * checked against an independent computation, with bad options refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { VectorSpace } from '../src/embeddings/vector-space.js';
import { allButTheTop, parsePostprocess } from '../src/embeddings/postprocess.js';
import { averageOffsetQueries } from '../src/embeddings/analogy-average.js';
import { evaluateAnalogies, parseEvalMethod, parseQuestions } from '../src/embeddings/analogy-eval.js';
import { GloveProvider } from '../src/embeddings/glove-provider.js';
import { cosine } from '../src/embeddings/vector-math.js';
import { cliErr, cliOk, errCode, tempDir, useTestGloveCache } from './helpers.js';
import { startHarness } from './service-helpers.js';

useTestGloveCache();

/** Rows sharing one big common direction plus small noise in the others (deterministic). */
function skewedSpace(n: number, dim: number): VectorSpace {
  const space = new VectorSpace(dim, n);
  let seed = 7;
  const rand = (): number => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) - 0.5;
  for (let i = 0; i < n; i++) {
    const v = new Float32Array(dim);
    v[0] = 5 + rand();
    for (let d = 1; d < dim; d++) v[d] = rand();
    space.add(`w${i}`, v);
  }
  return space;
}

test('all-but-the-top removes the common direction: unit rows, mean cosine near 0, ids kept', () => {
  const space = skewedSpace(400, 8);
  const meanCos = (s: VectorSpace): number => {
    let sum = 0;
    for (let i = 0; i < 100; i++) sum += cosine(s.row(i), s.row(i + 100));
    return sum / 100;
  };
  assert.ok(meanCos(space) > 0.9);
  const p = allButTheTop(space, space.size, 1);
  assert.deepEqual(p.ids, space.ids);
  for (let i = 0; i < p.size; i++) assert.ok(Math.abs(Math.hypot(...p.row(i)) - 1) < 1e-5);
  assert.ok(Math.abs(meanCos(p)) < 0.1, `mean cosine ${meanCos(p)}`);
  // Only the first N rows when asked; components out of range refused.
  assert.equal(allButTheTop(space, 50).size, 50);
  assert.equal(errCode(() => allButTheTop(space, 400, 8)), 'INVALID_INPUT');
  assert.equal(errCode(() => parsePostprocess('pca')), 'INVALID_INPUT');
  assert.equal(errCode(() => parseEvalMethod('cosdiv')), 'INVALID_INPUT');
});

test('3CosAvg queries: c + the mean offset of the pairs that share no word with (c, d)', () => {
  const space = new VectorSpace(2, 8);
  const words: Record<string, [number, number]> = { a1: [1, 0], b1: [1, 2], a2: [2, 0], b2: [2, 4], a3: [3, 0], b3: [3, 6], x: [0, 1] };
  for (const [w, v] of Object.entries(words)) space.add(w, v);
  const r = (w: string): number => space.indexOf(w);
  const row = (w: string): Float32Array => space.row(r(w));
  // Questions a1 b1 a2 b2 and a1 b1 a3 b3 in one section: pairs (a1,b1), (a2,b2), (a3,b3).
  const rows = Int32Array.from([r('a1'), r('b1'), r('a2'), r('b2'), r('a1'), r('b1'), r('a3'), r('b3')]);
  const q = averageOffsetQueries(space, rows, [0, 0]);
  // Question 1 (c = a2, d = b2): the mean of (a1,b1) and (a3,b3) offsets.
  for (let d = 0; d < 2; d++) {
    const expected = row('a2')[d] + ((row('b1')[d] - row('a1')[d]) + (row('b3')[d] - row('a3')[d])) / 2;
    assert.ok(Math.abs(q[d] - expected) < 1e-9);
  }
  // A section of one pair: its own offset (b - a).
  const single = averageOffsetQueries(space, Int32Array.from([r('a1'), r('b1'), r('a1'), r('b1')]), [0]);
  for (let d = 0; d < 2; d++) assert.ok(Math.abs(single[d] - (row('a1')[d] + row('b1')[d] - row('a1')[d])) < 1e-9);
});

const QUESTIONS = `: capital-common-countries
athens greece berlin germany
berlin germany paris france
paris france rome italy
rome italy madrid spain
madrid spain athens greece
: gram8-plural
car cars dog dogs
dog dogs cat cats
cat cats horse horses
horse horses car cars
`;

test('eval: cosavg and abtt agree with a brute force over the same queries and vectors', () => {
  const glove = GloveProvider.open();
  const sections = parseQuestions(QUESTIONS);
  const top = 30000;
  for (const postprocess of ['none', 'abtt'] as const) {
    const space = postprocess === 'abtt' ? allButTheTop(glove.vocabularySpace, top) : glove.vocabularySpace;
    const r = evaluateAnalogies(glove.vocabularySpace, sections, { top, method: 'cosavg', postprocess });
    assert.equal(r.method, 'cosavg');
    assert.equal(r.postprocess, postprocess);
    for (const [si, section] of sections.entries()) {
      let correct = 0;
      const pairs = new Map<string, [string, string]>();
      for (const [a, b, c, d] of section.questions) {
        pairs.set(`${a},${b}`, [a, b]);
        pairs.set(`${c},${d}`, [c, d]);
      }
      for (const [a, b, c, d] of section.questions) {
        const used = [...pairs.values()].filter(([x, y]) => x !== c && y !== d);
        const q = Array.from(space.vector(c) as Float32Array, (v, k) => v + used.reduce((s, [x, y]) => s + (space.vector(y) as Float32Array)[k] - (space.vector(x) as Float32Array)[k], 0) / used.length);
        let best = -Infinity;
        let bestWord = '';
        for (let row = 0; row < top; row++) {
          const w = space.idAt(row);
          if (w === a || w === b || w === c) continue;
          const s = space.row(row).reduce((acc, v, k) => acc + v * q[k], 0);
          if (s > best) {
            best = s;
            bestWord = w;
          }
        }
        if (bestWord === d) correct++;
      }
      assert.equal(r.sections[si].correct, correct, `${postprocess} ${section.name}`);
      assert.equal(r.sections[si].seen, section.questions.length);
    }
  }
  // Plain cosadd on the same space is unchanged by the new options' defaults.
  const plain = evaluateAnalogies(glove.vocabularySpace, sections, { top });
  assert.equal(plain.postprocess, 'none');
  assert.equal(plain.method, 'cosadd');
});

test('CLI: analogy eval --method cosavg --postprocess abtt; analogy complete --postprocess abtt', () => {
  const dir = tempDir();
  const store = join(dir, 's');
  cliOk(store, ['init']);
  cliOk(store, ['contexts', 'create', 'default']);
  const file = join(dir, 'q.txt');
  writeFileSync(file, QUESTIONS);
  const r = cliOk(store, ['analogy', 'eval', file, '--method', 'cosavg', '--postprocess', 'abtt', '--top', '30000']);
  assert.deepEqual([r.method, r.postprocess, r.total.seen], ['cosavg', 'abtt', 9]);
  assert.equal(cliErr(store, ['analogy', 'eval', file, '--postprocess', 'pca']).code, 'INVALID_INPUT');
  const c = cliOk(store, ['analogy', 'complete', 'man', 'king', 'woman', '--scope', 'vocabulary', '--postprocess', 'abtt', '--k', '3']);
  assert.equal(c.postprocess, 'abtt');
  assert.equal(c.results[0].id, 'queen');
  assert.ok(c.trace.some((t: string) => /all-but-the-top/.test(t)));
  // an explicit registry scope cannot be post-processed; with no scope an empty registry falls back to the vocabulary
  assert.equal(cliErr(store, ['analogy', 'complete', 'man', 'king', 'woman', '--scope', 'registry', '--postprocess', 'abtt']).code, 'INVALID_INPUT');
  const fallback = cliOk(store, ['analogy', 'complete', 'man', 'king', 'woman', '--postprocess', 'abtt', '--k', '3']);
  assert.deepEqual([fallback.scope, fallback.postprocess, fallback.results[0].id], ['vocabulary', 'abtt', 'queen']);
  assert.ok(typeof fallback.fallback_reason === 'string');
  assert.equal(cliErr(store, ['analogy', 'complete', 'man', 'king', 'woman', '--method', 'cosavg', '--scope', 'vocabulary']).code, 'INVALID_INPUT');
});

test('HTTP: complete and eval take postprocess and cosavg', async () => {
  const h = await startHarness();
  try {
    await h.store.contexts.create('v');
    const res = await fetch(`${h.base}/api/analogy/complete?a=man&b=king&c=woman&scope=vocabulary&postprocess=abtt&k=2&context=v`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as { postprocess: string; results: Array<{ id: string }> };
    assert.equal(body.postprocess, 'abtt');
    assert.equal(body.results[0].id, 'queen');
    assert.equal((await fetch(`${h.base}/api/analogy/complete?a=man&b=king&c=woman&scope=vocabulary&postprocess=pca&context=v`)).status, 400);
    const ev = await fetch(`${h.base}/api/analogy/eval?top=30000&method=cosavg&postprocess=abtt`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: QUESTIONS });
    assert.equal(ev.status, 200);
    const e = (await ev.json()) as { method: string; postprocess: string; total: { seen: number } };
    assert.deepEqual([e.method, e.postprocess, e.total.seen], ['cosavg', 'abtt', 9]);
  } finally {
    await h.close();
  }
});
