import { randomUUID } from 'node:crypto';
import { createReadStream, rmSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Scope, SimilarityMethod } from '../../methods/embeddings/reasoning.js';
import { trackWork, type ServiceContext } from '../context.js';
import { contextQuery, errorResponses, kProperty, nameString, termString, workflowSchema } from '../schemas.js';
import { receiveUpload, refuseWhenClosing, requireMediaType, scrubPath, scrubResult, tempPath, withUploadScope } from '../uploads.js';

const termSide = {
  type: 'object',
  properties: { term: { type: 'string' }, concept: { type: ['string', 'null'] }, synset_id: { type: ['string', 'null'] } },
} as const;

const analogyMethod = { type: 'string', enum: ['cosadd', 'cosmul'], default: 'cosadd' } as const;
const evalMethod = { type: 'string', enum: ['cosadd', 'cosmul', 'cosavg'], default: 'cosadd', description: 'cosavg: 3CosAvg, the mean offset of the section\'s other pairs' } as const;
const postprocessProperty = {
  type: 'string',
  enum: ['none', 'abtt'],
  default: 'none',
  description: 'abtt: all-but-the-top (Mu & Viswanath 2018), the mean and top principal components of the searched vectors removed',
} as const;
const scopeProperty = {
  type: 'string',
  enum: ['registry', 'vocabulary'],
  description: "registry: the context's concepts; vocabulary: GloVe words. Not given: the registry, or the vocabulary when the registry has no concepts (fallback_reason says so)",
} as const;

const completeProperties = {
  a: termString,
  b: termString,
  c: termString,
  k: { ...kProperty, default: 10 },
  method: analogyMethod,
  scope: scopeProperty,
  postprocess: postprocessProperty,
  context: nameString,
} as const;

const completeInput = { type: 'object', required: ['a', 'b', 'c'], additionalProperties: false, properties: completeProperties } as const;

interface CompleteInput {
  a: string;
  b: string;
  c: string;
  k?: number;
  method?: string;
  scope?: Scope;
  postprocess?: string;
  context?: string;
}

const completeResponse = {
  type: 'object',
  properties: {
    question: { type: 'object', properties: { a: { type: 'string' }, b: { type: 'string' }, c: { type: 'string' } } },
    context: { type: 'string' },
    scope: { type: 'string' },
    method: { type: 'string' },
    postprocess: { type: 'string' },
    results: {
      type: 'array',
      items: {
        type: 'object',
        properties: { id: { type: 'string' }, name: { type: 'string' }, score: { type: 'number' }, cos_a: { type: 'number' }, cos_b: { type: 'number' }, cos_c: { type: 'number' } },
      },
    },
    trace: { type: 'array', items: { type: 'string' } },
    fallback_reason: { type: ['string', 'null'], description: 'why the vocabulary answered although no scope was asked for' },
  },
} as const;

const tally = { type: 'object', additionalProperties: true, properties: { seen: { type: 'integer' }, correct: { type: 'integer' }, accuracy: { type: 'number' } } } as const;

/** NPZ bodies: a zip archive, so any of these. */
export const NPZ_CONTENT_TYPES = ['application/octet-stream', 'application/zip', 'application/x-npz'];
const QUESTION_CONTENT_TYPES = ['text/plain', 'application/octet-stream'];

