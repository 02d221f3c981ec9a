/**
 * Files that belong to a context, by name: the store's NPZ copy of its vectors and its similarity
 * index (with the index's state). The embedded backend keeps them in the context's directory,
 * PostgreSQL in a table. Whole files only, each replaced atomically.
 *
 * Some libraries (hnswlib) read and write only by path: `readLocal` / `update(...).writeLocal`
 * hand them a local path (the file itself, or a temporary copy the backend then keeps).
 */

/** A file's name; a library may add sidecars (`<name>.<suffix>`), which travel with it. */
/** `embeddings.legacy.json`: where an original system's vectors came from, kept by the legacy import. */
export type ContextFileName = 'embeddings.npz' | 'embeddings.legacy.json' | 'vectors.index' | 'vectors.index.state.json';

/**
 * The sidecars a library writes beside a file (`<name><suffix>`): they travel with it, on every
 * backend. The HNSW index's label map and checksum (hnsw-index.ts hnswMetaPath).
 */
export const CONTEXT_FILE_SIDECARS: Record<ContextFileName, readonly string[]> = {
  'embeddings.npz': [],
  'embeddings.legacy.json': [],
  'vectors.index': ['.meta.json'],
  'vectors.index.state.json': [],
};

/** The files of one context while `ContextFiles.update` holds the backend's write lock. */
export interface LockedContextFiles {
  read(name: ContextFileName): Buffer | undefined;
  write(name: ContextFileName, data: string | Uint8Array): void;
  /** `fn` writes the file (and its sidecars) at the local path given; they replace the old ones. */
  writeLocal(name: ContextFileName, fn: (path: string) => void): void;
  /** Removes the file and its sidecars (nothing when missing). */
  remove(name: ContextFileName): void;
}

export interface ContextFiles {
  /** The whole file, or undefined when missing. */
  read(context: string, name: ContextFileName): Promise<Buffer | undefined>;
  /** Whether the file is there (without reading it). */
  exists(context: string, name: ContextFileName): Promise<boolean>;
  /** Replaces the whole file atomically. */
  write(context: string, name: ContextFileName, data: string | Uint8Array): Promise<void>;
  /** `fn` reads the file (and its sidecars) from a local path; undefined (fn not called) when missing. */
  readLocal<T>(context: string, name: ContextFileName, fn: (path: string) => T): Promise<T | undefined>;
  /**
   * Runs `fn` under the backend's write lock (two processes never interleave), with the files
   * named in `names` readable synchronously (a backend that cannot read synchronously loads them first).
   */
  update<T>(context: string, names: readonly ContextFileName[], fn: (files: LockedContextFiles) => T): Promise<T>;
  /** Where the file is, for messages and results (a path, or a description for a server store). */
  location(context: string, name: ContextFileName): string;
}
