/** Concept vectors per context. Owner: define from src/methods/embeddings as it moves. */
export interface VectorTable {}
