/**
 * Tests on the real GloVe vectors. The binary cache is built once into a fixed directory under
 * the OS temp dir and reused by later runs (building takes ~7 s and ~1.3 GB; loading ~0.3 s).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SoftlogicError } from '../src/core/errors.js';
import { GLOVE_CACHE_FILE, defaultCacheDir, loadGloveCache, openGloveData } from '../src/embeddings/glove-cache.js';
import { GloveProvider } from '../src/embeddings/glove-provider.js';
import { cosine, normalize } from '../src/embeddings/vector-math.js';
import { exactSearch } from '../src/embeddings/exact-search.js';
import { complete } from '../src/embeddings/analogy-completion.js';
import type { AnalogyMethod } from '../src/embeddings/analogy-completion.js';
import { evaluateAnalogies, parseQuestions } from '../src/embeddings/analogy-eval.js';
import type { VectorSpace } from '../src/embeddings/vector-space.js';
import { createProvider } from '../src/embeddings/providers.js';
import { errCode as code } from './helpers.js';

const SHARED_CACHE = join(tmpdir(), 'softlogic-test-glove-cache');
const glove = GloveProvider.open({ cacheDir: SHARED_CACHE });
const tmp = mkdtempSync(join(tmpdir(), 'softlogic-glove-test-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));


test('cache: all 341,479 words in frequency order, loaded from the cache (not converted again)', () => {
  assert.equal(glove.vocabulary.length, 341479);
  assert.equal(glove.dimension, 100);
  assert.deepEqual(glove.vocabulary.slice(0, 4), ['the', ',', '.', 'of']);
  assert.equal(glove.matrix.length, 341479 * 100);
  const t = performance.now();
  const data = loadGloveCache(join(SHARED_CACHE, GLOVE_CACHE_FILE));
  const ms = performance.now() - t;
  assert.ok(data);
  // A generous margin (a loaded 2-core machine): converting the text vectors instead takes far longer; bench/ measures the real time.
  assert.ok(ms < 10_000, `cache load took ${ms.toFixed(0)} ms`);
  // Rows are unit length; raw vectors come back through the stored norms.
  assert.ok(Math.abs(cosine(data.matrix.subarray(0, 100), data.matrix.subarray(0, 100)) - 1) < 1e-6);
  const rawThe = glove.rawVector('the');
  assert.ok(rawThe);
  assert.ok(Math.abs(rawThe[0] - -0.038194) < 1e-5);
});

test('default cache dir honours SOFTLOGIC_CACHE_DIR, then XDG_CACHE_HOME', () => {
  assert.equal(defaultCacheDir({ SOFTLOGIC_CACHE_DIR: '/x/y', XDG_CACHE_HOME: '/c' }), '/x/y');
  assert.equal(defaultCacheDir({ XDG_CACHE_HOME: '/c' }), join('/c', 'softlogic'));
  assert.match(defaultCacheDir({}), /\.cache[/\\]softlogic$/);
});

test('embed: lower-case lookup, multi-word mean, compounds, deterministic fallback', () => {
  const king = glove.embed('King');
  assert.equal(king.fallback, false);
  assert.deepEqual(king.vector, glove.embed('king').vector);
  const ice = glove.rawVector('ice');
  const cream = glove.rawVector('cream');
  assert.ok(ice && cream);
  const mean = normalize(ice.map((x, i) => (x + cream[i]) / 2));
  const iceCream = glove.embed('ice cream');
  assert.equal(iceCream.fallback, false);
  iceCream.vector.forEach((x, i) => assert.ok(Math.abs(x - mean[i]) < 1e-5));
  assert.deepEqual(glove.embed('new_york').vector, glove.embed('New York').vector);
  assert.ok(glove.indexOf('new-york') >= 0, 'new-york is itself a GloVe word');
  assert.equal(glove.embed('new-york').fallback, false);
  assert.equal(glove.embed('qzxqzxq blorfle').fallback, true);
  assert.deepEqual(glove.embed('qzxqzxq blorfle'), glove.embed('qzxqzxq blorfle'));
  assert.equal(glove.embed('the qzxqzxq').fallback, false);
  assert.equal(code(() => glove.embed('  ')), 'INVALID_INPUT');
});

test('createProvider: glove is 100-d; another recorded dimension is refused', () => {
  assert.equal(createProvider({ name: 'glove', cacheDir: SHARED_CACHE }).dimension, 100);
  assert.equal(code(() => createProvider({ name: 'glove', dimension: 50, cacheDir: SHARED_CACHE })), 'DIMENSION_MISMATCH');
});

test('vocabulary-wide similarity search', () => {
  const hits = exactSearch(glove.vocabularySpace, glove.embed('frog').vector, 10);
  assert.equal(hits[0].id, 'frog');
  assert.ok(hits.some((h) => h.id === 'toad'), hits.map((h) => h.id).join(' '));
});

test('analogy completion over the vocabulary: man : king :: woman : queen', () => {
  for (const method of ['cosadd', 'cosmul'] as const) {
    const r = complete(glove.vocabularySpace, 'man', 'King', 'woman', { k: 5, method });
    assert.equal(r.results[0].id, 'queen', `${method}: ${r.results.map((x) => x.id).join(' ')}`);
    assert.ok(!r.results.some((x) => ['man', 'king', 'woman'].includes(x.id)));
    assert.ok(r.trace.length >= 3 && r.trace.some((line) => line.includes('queen')));
  }
  try {
    complete(glove.vocabularySpace, 'man', 'zzqxv', 'woman');
    assert.fail('unknown word accepted');
  } catch (err) {
    assert.ok(err instanceof SoftlogicError);
    assert.equal(err.code, 'NOT_IN_VOCABULARY');
    assert.match(err.message, /zzqxv/);
    assert.deepEqual(err.details.words, ['zzqxv']);
  }
  assert.equal(code(() => complete(glove.vocabularySpace, 'man', 'king', 'woman', { k: 0 })), 'INVALID_INPUT');
  assert.equal(code(() => complete(glove.vocabularySpace, 'man', '', 'woman')), 'INVALID_INPUT');
  assert.equal(complete(glove.vocabularySpace, 'man', 'king', 'woman', { k: 10_000_000, limit: 1000 }).results.length, 997);
});

const QUESTIONS = `: capital-common-countries
Athens Greece Berlin Germany
Athens Greece Paris France
Berlin Germany Madrid Spain
Paris France Rome Italy
Tokyo Japan Moscow Russia
Cairo Egypt Ottawa Canada
London England Tokyo Japan
Madrid Spain Zzqxv Blorf
: family
boy girl brother sister
king queen man woman
father mother son daughter
husband wife uncle aunt
: gram8-plural
car cars dog dogs
apple apples banana bananas
cat cats horse horses
child children mouse mice
eye eyes hand hands
: gram3-comparative
good better bad worse
big bigger small smaller
quick quicker slow slower
`;

/** Independent brute force: every candidate scored from its three cosines, one at a time. */
function bruteForce(space: VectorSpace, top: number, method: AnalogyMethod): Map<string, { correct: number; seen: number; skipped: number }> {
  const out = new Map<string, { correct: number; seen: number; skipped: number }>();
  let section = '';
  for (const line of QUESTIONS.split('\n')) {
    if (line.startsWith(':')) {
      section = line.slice(1).trim();
      out.set(section, { correct: 0, seen: 0, skipped: 0 });
      continue;
    }
    if (!line.trim()) continue;
    const s = out.get(section);
    assert.ok(s);
    const rows = line.toLowerCase().split(' ').map((w) => space.indexOf(w));
    if (rows.some((r) => r < 0 || r >= top)) {
      s.skipped++;
      continue;
    }
    s.seen++;
    const [a, b, c, d] = rows.map((r) => space.row(r));
    let best = -Infinity;
    let bestRow = -1;
    for (let r = 0; r < top; r++) {
      if (r === rows[0] || r === rows[1] || r === rows[2]) continue;
      const x = space.row(r);
      const ca = cosine(x, a);
      const cb = cosine(x, b);
      const cc = cosine(x, c);
      const score = method === 'cosadd' ? cb - ca + cc : (((cb + 1) / 2) * ((cc + 1) / 2)) / ((ca + 1) / 2 + 0.001);
      if (score > best) {
        best = score;
        bestRow = r;
      }
    }
    if (space.row(bestRow) === d || bestRow === rows[3]) s.correct++;
  }
  return out;
}

