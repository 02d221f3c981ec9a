import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SoftlogicError } from '../src/core/errors.js';
import { VectorSpace } from '../src/embeddings/vector-space.js';
import { analogyScore, complete, parseMethod } from '../src/embeddings/analogy-completion.js';
import { evaluateAnalogies, parseQuestions, predictBatch, sectionKind } from '../src/embeddings/analogy-eval.js';
import { HashProvider } from '../src/embeddings/hash-provider.js';
import { cosine } from '../src/embeddings/vector-math.js';
import { errCode as code } from './helpers.js';


/** A space where b - a + c lands exactly on d. */
function toySpace(): VectorSpace {
  const s = new VectorSpace(3);
  s.add('man', [1, 0, 0]);
  s.add('king', [1, 1, 0]);
  s.add('woman', [0, 0, 1]);
  s.add('queen', [0, 1, 1]);
  s.add('apple', [-1, -1, 0.2]);
  s.add('Thing', [1, 0, 0.1]);
  return s;
}

test('scores follow the published formulas', () => {
  assert.equal(analogyScore('cosadd', 0.2, 0.5, 0.7), 0.5 - 0.2 + 0.7);
  // Levy & Goldberg 2014: shift to [0,1], epsilon 0.001.
  assert.equal(analogyScore('cosmul', 0.2, 0.5, 0.7), (0.75 * 0.85) / (0.6 + 0.001));
  assert.equal(analogyScore('cosmul', -1, 1, 1), 1 / 0.001);
  assert.equal(parseMethod('cosmul'), 'cosmul');
  assert.equal(code(() => parseMethod('cos')), 'INVALID_INPUT');
});

test('complete: ranks by the formula, never answers with a question word, traces its reasoning', () => {
  const s = toySpace();
  for (const method of ['cosadd', 'cosmul'] as const) {
    const r = complete(s, 'man', 'king', 'woman', { k: 10, method });
    assert.equal(r.results[0].id, 'queen');
    assert.deepEqual(r.results.map((x) => x.id).sort(), ['Thing', 'apple', 'queen']);
    for (const x of r.results) {
      const v = s.vector(x.id);
      assert.ok(v);
      const expected = analogyScore(method, cosine(v, s.vector('man') ?? []), cosine(v, s.vector('king') ?? []), cosine(v, s.vector('woman') ?? []));
      assert.ok(Math.abs(x.score - expected) < 1e-6);
    }
    for (let i = 1; i < r.results.length; i++) assert.ok(r.results[i - 1].score >= r.results[i].score);
    assert.equal(r.method, method);
    assert.match(r.trace[0], /man : king :: woman : \?/);
    assert.ok(r.trace.some((t) => t.startsWith('best: queen')));
  }
  // Lower-case fallback for lookups, exact id first.
  assert.equal(complete(s, 'MAN', 'King', 'woman', { k: 1 }).results[0].id, 'queen');
  assert.equal(complete(s, 'man', 'Thing', 'woman', { k: 1 }).question.b, 'Thing');
});

test('complete: bad input is reported, not crashed on', () => {
  const s = toySpace();
  try {
    complete(s, 'man', 'prince', 'girl');
    assert.fail('accepted unknown words');
  } catch (err) {
    assert.ok(err instanceof SoftlogicError);
    assert.equal(err.code, 'NOT_IN_VOCABULARY');
    assert.deepEqual(err.details.words, ['prince', 'girl']);
    assert.match(err.message, /"prince", "girl"/);
  }
  assert.equal(code(() => complete(s, 'man', 'king', 'woman', { k: 0 })), 'INVALID_INPUT');
  assert.equal(code(() => complete(s, 'man', 'king', 'woman', { k: -1 })), 'INVALID_INPUT');
  assert.equal(complete(s, 'man', 'king', 'woman', { k: 1e12 }).results.length, 3);
  assert.equal(code(() => complete(s, ' ', 'king', 'woman')), 'INVALID_INPUT');
  assert.equal(code(() => complete(s, 'man', 'king', 'woman', { method: 'x' as never })), 'INVALID_INPUT');
  // Words beyond `limit` count as unknown.
  assert.equal(code(() => complete(s, 'man', 'king', 'woman', { limit: 2 })), 'NOT_IN_VOCABULARY');
});

