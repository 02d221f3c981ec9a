import type { ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { AnalogyInput } from '../../api/index.js';
import { trackStream, type ServiceContext } from '../context.js';
import {
  analogyInputSchema,
  analogySchema,
  contextQuery,
  errorResponses,
  filterProperties,
  filterQuery,
  idParams,
  pageQuery,
  workflowSchema,
  type FilterQuery,
  type PageQuery,
} from '../schemas.js';

/** Results of GET /api/analogies without `limit`. */
export const DEFAULT_QUERY_LIMIT = 1000;

/**
 * The answer of GET /api/analogies. The route assembles it from the records' JSON text rather
 * than serialising it with this schema, which documents it (and, in the tests, is what the answer
 * must equal once serialised).
 */
export const analogyPageSchema = {
  type: 'object',
  properties: {
    count: { type: 'integer', description: 'analogies in this page' },
    offset: { type: 'integer' },
    total: { type: 'integer', description: 'every match (with total=true)' },
    analogies: { type: 'array', items: analogySchema },
  },
} as const;

/** Resolves on 'drain' or 'close', whichever comes first, leaving no listener behind. */
function drainOrClose(raw: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      raw.off('drain', done);
      raw.off('close', done);
      resolve();
    };
    raw.on('drain', done);
    raw.on('close', done);
  });
}

type IdRoute = { Params: { id: string }; Querystring: { context?: string } };

export function analogyRoutes(app: FastifyInstance, ctx: ServiceContext): void {
  const { store } = ctx;

  app.post<{ Body: AnalogyInput; Querystring: { context?: string } }>(
    '/api/analogies',
    {
      schema: {
        summary: 'Create (or update) one analogy',
        tags: ['analogies'],
        querystring: contextQuery,
        body: analogyInputSchema,
        response: { 201: analogySchema, ...errorResponses },
      },
    },
    async (request, reply) => reply.code(201).send(await store.analogies.save(request.body, request.query.context)),
  );

  app.get<{ Querystring: PageQuery }>(
    '/api/analogies',
    {
      schema: {
        summary: `Query analogies, best quality first: one page of at most \`limit\` (default ${DEFAULT_QUERY_LIMIT}) from \`offset\`; total=true also counts every match (use /api/analogies/stream for all)`,
        tags: ['analogies'],
        querystring: pageQuery,
        response: { 200: analogyPageSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { total, ...filter } = request.query;
      // The records' own JSON text, joined: what the response schema would serialise from them
      // parsed (the same fields and values), without parsing and serialising each record again.
      const analogies = await store.analogies.queryJson({ ...filter, limit: filter.limit ?? DEFAULT_QUERY_LIMIT });
      const { offset: _offset, limit: _limit, ...criteria } = filter;
      const counted = total ? `,"total":${await store.analogies.count(criteria)}` : '';
      return reply
        .header('content-type', 'application/json; charset=utf-8')
        .send(`{"count":${analogies.length},"offset":${filter.offset ?? 0}${counted},"analogies":[${analogies.join(',')}]}`);
    },
  );

  app.delete<{ Querystring: FilterQuery & { dry_run?: boolean } }>(
    '/api/analogies',
    {
      schema: {
        summary: 'Delete every analogy matching the criteria through a deletion workflow (dry_run=true only counts)',
        tags: ['analogies'],
        querystring: { type: 'object', additionalProperties: false, properties: { ...filterProperties, dry_run: { type: 'boolean' } } },
        response: {
          200: { type: 'object', properties: { dry_run: { type: 'boolean' }, matched: { type: 'integer' }, workflow: workflowSchema } },
          ...errorResponses,
        },
      },
    },
    async (request) => {
      const { dry_run, ...filter } = request.query;
      return store.analogies.deleteMatching(filter, { dryRun: dry_run === true });
    },
  );

  app.get<{ Querystring: FilterQuery }>(
    '/api/analogies/stream',
    {
      schema: {
        summary: 'Every matching analogy as NDJSON (one consistent snapshot, with backpressure, no cap)',
        tags: ['analogies'],
        querystring: filterQuery,
        produces: ['application/x-ndjson'],
        response: { 200: { description: 'one analogy JSON object per line', type: 'string' }, ...errorResponses },
      },
    },
    async (request, reply) => {
      const lines = store.analogies.streamJson(request.query);
      // Pull the first line before answering so bad filters still get a JSON error status.
      let next = await lines.next();
      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, { 'content-type': 'application/x-ndjson; charset=utf-8', 'cache-control': 'no-store' });
      let aborted = false;
      const onClose = () => {
        aborted = true;
      };
      raw.on('close', onClose);
      const untrack = trackStream(ctx, () => {
        aborted = true;
        raw.destroy();
      });
      try {
        while (!next.done && !aborted) {
          if (!raw.write(next.value + '\n')) await drainOrClose(raw);
          if (aborted || raw.destroyed) break;
          next = await lines.next();
        }
      } catch (err) {
        request.log.error({ err }, 'stream failed');
        aborted = true;
        raw.destroy();
      } finally {
        await lines.return?.();
        raw.off('close', onClose);
        if (!aborted) raw.end();
        untrack();
      }
    },
  );

  app.get<IdRoute>(
    '/api/analogies/:id',
    {
      schema: { summary: 'Get one analogy', tags: ['analogies'], params: idParams, querystring: contextQuery, response: { 200: analogySchema, ...errorResponses } },
    },
    async (request) => store.analogies.get(request.params.id, request.query.context),
  );

  app.delete<IdRoute>(
    '/api/analogies/:id',
    {
      schema: { summary: 'Soft-delete one analogy', tags: ['analogies'], params: idParams, querystring: contextQuery, response: { 200: analogySchema, ...errorResponses } },
    },
    async (request) => store.analogies.delete(request.params.id, request.query.context),
  );

  app.get<IdRoute>(
    '/api/analogies/:id/history',
    {
      schema: {
        summary: 'Every version of one analogy',
        tags: ['analogies'],
        params: idParams,
        querystring: contextQuery,
        response: {
          200: {
            type: 'object',
            properties: { id: { type: 'string' }, versions: { type: 'array', items: { ...analogySchema, properties: { ...analogySchema.properties, op: { type: 'string' } } } } },
          },
          ...errorResponses,
        },
      },
    },
    async (request) => ({ id: request.params.id, versions: await store.analogies.history(request.params.id, request.query.context) }),
  );

  app.post<IdRoute>(
    '/api/analogies/:id/restore',
    {
      schema: { summary: 'Restore a deleted analogy', tags: ['analogies'], params: idParams, querystring: contextQuery, response: { 200: analogySchema, ...errorResponses } },
    },
    async (request) => store.analogies.restore(request.params.id, request.query.context),
  );
}
