import type { FastifyInstance } from 'fastify';
import type { ServiceContext } from '../context.js';
import { errorResponses, nameString } from '../schemas.js';

const contextSchema = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    parent: { type: ['string', 'null'] },
    description: { type: ['string', 'null'] },
    created_at: { type: 'string' },
  },
} as const;

interface CreateBody {
  name: string;
  parent?: string;
  description?: string;
}

export function contextRoutes(app: FastifyInstance, ctx: ServiceContext): void {
  app.get(
    '/api/contexts',
    {
      schema: {
        summary: 'List contexts (the shape of `softlogic contexts list --json`)',
        tags: ['contexts'],
        response: { 200: { type: 'object', properties: { contexts: { type: 'array', items: contextSchema } } }, ...errorResponses },
      },
    },
    async () => ({ contexts: await ctx.store.contexts.list() }),
  );

  app.post<{ Body: CreateBody }>(
    '/api/contexts',
    {
      schema: {
        summary: 'Create a context (an existing one with the same parent: answered as is; with another parent: CONFLICT)',
        tags: ['contexts'],
        body: {
          type: 'object',
          required: ['name'],
          additionalProperties: false,
          properties: { name: nameString, parent: nameString, description: { type: 'string', maxLength: 16384 } },
        },
        response: { 201: contextSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { name, ...rest } = request.body;
      return reply.code(201).send(await ctx.store.contexts.create(name, rest));
    },
  );
}