test('parseQuestions: sections, case, blank lines, malformed lines', () => {
  const sections = parseQuestions('a b c d\n: capital-world\nAthens Greece Oslo Norway\n\n: gram1-adjective-to-adverb\r\nquick quickly slow slowly\n');
  assert.deepEqual(sections, [
    { name: '(no section)', questions: [['a', 'b', 'c', 'd']] },
    { name: 'capital-world', questions: [['athens', 'greece', 'oslo', 'norway']] },
    { name: 'gram1-adjective-to-adverb', questions: [['quick', 'quickly', 'slow', 'slowly']] },
  ]);
  assert.equal(sectionKind('gram3-comparative'), 'syntactic');
  assert.equal(sectionKind('capital-world'), 'semantic');
  assert.equal(code(() => parseQuestions(': s\na b c\n')), 'INVALID_INPUT');
});

test('blocked evaluator equals a per-question brute force (folded and per-word paths, batch splits, ties)', () => {
  const p = new HashProvider({ dimension: 20 });
  const s = new VectorSpace(20);
  for (let i = 0; i < 701; i++) s.add(`w${i}`, p.embed(`w${i} x${i % 7}`).vector);
  const sets: Record<string, number[]> = { distinct: [], reuse: [], split: [] };
  // Few questions, mostly distinct words: 3CosAdd takes the folded b - a + c path.
  for (let q = 0; q < 67; q++) sets.distinct.push((q * 13) % 701, (q * 31 + 5) % 701, (q * 47 + 9) % 701);
  // Many questions over 12 words: the per-distinct-word path for both methods.
  for (let q = 0; q < 300; q++) sets.reuse.push(q % 12, (q * 5 + 1) % 12 === q % 12 ? 12 : (q * 5 + 1) % 12, (q * 7 + 3) % 11 + 13);
  // More than 512 distinct words: several batches.
  for (let q = 0; q < 400; q++) sets.split.push((q * 3) % 701, (q * 3 + 1) % 701, (q * 3 + 2) % 701);
  for (const [name, rows] of Object.entries(sets)) {
    for (const method of ['cosadd', 'cosmul'] as const) {
      for (const top of [701, 300]) {
        const usable = rows.map((r) => r % top);
        const got = predictBatch(s, Int32Array.from(usable), top, method);
        for (let q = 0; q < usable.length / 3; q++) {
          const [a, b, c] = usable.slice(q * 3, q * 3 + 3);
          let best = -Infinity;
          let bestRow = -1;
          for (let r = 0; r < top; r++) {
            if (r === a || r === b || r === c) continue;
            const score = analogyScore(method, cosine(s.row(r), s.row(a)), cosine(s.row(r), s.row(b)), cosine(s.row(r), s.row(c)));
            if (score > best) {
              best = score;
              bestRow = r;
            }
          }
          if (got[q] !== bestRow) {
            // Hashed vectors produce exact ties, which rounding in a different summation order may
            // break either way; the pick must then score the same to ~1e-12.
            const r = got[q];
            const mine = analogyScore(method, cosine(s.row(r), s.row(a)), cosine(s.row(r), s.row(b)), cosine(s.row(r), s.row(c)));
            assert.ok(![a, b, c].includes(r) && Math.abs(mine - best) < 1e-12, `${name} ${method} top ${top} question ${q}: ${r} vs ${bestRow}`);
          }
        }
      }
    }
  }
});

test('evaluateAnalogies: tallies, skipping beyond top, validation', () => {
  const s = toySpace();
  const sections = parseQuestions(': royals\nman king woman queen\nman king woman apple\nman king woman unicorn\n: gram-x\nman woman king queen\n');
  const r = evaluateAnalogies(s, sections, { top: 30000 });
  assert.equal(r.top, 6);
  assert.deepEqual(r.sections.map((x) => [x.name, x.kind, x.correct, x.seen, x.skipped]), [
    ['royals', 'semantic', 1, 2, 1],
    ['gram-x', 'syntactic', 1, 1, 0],
  ]);
  assert.deepEqual(r.semantic, { correct: 1, seen: 2, accuracy: 0.5 });
  assert.deepEqual(r.syntactic, { correct: 1, seen: 1, accuracy: 1 });
  assert.deepEqual(r.total, { correct: 2, seen: 3, accuracy: 2 / 3, skipped: 1, questions: 4 });
  const limited = evaluateAnalogies(s, sections, { top: 3 });
  assert.equal(limited.total.seen, 0);
  assert.equal(limited.total.skipped, 4);
  assert.equal(limited.total.accuracy, 0);
  assert.equal(code(() => evaluateAnalogies(s, sections, { top: 0 })), 'INVALID_INPUT');
});
