/** Concept vectors per context. Owner: define from src/methods/embeddings as it moves. */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- placeholder until its owner defines it
export interface VectorTable {}
