import type { FastifyInstance } from 'fastify';
import type { ServiceContext } from '../context.js';
import { contextQuery, errorResponses } from '../schemas.js';

const looseObject = { type: 'object', additionalProperties: true } as const;

export function maintenanceRoutes(app: FastifyInstance, ctx: ServiceContext): void {
  app.post<{ Querystring: { context?: string } }>(
    '/api/compact',
    {
      schema: {
        summary: 'Compact the change logs (one context or all)',
        tags: ['maintenance'],
        querystring: contextQuery,
        response: {
          200: {
            type: 'object',
            properties: {
              contexts: {
                type: 'array',
                items: {
                  type: 'object',
                  properties: {
                    context: { type: 'string' },
                    records_removed: { type: 'integer' },
                    active_records: { type: 'integer' },
                    lines_before: { type: 'integer' },
                    bytes_before: { type: 'integer' },
                    bytes_after: { type: 'integer' },
                  },
                },
              },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (request) => ({ contexts: await ctx.store.compact(request.query.context) }),
  );

  app.get(
    '/api/verify',
    {
      schema: {
        summary: 'Verify the store (logs against index, checksums, SQLite integrity)',
        tags: ['maintenance'],
        response: {
          200: {
            type: 'object',
            properties: {
              valid: { type: 'boolean' },
              issues: { type: 'array', items: looseObject },
              contexts: { type: 'array', items: looseObject },
            },
          },
          ...errorResponses,
        },
      },
    },
    async () => ctx.store.verify(),
  );

  app.get(
    '/api/stats',
    {
      schema: {
        summary: 'Counts per context, workflows by status, file sizes',
        tags: ['maintenance'],
        response: {
          200: {
            type: 'object',
            properties: {
              store: { type: 'string' },
              contexts: { type: 'array', items: looseObject },
              workflows: { type: 'object', additionalProperties: { type: 'integer' } },
              files: { type: 'object', additionalProperties: { type: 'integer' } },
              total_bytes: { type: 'integer' },
            },
          },
          ...errorResponses,
        },
      },
    },
    async () => ctx.store.stats(),
  );
}
