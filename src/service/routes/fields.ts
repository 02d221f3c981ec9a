import { randomUUID } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { refuseWhenClosing } from '../uploads.js';
import { trackWork, type ServiceContext } from '../context.js';
import { analogySchema, contextQuery, errorResponses, nameString, recordSchema, workflowSchema } from '../schemas.js';

const clusterSchema = recordSchema({
    id: { type: 'string' },
    cluster_id: { type: 'string' },
    name: { type: 'string' },
    context: { type: 'string' },
    centroid: { type: 'array', items: { type: 'number' } },
    members: { type: 'object', additionalProperties: { type: 'number' } },
    coherence_score: { type: 'number' },
    distinctiveness: { type: 'number' },
});

const fieldSchema = recordSchema({
    id: { type: 'string' },
    name: { type: 'string' },
    context: { type: 'string' },
    core_concepts: { type: 'array', items: { type: 'string' } },
    related_concepts: { type: 'object', additionalProperties: { type: 'number' } },
    coherence: { type: 'number' },
    domain: { type: 'string' },
    cluster_id: { type: 'string' },
    hypernym: { type: 'string' },
});

const fieldRef = { type: 'string', minLength: 1, maxLength: 256, description: 'field name or id' } as const;

interface DiscoverBody {
  k: number;
  min_coherence?: number;
  seed?: number;
  context?: string;
}

interface CrossDomainBody {
  source?: string;
  target?: string;
  min_quality?: number;
  max?: number;
  context?: string;
}

/** Concept clusters and semantic fields (discover, list) and cross-domain analogies between fields. */
export function fieldRoutes(app: FastifyInstance, ctx: ServiceContext): void {
  const { store } = ctx;

  app.post<{ Body: DiscoverBody; Querystring: { context?: string } }>(
    '/api/fields/discover',
    {
      schema: {
        summary: "k-means over the context's concept vectors; stores the clusters and semantic fields (a cluster_update workflow)",
        tags: ['fields'],
        querystring: contextQuery,
        body: {
          type: 'object',
          required: ['k'],
          additionalProperties: false,
          properties: {
            k: { type: 'integer', minimum: 1, maximum: 100_000, description: 'number of clusters (at most the number of concepts)' },
            min_coherence: { type: 'number', minimum: -1, maximum: 1, default: 0, description: 'drop fields below this coherence' },
            seed: { type: 'integer', minimum: 0, maximum: 2 ** 31, description: 'k-means++ seed' },
            context: nameString,
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              workflow: workflowSchema,
              context: { type: 'string' },
              k: { type: 'integer' },
              concepts: { type: 'integer' },
              iterations: { type: 'integer' },
              converged: { type: 'boolean' },
              inertia: { type: 'number' },
              seconds: { type: 'number' },
              clusters: { type: 'array', items: clusterSchema },
              fields: { type: 'array', items: fieldSchema },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (request) => {
      refuseWhenClosing(ctx);
      const b = request.body;
      const work = store.fields.discover({ context: b.context ?? request.query.context ?? 'default', k: b.k, minCoherence: b.min_coherence, seed: b.seed });
      return trackWork(ctx, `fields:${randomUUID()}`, work);
    },
  );

  app.get<{ Querystring: { context?: string } }>(
    '/api/fields',
    {
      schema: {
        summary: 'The clusters and semantic fields of a context',
        tags: ['fields'],
        querystring: contextQuery,
        response: {
          200: { type: 'object', properties: { clusters: { type: 'array', items: clusterSchema }, fields: { type: 'array', items: fieldSchema } } },
          ...errorResponses,
        },
      },
    },
    async (request) => store.fields.list(request.query.context ?? 'default'),
  );

  app.get<{ Querystring: { context?: string } }>(
    '/api/fields/projection',
    {
      schema: {
        summary: 'The concept vectors of a context projected to 2-D (PCA), each with the semantic field it belongs to most strongly',
        tags: ['fields'],
        querystring: contextQuery,
        response: {
          200: {
            type: 'object',
            properties: {
              context: { type: 'string' },
              method: { type: 'string', enum: ['pca'] },
              dimension: { type: 'integer', description: 'of the vectors projected' },
              points: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: { id: { type: 'string' }, name: { type: 'string' }, x: { type: 'number' }, y: { type: 'number' }, field: { type: ['string', 'null'] } },
                },
              },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (request) => store.fields.project(request.query.context ?? 'default'),
  );

  app.post<{ Body: CrossDomainBody; Querystring: { context?: string } }>(
    '/api/fields/cross-domain',
    {
      schema: {
        summary: 'Analogies between semantic fields whose relation vectors align (the given pair, or every ordered pair), stored as analogies',
        tags: ['fields'],
        querystring: contextQuery,
        body: {
          type: 'object',
          additionalProperties: false,
          properties: {
            source: fieldRef,
            target: fieldRef,
            min_quality: { type: 'number', minimum: 0, maximum: 1, default: 0.4 },
            max: { type: 'integer', minimum: 1, maximum: 1000, description: 'at most N analogies per field pair' },
            context: nameString,
          },
        },
        response: {
          200: {
            type: 'object',
            properties: {
              context: { type: 'string' },
              pairs: { type: 'integer' },
              workflow: { anyOf: [workflowSchema, { type: 'null' }] },
              analogies: { type: 'array', items: analogySchema },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (request) => {
      refuseWhenClosing(ctx);
      const b = request.body ?? {};
      const work = store.fields.crossDomain({ context: b.context ?? request.query.context ?? 'default', source: b.source, target: b.target, minQuality: b.min_quality, maxAnalogies: b.max });
      return trackWork(ctx, `cross-domain:${randomUUID()}`, work);
    },
  );
}
