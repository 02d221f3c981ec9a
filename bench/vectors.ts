/**
 * `npm run bench -- vectors [--limit N] [--queries Q] [--m M] [--efc E] [--ef 32,64,...] [--lib all|both|hnswlib|usearch|softlogic]`
 *
 * Over the GloVe vocabulary (all 341,479 words by default): builds an HNSW index with hnswlib-node
 * and with usearch (same M / efConstruction, one thread each), and the shipped HnswVectorIndex
 * (hnswlib-node underneath, string ids), then for ~1000 sampled vocabulary
 * words compares their top-10 neighbours (the query word itself excluded) with exact search, and
 * reports recall@10, queries per second against the exact search's QPS measured in this same run
 * (median of interleaved rounds, so load from other processes hits every contender alike),
 * build time and index size on disk.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import hnswlib from 'hnswlib-node';
import { GloveProvider } from '../src/embeddings/glove-provider.js';
import { VectorSpace } from '../src/embeddings/vector-space.js';
import { exactSearch } from '../src/embeddings/exact-search.js';
import { HnswVectorIndex } from '../src/embeddings/hnsw-index.js';

// usearch's CommonJS entry: its ESM entry locates the native addon from a stack trace, which fails in some hosts.
const usearch = createRequire(import.meta.url)('usearch') as typeof import('usearch');

interface Options {
  limit: number;
  queries: number;
  m: number;
  efConstruction: number;
  efs: number[];
  libs: string[];
  cacheDir: string | undefined;
  rounds: number;
}

function parseArgs(args: string[]): Options {
  const get = (name: string): string | undefined => {
    const i = args.indexOf(`--${name}`);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const lib = get('lib') ?? 'all';
  return {
    limit: Number(get('limit') ?? Infinity),
    queries: Number(get('queries') ?? 1000),
    m: Number(get('m') ?? 16),
    efConstruction: Number(get('efc') ?? 200),
    efs: (get('ef') ?? '32,64,96,128,192,256').split(',').map(Number),
    libs: lib === 'all' ? ['hnswlib', 'usearch', 'softlogic'] : lib === 'both' ? ['hnswlib', 'usearch'] : [lib],
    cacheDir: get('cache-dir'),
    rounds: Number(get('rounds') ?? 3),
  };
}

/** Deterministic sample (mulberry32) so runs are comparable. */
function sample(n: number, count: number, seed = 42): number[] {
  let a = seed >>> 0;
  const rand = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const picked = new Set<number>();
  while (picked.size < Math.min(count, n)) picked.add(Math.floor(rand() * n));
  return [...picked];
}

/** Top-10 without the query row itself, from a best-first list of rows. */
function top10(rows: ArrayLike<number>, self: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < rows.length && out.length < 10; i++) if (rows[i] !== self) out.push(rows[i]);
  return out;
}

function recall(truth: number[][], found: number[][]): number {
  let hit = 0;
  let total = 0;
  for (let q = 0; q < truth.length; q++) {
    const s = new Set(found[q]);
    for (const r of truth[q]) if (s.has(r)) hit++;
    total += truth[q].length;
  }
  return hit / total;
}

interface Built {
  buildSeconds: number;
  indexBytes: number;
  /** Runs all queries at search breadth ef; returns the found rows and the elapsed seconds. */
  run(ef: number, queries: number[]): { found: number[][]; seconds: number };
}

function buildHnswlib(space: VectorSpace, o: Options, dir: string): Built {
  const n = space.size;
  const index = new hnswlib.HierarchicalNSW('ip', space.dimension);
  index.initIndex({ maxElements: n, m: o.m, efConstruction: o.efConstruction, randomSeed: 100 });
  const t0 = performance.now();
  for (let i = 0; i < n; i++) index.addPoint(Array.from(space.row(i)), i);
  const buildSeconds = (performance.now() - t0) / 1000;
  const file = join(dir, 'hnswlib.bin');
  index.writeIndexSync(file);
  return {
    buildSeconds,
    indexBytes: statSync(file).size,
    run(ef, queries) {
      index.setEf(ef);
      const vecs = queries.map((q) => Array.from(space.row(q)));
      const found: number[][] = [];
      const t = performance.now();
      for (let i = 0; i < queries.length; i++) found.push(top10(index.searchKnn(vecs[i], 11).neighbors, queries[i]));
      return { found, seconds: (performance.now() - t) / 1000 };
    },
  };
}

function buildUsearch(space: VectorSpace, o: Options, dir: string): Built {
  const n = space.size;
  const config = (ef: number) => ({
    dimensions: space.dimension,
    metric: usearch.MetricKind.IP,
    quantization: usearch.ScalarKind.F32,
    connectivity: o.m,
    expansion_add: o.efConstruction,
    expansion_search: ef,
    multi: false,
  });
  const index = new usearch.Index(config(64));
  const keys = new BigUint64Array(n);
  for (let i = 0; i < n; i++) keys[i] = BigInt(i);
  const t0 = performance.now();
  index.add(keys, space.matrix, 1);
  const buildSeconds = (performance.now() - t0) / 1000;
  const file = join(dir, 'usearch.bin');
  index.save(file);
  return {
    buildSeconds,
    indexBytes: statSync(file).size,
    run(ef, queries) {
      // usearch fixes expansion_search at construction, so each ef loads the saved graph afresh.
      const idx = new usearch.Index(config(ef));
      idx.load(file);
      const vecs = queries.map((q) => space.row(q).slice());
      const found: number[][] = [];
      const t = performance.now();
      for (let i = 0; i < queries.length; i++) {
        const m = idx.search(vecs[i], 11, 1);
        found.push(top10(Array.from(m.keys, Number), queries[i]));
      }
      return { found, seconds: (performance.now() - t) / 1000 };
    },
  };
}

