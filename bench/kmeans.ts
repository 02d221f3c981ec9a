/**
 * k-means benchmark: `node dist/bench/run.js kmeans [N] [DIM] [K]` (defaults 10000 100 10).
 * Data: K well-separated noisy groups of unit vectors plus, as a worst case for convergence,
 * uniformly random unit vectors. Reports wall time per run and the purity against the groups.
 */
import { kmeans, type KMeansMetric } from '../src/reasoning/kmeans.js';
import { createRng } from '../src/reasoning/random.js';

function gaussian(rng: () => number): number {
  // Box-Muller; 1 - u keeps the log argument in (0, 1].
  return Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
}

function dataset(n: number, dim: number, groups: number, noise: number, seed: number): { data: Float32Array; labels: Int32Array } {
  const rng = createRng(seed);
  const centres = Array.from({ length: groups }, () => Float32Array.from({ length: dim }, () => gaussian(rng)));
  const data = new Float32Array(n * dim);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const g = groups > 0 ? i % groups : 0;
    labels[i] = g;
    let s = 0;
    for (let j = 0; j < dim; j++) {
      const v = (groups > 0 ? centres[g][j] : 0) + noise * gaussian(rng);
      data[i * dim + j] = v;
      s += v * v;
    }
    const inv = 1 / Math.sqrt(s);
    for (let j = 0; j < dim; j++) data[i * dim + j] *= inv;
  }
  return { data, labels };
}

function purity(assignments: Int32Array, labels: Int32Array, k: number): number {
  const counts = new Map<string, number>();
  for (let i = 0; i < labels.length; i++) {
    const key = `${assignments[i]}:${labels[i]}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  let total = 0;
  for (let c = 0; c < k; c++) {
    let best = 0;
    for (const [key, v] of counts) if (key.startsWith(`${c}:`) && v > best) best = v;
    total += best;
  }
  return total / labels.length;
}

export default async function bench(args: string[]): Promise<void> {
  const n = Number(args[0] ?? 10000);
  const dim = Number(args[1] ?? 100);
  const k = Number(args[2] ?? 10);
  const cases: { name: string; groups: number; noise: number; metric: KMeansMetric }[] = [
    { name: 'grouped, cosine', groups: k, noise: 0.6, metric: 'cosine' },
    { name: 'grouped, euclidean', groups: k, noise: 0.6, metric: 'euclidean' },
    { name: 'random (no structure), cosine', groups: 0, noise: 1, metric: 'cosine' },
  ];
  const rows: Record<string, unknown>[] = [];
  for (const c of cases) {
    const { data, labels } = dataset(n, dim, c.groups, c.noise, 7);
    const t0 = performance.now();
    const r = kmeans({ data, n, dim }, { k, metric: c.metric });
    const ms = performance.now() - t0;
    rows.push({
      case: c.name,
      n,
      dim,
      k,
      ms: Math.round(ms),
      iterations: r.iterations,
      converged: r.converged,
      restarts: 1,
      purity: c.groups > 0 ? Number(purity(r.assignments, labels, k).toFixed(4)) : null,
      mean_coherence: Number((r.coherence.reduce((a, b) => a + b, 0) / k).toFixed(4)),
    });
  }
  console.log(JSON.stringify({ benchmark: 'kmeans', results: rows }, null, 2));
}