/** Similarity, analogy completion and evaluation, concept vectors in and out as NPZ, provider info. */
export async function embeddingRoutes(app: FastifyInstance, ctx: ServiceContext): Promise<void> {
  const { store } = ctx;

  app.get<{ Querystring: { a: string; b: string; method?: SimilarityMethod; context?: string } }>(
    '/api/similarity',
    {
      schema: {
        summary: 'Similarity of two concepts (names or ids) or words: cosine, euclidean / manhattan distance, or hybrid (cosine + WordNet path similarity)',
        tags: ['embeddings'],
        querystring: {
          type: 'object',
          required: ['a', 'b'],
          additionalProperties: false,
          properties: { a: termString, b: termString, method: { type: 'string', enum: ['cosine', 'euclidean', 'manhattan', 'hybrid'], default: 'cosine' }, context: nameString },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              a: termSide,
              b: termSide,
              method: { type: 'string' },
              score: { type: 'number' },
              kind: { type: 'string', enum: ['similarity', 'distance'] },
              cosine: { type: 'number' },
              path_similarity: { type: ['number', 'null'] },
              note: { type: ['string', 'null'] },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const q = request.query;
      return await store.embeddings.similarity(q.a, q.b, { context: q.context ?? 'default', method: q.method });
    },
  );

  const complete = (q: CompleteInput) => store.embeddings.complete(q.a, q.b, q.c, { context: q.context ?? 'default', k: q.k, method: q.method, scope: q.scope, postprocess: q.postprocess });

  app.get<{ Querystring: CompleteInput }>(
    '/api/analogy/complete',
    {
      schema: {
        summary: 'a : b :: c : ? (a is to b as c is to ?: the answer is to c what b is to a) over the concepts of the registry (terms are concept names or ids) or the GloVe vocabulary',
        tags: ['embeddings'],
        querystring: completeInput,
        response: { 200: completeResponse, ...errorResponses },
      },
    },
    async (request) => complete(request.query),
  );

  app.post<{ Body: CompleteInput; Querystring: { context?: string } }>(
    '/api/analogy/complete',
    {
      schema: {
        summary: 'a : b :: c : ? (as GET, with the question as a JSON body)',
        tags: ['embeddings'],
        querystring: contextQuery,
        body: completeInput,
        response: { 200: completeResponse, ...errorResponses },
      },
    },
    async (request) => complete({ ...request.body, context: request.body.context ?? request.query.context }),
  );

  app.get<{ Querystring: { context?: string } }>(
    '/api/embeddings/info',
    {
      schema: {
        summary: 'Embedding provider, dimension and vector index of a context',
        tags: ['embeddings'],
        querystring: contextQuery,
        response: {
          200: {
            type: 'object',
            properties: {
              context: { type: 'string' },
              settings: {
                type: ['object', 'null'],
                properties: { provider: { type: 'string' }, dimension: { type: 'integer' }, from: { type: 'string' } },
              },
              index: {
                type: ['object', 'null'],
                properties: { kind: { type: 'string' }, dimension: { type: 'integer' }, size: { type: 'integer' }, last_key: { type: 'integer' } },
              },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const context = request.query.context ?? 'default';
      store.backend.requireContext(context);
      return { context, settings: await store.embeddings.settings(context), index: await store.embeddings.index(context) };
    },
  );

  app.get<{ Querystring: { context?: string } }>(
    '/api/embeddings/export',
    {
      schema: {
        summary: "The concept vectors of a context as a NumPy .npz (arrays ids and vectors), streamed back; also refreshes the store's own copy",
        tags: ['embeddings'],
        querystring: contextQuery,
        produces: ['application/octet-stream'],
        response: {
          200: { description: 'the .npz; headers x-softlogic-count and x-softlogic-dimension describe it', type: 'string', format: 'binary' },
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const context = request.query.context ?? 'default';
      const out = tempPath(store, 'export', 'npz');
      let result;
      try {
        result = await store.embeddings.export(out, context);
      } catch (err) {
        rmSync(out, { force: true });
        throw err;
      }
      const file = createReadStream(out);
      file.on('close', () => rmSync(out, { force: true }));
      return reply
        .header('content-type', 'application/octet-stream')
        .header('content-length', String(statSync(out).size))
        .header('content-disposition', `attachment; filename="softlogic-embeddings-${context}.npz"`)
        .header('x-softlogic-count', String(result.count))
        .header('x-softlogic-dimension', String(result.dimension))
        .send(file);
    },
  );

  await withUploadScope(app, [...new Set([...NPZ_CONTENT_TYPES, ...QUESTION_CONTENT_TYPES])], (scope) => {
    scope.post<{ Querystring: { context?: string; batch_size?: number } }>(
      '/api/embeddings/import',
      {
        schema: {
          summary: 'Import vectors per concept id (or name) from a NumPy .npz (ids + vectors) as a concept_batch workflow; missing concepts are created',
          tags: ['embeddings'],
          consumes: NPZ_CONTENT_TYPES,
          querystring: {
            type: 'object',
            additionalProperties: false,
            properties: { context: nameString, batch_size: { type: 'integer', minimum: 1, maximum: 1_000_000, description: 'items per commit' } },
          },
          body: { description: 'a .npz with a 1-D unicode array ids and a 2-D float32/float64 array vectors', type: 'string', format: 'binary' },
          response: {
            201: {
              type: 'object',
              properties: {
                context: { type: 'string' },
                workflow: workflowSchema,
                count: { type: 'integer' },
                dimension: { type: 'integer' },
                created: { type: 'integer' },
                updated: { type: 'integer' },
              },
            },
            ...errorResponses,
          },
        },
      },
      async (request, reply) => {
        refuseWhenClosing(ctx);
        requireMediaType(request, NPZ_CONTENT_TYPES);
        const path = await receiveUpload(ctx, request, reply, { ext: 'npz', expected: 'a .npz (application/octet-stream)' });
        try {
          const work = store.embeddings.import(path, request.query.context ?? 'default', request.query.batch_size ?? ctx.batchSize);
          const result = await trackWork(ctx, `embeddings:${basename(path)}`, scrubPath(work, path));
          return reply.code(201).send(scrubResult(result, path));
        } finally {
          rmSync(path, { force: true });
        }
      },
    );

    scope.post<{ Querystring: { top?: number; method?: string; postprocess?: string } }>(
      '/api/analogy/eval',
      {
        schema: {
          summary: 'Accuracy on a questions-words file (": section" lines, then "a b c d" lines) over the GloVe vocabulary restricted to its `top` most frequent words',
          tags: ['embeddings'],
          consumes: QUESTION_CONTENT_TYPES,
          querystring: {
            type: 'object',
            additionalProperties: false,
            properties: { top: { type: 'integer', minimum: 1, maximum: 1_000_000, default: 30_000 }, method: evalMethod, postprocess: postprocessProperty },
          },
          body: { description: 'the questions file (text/plain)', type: 'string' },
          response: {
            200: {
              type: 'object',
              properties: {
                method: { type: 'string' },
                postprocess: { type: 'string' },
                top: { type: 'integer' },
                sections: { type: 'array', items: { type: 'object', additionalProperties: true } },
                semantic: tally,
                syntactic: tally,
                total: { ...tally, properties: { ...tally.properties, skipped: { type: 'integer' }, questions: { type: 'integer' } } },
              },
            },
            ...errorResponses,
          },
        },
      },
      async (request, reply) => {
        refuseWhenClosing(ctx);
        requireMediaType(request, QUESTION_CONTENT_TYPES);
        const path = await receiveUpload(ctx, request, reply, { ext: 'txt', expected: 'a questions-words file (text/plain)' });
        try {
          const work = Promise.resolve().then(() => store.embeddings.evaluate(path, { top: request.query.top, method: request.query.method, postprocess: request.query.postprocess }));
          return await trackWork(ctx, `eval:${randomUUID()}`, scrubPath(work, path));
        } finally {
          rmSync(path, { force: true });
        }
      },
    );
  });
}
