import type { FastifyInstance } from 'fastify';
import type { ServiceContext } from '../context.js';
import { errorResponses } from '../schemas.js';

/** Liveness (/health, never behind the API key) and operational status (/status). */
export function healthRoutes(app: FastifyInstance, ctx: ServiceContext): void {
  app.get(
    '/health',
    {
      schema: {
        summary: 'Liveness',
        tags: ['operations'],
        response: { 200: { type: 'object', properties: { status: { type: 'string' } } }, ...errorResponses },
      },
    },
    async () => ({ status: 'ok' }),
  );

  app.get(
    '/status',
    {
      schema: {
        summary: 'Store, counts, workflows by status, version and uptime',
        tags: ['operations'],
        response: {
          200: {
            type: 'object',
            properties: {
              status: { type: 'string' },
              store: { type: 'string' },
              version: { type: 'string' },
              uptime_seconds: { type: 'number' },
              counts: {
                type: 'object',
                properties: {
                  contexts: { type: 'integer' },
                  analogies_active: { type: 'integer' },
                  analogies_deleted: { type: 'integer' },
                  total_bytes: { type: 'integer' },
                },
              },
              workflows: { type: 'object', additionalProperties: { type: 'integer' } },
            },
          },
          ...errorResponses,
        },
      },
    },
    async () => {
      const stats = await ctx.store.stats();
      let active = 0;
      let deleted = 0;
      for (const c of stats.contexts) {
        active += c.analogies.active;
        deleted += c.analogies.deleted;
      }
      return {
        status: 'ok',
        store: ctx.store.root,
        version: ctx.version,
        uptime_seconds: Math.round((Date.now() - ctx.startedAt) / 10) / 100,
        counts: { contexts: stats.contexts.length, analogies_active: active, analogies_deleted: deleted, total_bytes: stats.total_bytes },
        workflows: stats.workflows,
      };
    },
  );
}