/** The shipped implementation (hnswlib-node underneath, string ids), bulk-built as `rebuild` would. */
function buildSoftlogic(space: VectorSpace, o: Options, dir: string): Built & { threads: number } {
  const threads = 1;
  const make = (ef: number) => new HnswVectorIndex(space.dimension, { m: o.m, efConstruction: o.efConstruction, efSearch: ef, capacity: space.size });
  const index = make(64);
  const t0 = performance.now();
  index.addAll(space.ids, space.matrix);
  const buildSeconds = (performance.now() - t0) / 1000;
  const file = join(dir, 'softlogic.index');
  index.save(file);
  return {
    threads,
    buildSeconds,
    indexBytes: statSync(file).size + statSync(`${file}.meta.json`).size,
    run(ef, queries) {
      const idx = make(ef);
      idx.load(file);
      const vecs = queries.map((q) => space.row(q).slice());
      const found: number[][] = [];
      const t = performance.now();
      for (let i = 0; i < queries.length; i++) found.push(top10(idx.search(vecs[i], 11).map((h) => space.indexOf(h.id)), queries[i]));
      return { found, seconds: (performance.now() - t) / 1000 };
    },
  };
}

export default async function vectors(args: string[]): Promise<void> {
  const o = parseArgs(args);
  const t0 = performance.now();
  const glove = GloveProvider.open(o.cacheDir ? { cacheDir: o.cacheDir } : {});
  const loadSeconds = (performance.now() - t0) / 1000;
  const n = Math.min(o.limit, glove.vocabulary.length);
  const space =
    n === glove.vocabulary.length
      ? glove.vocabularySpace
      : VectorSpace.fromUnitMatrix(glove.vocabulary.slice(0, n), glove.matrix.subarray(0, n * glove.dimension), glove.dimension);
  const queries = sample(n, o.queries);
  console.log(`vectors: ${n} words x ${space.dimension}d, ${queries.length} queries, GloVe load ${loadSeconds.toFixed(2)} s`);

  const te = performance.now();
  const truth = queries.map((q) => top10(exactSearch(space, space.row(q), 11).map((r) => r.row), q));
  const exactSeconds = (performance.now() - te) / 1000;
  let exactQps = queries.length / exactSeconds;
  console.log(`exact (ground truth pass): ${exactQps.toFixed(1)} q/s (${((exactSeconds / queries.length) * 1000).toFixed(2)} ms/query)`);

  const dir = mkdtempSync(join(tmpdir(), 'softlogic-bench-vectors-'));
  const results: Array<Record<string, number | string | boolean>> = [];
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  try {
    const built = new Map<string, Built & { threads: number }>();
    for (const lib of o.libs) {
      const b = lib === 'hnswlib' ? { ...buildHnswlib(space, o, dir), threads: 1 } : lib === 'usearch' ? { ...buildUsearch(space, o, dir), threads: 1 } : buildSoftlogic(space, o, dir);
      built.set(lib, b);
      console.log(`${lib}: built in ${b.buildSeconds.toFixed(1)} s (${b.threads} thread(s), M=${o.m}, efConstruction=${o.efConstruction}), ${(b.indexBytes / 1e6).toFixed(1)} MB on disk`);
    }
    // Rounds interleave exact search and every library, and medians are reported, so that load
    // from other processes on the machine hits all contenders alike.
    const exactRounds: number[] = [exactQps];
    const qpsOf = new Map<string, number[]>();
    const recallOf = new Map<string, number>();
    for (let round = 0; round < o.rounds; round++) {
      const sub = queries.slice(0, 100);
      const t = performance.now();
      for (const q of sub) exactSearch(space, space.row(q), 11);
      exactRounds.push(sub.length / ((performance.now() - t) / 1000));
      for (const ef of o.efs) {
        for (const [lib, b] of built) {
          b.run(ef, queries.slice(0, 50)); // warm-up
          const { found, seconds } = b.run(ef, queries);
          const key = `${lib}/${ef}`;
          qpsOf.set(key, [...(qpsOf.get(key) ?? []), queries.length / seconds]);
          recallOf.set(key, recall(truth, found));
        }
      }
    }
    const exactMedian = median(exactRounds);
    console.log(`exact search, median of ${exactRounds.length} measurements: ${exactMedian.toFixed(1)} q/s (${exactRounds.map((x) => x.toFixed(1)).join(', ')})`);
    for (const [lib, b] of built) {
      for (const ef of o.efs) {
        const key = `${lib}/${ef}`;
        const qps = median(qpsOf.get(key) ?? [0]);
        const r = recallOf.get(key) ?? 0;
        const row = {
          lib,
          ef,
          recallAt10: Number(r.toFixed(4)),
          qps: Number(qps.toFixed(1)),
          qpsRounds: (qpsOf.get(key) ?? []).map((x) => Math.round(x)).join(' '),
          speedupVsExact: Number((qps / exactMedian).toFixed(1)),
          buildSeconds: Number(b.buildSeconds.toFixed(1)),
          buildThreads: b.threads,
          indexBytes: b.indexBytes,
          meetsTarget: r >= 0.95 && qps >= 20 * exactMedian,
        };
        results.push(row);
        console.log(`  ${lib} ef=${ef}: recall@10 ${r.toFixed(4)}, ${qps.toFixed(0)} q/s (median of ${row.qpsRounds}) = ${row.speedupVsExact}x exact${row.meetsTarget ? '  [meets target]' : ''}`);
      }
    }
    exactQps = exactMedian;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(
    JSON.stringify({
      bench: 'vectors',
      words: n,
      dimension: space.dimension,
      queries: queries.length,
      m: o.m,
      efConstruction: o.efConstruction,
      exactQps: Number(exactQps.toFixed(1)),
      results,
    }),
  );
}
