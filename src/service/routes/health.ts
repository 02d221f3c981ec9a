import type { FastifyInstance } from 'fastify';
import type { ServiceContext } from '../context.js';
import { errorResponses } from '../schemas.js';

/** How long /health waits for the store's database before answering 503. */
export const HEALTH_TIMEOUT_MS = 2000;

/**
 * Health (/health, never behind the API key): 200 while the store can serve, 503 STORE_UNAVAILABLE
 * (with Retry-After) within HEALTH_TIMEOUT_MS when its database cannot be reached. Operational
 * status: /status.
 */
export function healthRoutes(app: FastifyInstance, ctx: ServiceContext): void {
  app.get(
    '/health',
    {
      schema: {
        summary: 'Health: 200 when the store can serve, 503 when its database cannot be reached',
        tags: ['operations'],
        response: { 200: { type: 'object', properties: { status: { type: 'string' } } }, ...errorResponses },
      },
    },
    async () => {
      await ctx.store.ping(HEALTH_TIMEOUT_MS);
      return { status: 'ok' };
    },
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
