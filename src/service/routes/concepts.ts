import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import type { Scope } from '../../methods/embeddings/reasoning.js';
import type { ConceptInput } from '../../methods/concepts/concept-record.js';
import { trackWork, type ServiceContext } from '../context.js';
import { conceptList, conceptSchema, contextQuery, errorResponses, idParams, kProperty, looseObject, nameString, termString, workflowSchema } from '../schemas.js';
import { receiveUpload, refuseWhenClosing, scrubPath, scrubResult, UPLOAD_CONTENT_TYPES, withUploadScope } from '../uploads.js';

const providerProperty = { type: 'string', enum: ['glove', 'hash'], description: "embedding provider of the context, recorded on first use (default glove)" } as const;
const limitProperty = { type: 'integer', minimum: 1, maximum: 1_000_000 } as const;

type ConceptBody = ConceptInput & { provider?: string; context?: string };

type IdRoute = { Params: { id: string }; Querystring: { context?: string } };

const conceptIdParams = { ...idParams, properties: { id: { ...nameString, description: 'concept id (context:name[:synset])' } } } as const;

/** Concepts: add, batch import, get, search / list, delete, restore, nearest neighbours. */
export async function conceptRoutes(app: FastifyInstance, ctx: ServiceContext): Promise<void> {
  const { store } = ctx;

  app.post<{ Body: ConceptBody; Querystring: { context?: string } }>(
    '/api/concepts',
    {
      schema: {
        summary: 'Add one concept with its vector (id context:name[:synset]); a name already there gets its next version',
        tags: ['concepts'],
        querystring: contextQuery,
        body: {
          type: 'object',
          required: ['name'],
          additionalProperties: false,
          properties: {
            name: { type: 'string', minLength: 1, maxLength: 200 },
            synset: { type: ['string', 'null'], maxLength: 256, description: "WordNet synset id (bank.n.01), or 'auto' for the sense that fits the context (the response's `sense` says why)" },
            description: { type: ['string', 'null'], maxLength: 16_384 },
            metadata: looseObject,
            provider: providerProperty,
            context: { ...nameString, description: 'context (default: the querystring\'s, else default)' },
          },
        },
        response: { 201: conceptSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { provider, context, ...input } = request.body;
      const record = await store.concepts.add(input, { context: context ?? request.query.context, provider });
      return reply.code(201).send(record);
    },
  );

  app.get<{ Querystring: { search?: string; context?: string; limit?: number; include_deleted?: boolean } }>(
    '/api/concepts',
    {
      schema: {
        summary: 'Concepts whose name, description, gloss or context contains `search` (the context and its parents); without `search`, the concepts of the context',
        tags: ['concepts'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            search: { type: 'string', minLength: 1, maxLength: 256 },
            context: nameString,
            limit: limitProperty,
            include_deleted: { type: 'boolean' },
          },
        },
        response: { 200: conceptList, ...errorResponses },
      },
    },
    async (request) => {
      const { search, context = 'default', limit, include_deleted } = request.query;
      const concepts =
        search === undefined
          ? await store.concepts.list(context, { includeDeleted: include_deleted === true, limit })
          : await store.concepts.search(search, { context, limit, includeDeleted: include_deleted === true });
      return { count: concepts.length, concepts };
    },
  );

  app.get<IdRoute>(
    '/api/concepts/:id',
    {
      schema: {
        summary: 'Get one concept (context: where to look, default the one the id names, falling back to its parents)',
        tags: ['concepts'],
        params: conceptIdParams,
        querystring: contextQuery,
        response: { 200: conceptSchema, ...errorResponses },
      },
    },
    async (request) => store.concepts.get(request.params.id, request.query.context),
  );

  app.delete<IdRoute>(
    '/api/concepts/:id',
    {
      schema: { summary: 'Soft-delete one concept', tags: ['concepts'], params: conceptIdParams, querystring: contextQuery, response: { 200: conceptSchema, ...errorResponses } },
    },
    async (request) => store.concepts.delete(request.params.id, request.query.context),
  );

  app.post<IdRoute>(
    '/api/concepts/:id/restore',
    {
      schema: { summary: 'Restore a deleted concept', tags: ['concepts'], params: conceptIdParams, querystring: contextQuery, response: { 200: conceptSchema, ...errorResponses } },
    },
    async (request) => store.concepts.restore(request.params.id, request.query.context),
  );

  app.get<{ Params: { name: string }; Querystring: { context?: string; k?: number; scope?: Scope } }>(
    '/api/concepts/:name/similar',
    {
      schema: {
        summary: 'Nearest concepts of the registry (or words of the GloVe vocabulary) to a concept name, id or word, by cosine',
        tags: ['concepts'],
        params: { type: 'object', required: ['name'], additionalProperties: false, properties: { name: { ...termString, description: 'concept name or id, or a word' } } },
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { context: nameString, k: { ...kProperty, default: 10 }, scope: { type: 'string', enum: ['registry', 'vocabulary'], default: 'registry' } },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              query: { type: 'string' },
              context: { type: 'string' },
              scope: { type: 'string' },
              k: { type: 'integer' },
              method: { type: 'string' },
              results: { type: 'array', items: { type: 'object', properties: { id: { type: 'string' }, name: { type: 'string' }, score: { type: 'number' } } } },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (request) => store.concepts.similar(request.params.name, { context: request.query.context ?? 'default', k: request.query.k, scope: request.query.scope }),
  );

  await withUploadScope(app, UPLOAD_CONTENT_TYPES, (scope) => {
    scope.post<{ Querystring: { context?: string; provider?: string; batch_size?: number; workflow_id?: string } }>(
      '/api/concepts/batch',
      {
        schema: {
          summary: 'Import concepts ({name, synset?, description?, metadata?} per line) as one concept_batch workflow; one invalid line refuses the body',
          tags: ['concepts'],
          consumes: UPLOAD_CONTENT_TYPES,
          querystring: {
            type: 'object',
            additionalProperties: false,
            properties: {
              context: nameString,
              provider: providerProperty,
              batch_size: { type: 'integer', minimum: 1, maximum: 1_000_000, description: 'items per commit' },
              workflow_id: { ...nameString, maxLength: 128 },
            },
          },
          body: {
            description: 'concepts as JSON lines (application/x-ndjson) or one JSON array (application/json), optionally gzip\'d',
            type: 'array',
            items: {
              type: 'object',
              required: ['name'],
              properties: { name: { type: 'string' }, synset: { type: ['string', 'null'] }, description: { type: ['string', 'null'] }, metadata: looseObject },
            },
          },
          response: { 201: { type: 'object', properties: { workflow: workflowSchema, imported: { type: 'integer' } } }, ...errorResponses },
        },
      },
      async (request, reply) => {
        refuseWhenClosing(ctx);
        const path = await receiveUpload(ctx, request, reply, { expected: 'concepts as JSON lines (application/x-ndjson) or a JSON array' });
        try {
          const q = request.query;
          const work = store.concepts.import(path, { context: q.context, provider: q.provider, batchSize: q.batch_size ?? ctx.batchSize, workflowId: q.workflow_id });
          const result = await trackWork(ctx, `concepts:${randomUUID()}`, scrubPath(work, path));
          return reply.code(201).send(scrubResult(result, path));
        } finally {
          rmSync(path, { force: true });
        }
      },
    );
  });
}
