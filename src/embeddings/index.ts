/** Public surface of the embeddings / reasoning library (pure: no store, no I/O beyond files named by callers). */
export * from './provider.js';
export * from './providers.js';
export * from './hash-provider.js';
export * from './glove-cache.js';
export * from './glove-provider.js';
export * from './vector-math.js';
export * from './vector-space.js';
export * from './exact-search.js';
export * from './vector-index.js';
export * from './exact-index.js';
export * from './hnsw-index.js';
export * from './npy.js';
export * from './npz.js';
export * from './analogy-completion.js';
export * from './analogy-eval.js';
export * from './blocked-product.js';
export * from './atomic-write.js';
