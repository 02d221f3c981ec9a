/**
 * Files that belong to a context (embeddings.npz, the vector index, settings), by name: the
 * embedded backend keeps them in the context's directory, PostgreSQL in a table. Owner: define.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- placeholder until its owner defines it
export interface ContextFiles {}