test('analogy eval equals a brute-force reference (both methods, vocabulary restriction)', () => {
  const sections = parseQuestions(QUESTIONS);
  assert.deepEqual(sections.map((s) => s.name), ['capital-common-countries', 'family', 'gram8-plural', 'gram3-comparative']);
  for (const method of ['cosadd', 'cosmul'] as const) {
    for (const top of [30000, 3000]) {
      const r = evaluateAnalogies(glove.vocabularySpace, sections, { top, method });
      const ref = bruteForce(glove.vocabularySpace, top, method);
      for (const s of r.sections) {
        const e = ref.get(s.name);
        assert.ok(e);
        assert.deepEqual({ correct: s.correct, seen: s.seen, skipped: s.skipped }, e, `${method} top ${top} ${s.name}`);
      }
      assert.equal(r.total.questions, 20);
      assert.equal(r.total.seen + r.total.skipped, 20);
      assert.equal(r.semantic.seen, r.sections[0].seen + r.sections[1].seen);
      assert.equal(r.syntactic.seen, r.sections[2].seen + r.sections[3].seen);
      assert.equal(r.total.correct, r.semantic.correct + r.syntactic.correct);
      if (top === 30000) {
        assert.equal(r.total.skipped, 1); // the made-up words
        assert.ok(r.total.accuracy > 0.5, `${method} accuracy ${r.total.accuracy}`);
      } else {
        assert.ok(r.total.skipped > 1, 'rarer words fall outside the top 3000');
      }
    }
  }
});

