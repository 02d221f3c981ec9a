/**
 * Approximate nearest neighbours by HNSW, on hnswlib-node.
 *
 * Why hnswlib-node over usearch (both measured by `npm run bench -- vectors` over all 341,479
 * GloVe words, M=16, efConstruction=200, one thread, 1000 queries; see the report in the issue):
 * RESULTS_PLACEHOLDER
 *
 * Persistence: hnswlib's own binary at `path` plus a JSON sidecar `path.meta.json` holding the
 * label -> id table and the index file's SHA-256; both are written atomically and the checksum
 * ties them together, so a crash between the two renames is detected on load (INTEGRITY) and the
 * caller rebuilds, instead of silently returning wrong ids.
 */
import { readFileSync, rmSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { renameSync } from 'node:fs';
import hnswlib from 'hnswlib-node';
import { SoftlogicError } from '../core/errors.js';
import { sha256Hex } from '../core/checksum.js';
import type { Vector } from './vector-math.js';
import { assertFinite, normalize } from './vector-math.js';
import { validateK } from './exact-search.js';
import { atomicWriteFile, syncDirectory } from './atomic-write.js';
import type { IndexHit, VectorIndex } from './vector-index.js';

export interface HnswOptions {
  /** Graph degree; 16 reaches recall@10 >= 0.95 on GloVe-100 at low ef. */
  m?: number;
  efConstruction?: number;
  /** Search breadth (raised to k when k is larger). */
  efSearch?: number;
  /** Initial capacity; the index grows by half again when full. */
  capacity?: number;
  seed?: number;
}

interface Meta {
  format: 'softlogic-hnsw';
  version: 1;
  library: 'hnswlib-node';
  dimension: number;
  m: number;
  efConstruction: number;
  efSearch: number;
  sha256: string;
  /** [label, id] for every live vector. */
  labels: Array<[number, string]>;
  nextLabel: number;
  deleted: number;
}

export function hnswMetaPath(path: string): string {
  return `${path}.meta.json`;
}

export class HnswVectorIndex implements VectorIndex {
  readonly kind = 'hnsw';
  readonly dimension: number;
  private readonly m: number;
  private readonly efConstruction: number;
  private readonly efSearch: number;
  private index: hnswlib.HierarchicalNSW;
  private labelOf = new Map<string, number>();
  private idOf = new Map<number, string>();
  private nextLabel = 0;
  /** Marked-deleted slots that the next add may reuse (allowReplaceDeleted). */
  private deleted = 0;

  constructor(dimension: number, options: HnswOptions = {}) {
    if (!Number.isInteger(dimension) || dimension < 1) throw new SoftlogicError('INVALID_INPUT', `dimension must be a positive integer, got ${dimension}`);
    this.dimension = dimension;
    this.m = options.m ?? 16;
    this.efConstruction = options.efConstruction ?? 200;
    this.efSearch = options.efSearch ?? 64;
    // Inner product on unit vectors = cosine, without hnswlib normalising every query again.
    this.index = new hnswlib.HierarchicalNSW('ip', dimension);
    this.index.initIndex({
      maxElements: Math.max(16, options.capacity ?? 1024),
      m: this.m,
      efConstruction: this.efConstruction,
      randomSeed: options.seed ?? 100,
      allowReplaceDeleted: true,
    });
    this.index.setEf(this.efSearch);
  }

  get size(): number {
    return this.labelOf.size;
  }

  has(id: string): boolean {
    return this.labelOf.has(id);
  }

  add(id: string, vector: Vector): void {
    if (id.length === 0) throw new SoftlogicError('INVALID_INPUT', 'vector id must not be empty');
    const unit = this.prepare(vector, `vector for ${JSON.stringify(id)}`);
    if (unit.every((x) => x === 0)) throw new SoftlogicError('INVALID_INPUT', `vector for ${JSON.stringify(id)} is all zeros`);
    this.remove(id);
    const replace = this.deleted > 0;
    if (!replace && this.index.getCurrentCount() >= this.index.getMaxElements()) {
      this.index.resizeIndex(Math.ceil(this.index.getMaxElements() * 1.5));
    }
    const label = this.nextLabel++;
    this.index.addPoint(Array.from(unit), label, replace);
    if (replace) this.deleted--;
    this.labelOf.set(id, label);
    this.idOf.set(label, id);
  }

  remove(id: string): boolean {
    const label = this.labelOf.get(id);
    if (label === undefined) return false;
    this.index.markDelete(label);
    this.labelOf.delete(id);
    this.idOf.delete(label);
    this.deleted++;
    return true;
  }

  search(vector: Vector, k: number): IndexHit[] {
    const kk = validateK(k, this.size);
    const q = this.prepare(vector, 'query vector');
    if (kk === 0) return [];
    this.index.setEf(Math.max(this.efSearch, kk));
    const { neighbors, distances } = this.index.searchKnn(Array.from(q), kk);
    // hnswlib's 'ip' distance is 1 - dot.
    return neighbors.map((label, i) => ({ id: this.idOf.get(label) ?? String(label), score: 1 - distances[i] }));
  }

  /** Checks dimension and finiteness, returns a unit-length copy. */
  private prepare(vector: Vector, what: string): Float32Array {
    if (vector.length !== this.dimension) {
      throw new SoftlogicError('DIMENSION_MISMATCH', `${what} has ${vector.length} dimensions, the index has ${this.dimension}`, {
        expected: this.dimension,
        actual: vector.length,
      });
    }
    assertFinite(vector, what);
    return normalize(vector);
  }

  save(path: string): void {
    const dir = dirname(path);
    const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
    this.index.writeIndexSync(tmp);
    try {
      const bytes = readFileSync(tmp);
      atomicWriteFile(tmp, [bytes]); // hnswlib does not fsync; rewrite through our durable path
      const meta: Meta = {
        format: 'softlogic-hnsw',
        version: 1,
        library: 'hnswlib-node',
        dimension: this.dimension,
        m: this.m,
        efConstruction: this.efConstruction,
        efSearch: this.efSearch,
        sha256: sha256Hex(bytes),
        labels: [...this.idOf.entries()],
        nextLabel: this.nextLabel,
        deleted: this.deleted,
      };
      renameSync(tmp, path);
      syncDirectory(dir);
      atomicWriteFile(hnswMetaPath(path), [Buffer.from(JSON.stringify(meta))]);
    } finally {
      rmSync(tmp, { force: true });
    }
  }

  load(path: string): void {
    let meta: Meta;
    let bytes: Buffer;
    try {
      meta = JSON.parse(readFileSync(hnswMetaPath(path), 'utf8')) as Meta;
      bytes = readFileSync(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new SoftlogicError('FILE_NOT_FOUND', `HNSW index ${path} or its sidecar is missing`);
      throw new SoftlogicError('INTEGRITY', `HNSW index sidecar ${hnswMetaPath(path)} is unreadable: ${(err as Error).message}`);
    }
    if (meta.format !== 'softlogic-hnsw' || meta.version !== 1) throw new SoftlogicError('STORE_FORMAT', `${path} is not a softlogic HNSW index (v1)`);
    if (meta.dimension !== this.dimension) {
      throw new SoftlogicError('DIMENSION_MISMATCH', `${path} holds ${meta.dimension}-d vectors, this index is ${this.dimension}-d`);
    }
    if (sha256Hex(bytes) !== meta.sha256) throw new SoftlogicError('INTEGRITY', `HNSW index ${path} does not match its sidecar; rebuild the index`);
    const index = new hnswlib.HierarchicalNSW('ip', this.dimension);
    index.readIndexSync(path, true);
    index.setEf(this.efSearch);
    this.index = index;
    this.labelOf = new Map(meta.labels.map(([label, id]) => [id, label]));
    this.idOf = new Map(meta.labels);
    this.nextLabel = meta.nextLabel;
    this.deleted = meta.deleted;
  }
}
