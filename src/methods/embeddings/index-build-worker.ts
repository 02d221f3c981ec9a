/**
 * Worker thread of a background index build: builds an HNSW index from the vectors handed over
 * and saves it at the path given; the thread that asked loads it from there (index-background.ts).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { HnswVectorIndex } from '../../embeddings/hnsw-index.js';

interface BuildJob {
  ids: string[];
  matrix: Float32Array;
  dimension: number;
  path: string;
}

const job = workerData as BuildJob;
try {
  const index = new HnswVectorIndex(job.dimension, { capacity: Math.max(16, job.ids.length) });
  index.addAll(job.ids, job.matrix);
  index.save(job.path);
  parentPort?.postMessage({ ok: true, size: index.size });
} catch (err) {
  parentPort?.postMessage({ ok: false, error: (err as Error).message });
}
