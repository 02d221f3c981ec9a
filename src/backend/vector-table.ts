import type { ContextTable } from './contexts.js';
import type { ContextFiles } from './context-files.js';
import type { WriteBatch } from './write-batch.js';

/**
 * Concept vectors per context: one vector per active concept that has one, the source of every
 * similarity index. The concept records stay the truth (they carry their vectors); this table is
 * what searches and index builds read, as matrices, without decoding records.
 *
 * A replica (an in-memory index in some process) follows the table by its `generation`: a number
 * that grows with every change to the context's vectors, by any process. It asks
 * `changesSince(generation)` and applies the changes (add / replace / remove), or, when the
 * backend cannot say (too many, or a generation from before a restore or rebuild), reads it all.
 */

/** Which provider made a context's vectors, and their dimension (fixed once recorded). */
export interface VectorSettings {
  provider: 'glove' | 'hash' | 'imported';
  dimension: number;
}

export interface ConceptVector {
  id: string;
  name: string;
  synset_id: string | null;
  /** true when the provider knew no word of the name and made a deterministic stand-in */
  fallback: boolean;
  vector: Float32Array;
}

/** Some of a context's vectors as a row-major matrix: row i (`dimension` floats) belongs to ids[i]. */
export interface VectorPage {
  dimension: number;
  ids: string[];
  names: string[];
  synsetIds: Array<string | null>;
  fallback: boolean[];
  matrix: Float32Array;
}

export interface VectorChange {
  id: string;
  /** null: the concept has no vector any more (deleted, or written without one) */
  vector: Float32Array | null;
}

export interface VectorChanges {
  /** the generation these changes bring a replica to */
  generation: number;
  changes: VectorChange[];
}

export interface VectorReadOptions {
  /** rows per page (default 4096) */
  pageSize?: number;
  /** vectors of another dimension (left by an older version) are skipped; default: the first vector's */
  dimension?: number;
}

export interface VectorTable {
  /** The context's own settings (not its parents'), or undefined. */
  settings(context: string): Promise<VectorSettings | undefined>;
  /**
   * Records the context's settings unless it already has some (another process may have been
   * first); returns the settings in force in the context afterwards. Audited.
   */
  recordSettings(context: string, settings: VectorSettings): Promise<VectorSettings>;
  /** Grows with every change to the context's vectors (0 for a context that never had one). */
  generation(context: string): Promise<number>;
  /**
   * The store generation this process last saw: it moves when rows were replaced wholesale (a
   * restore over the store, a compaction, a rebuild), and vector generations of before then mean
   * nothing after, so a copy of the vectors kept in memory belongs to one store generation.
   */
  storeGeneration(): number;
  /** Vectors of the context itself (not its parents). */
  count(context: string): Promise<number>;
  /** Every vector of the context itself, in id order, a page at a time. */
  read(context: string, options?: VectorReadOptions): AsyncIterable<VectorPage>;
  get(context: string, id: string): Promise<ConceptVector | undefined>;
  /**
   * What changed after `generation` up to now (each id once, its latest state), or undefined when
   * the backend cannot tell (more than `limit` changes, or a generation it does not know): the
   * caller then reads the whole context.
   */
  changesSince(context: string, generation: number, limit: number): Promise<VectorChanges | undefined>;
  /**
   * Inside `Backend.write`: the vector a concept this batch writes now has (committed with it).
   * Every concept change of a batch that calls put or delete reports its vector through one of them.
   */
  put(batch: WriteBatch, vector: ConceptVector): void;
  /** Inside `Backend.write`: the concept (deleted, or written without a vector) has no vector now. */
  delete(batch: WriteBatch, id: string): void;
}

/** The parts of a backend the vector operations use (a `Backend` is one). */
export interface VectorBackend {
  readonly contexts: ContextTable;
  readonly vectors: VectorTable;
  readonly files: ContextFiles;
}