test('cache file: built atomically from a wink-format source, stale and corrupt caches rebuilt', () => {
  const source = join(tmp, 'tiny.json');
  const tiny = {
    precision: 8,
    l2NormIndex: 2,
    wordIndex: 3,
    size: 3,
    dimensions: 2,
    words: ['a', 'b', 'c'],
    vectors: { a: [3, 4, 5, 0], b: [1, 0, 1, 1], c: [0, 2, 2, 2] },
    unkVector: [0, 0, 0, -1],
  };
  writeFileSync(source, JSON.stringify(tiny));
  const cacheDir = join(tmp, 'cache');
  const first = openGloveData({ sourcePath: source, cacheDir });
  assert.equal(first.built, true);
  assert.deepEqual(first.words, ['a', 'b', 'c']);
  assert.deepEqual(Array.from(first.matrix), [0.6000000238418579, 0.800000011920929, 1, 0, 0, 1]);
  assert.deepEqual(Array.from(first.norms), [5, 1, 2]);
  assert.equal(openGloveData({ sourcePath: source, cacheDir }).built, false);
  // Corrupt one matrix byte: the checksum catches it and the cache is rebuilt.
  const bytes = readFileSync(first.cachePath);
  bytes[bytes.length - 1] ^= 0xff;
  writeFileSync(first.cachePath, bytes);
  assert.equal(code(() => loadGloveCache(first.cachePath)), 'INTEGRITY');
  assert.equal(openGloveData({ sourcePath: source, cacheDir }).built, true);
  // A changed source (new mtime) makes the cache stale.
  utimesSync(source, new Date(), new Date(Date.now() + 5000));
  assert.equal(openGloveData({ sourcePath: source, cacheDir }).built, true);
  // Malformed sources are refused clearly.
  writeFileSync(source, JSON.stringify({ ...tiny, vectors: { a: [1], b: [1, 0], c: [0, 1] } }));
  assert.equal(code(() => openGloveData({ sourcePath: source, cacheDir: join(tmp, 'c2') })), 'UNSUPPORTED_FORMAT');
  writeFileSync(source, '{"words": [');
  assert.equal(code(() => openGloveData({ sourcePath: source, cacheDir: join(tmp, 'c3') })), 'UNSUPPORTED_FORMAT');
  assert.equal(code(() => openGloveData({ sourcePath: join(tmp, 'missing.json'), cacheDir })), 'FILE_NOT_FOUND');
});
