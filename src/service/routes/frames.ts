import { basename } from 'node:path';
import { rmSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { trackWork, type ServiceContext } from '../context.js';
import { contextQuery, errorResponses, nameString, workflowSchema } from '../schemas.js';
import { frameRecordSchema, framesDocumentSchema, instanceRecordSchema, relationRecordSchema } from '../frame-schemas.js';
import { receiveUpload, refuseWhenClosing, requireMediaType, scrubPath, scrubResult, withUploadScope } from '../uploads.js';

export const YAML_CONTENT_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml', 'text/x-yaml'];
export const FRAME_CONTENT_TYPES = ['application/json', ...YAML_CONTENT_TYPES];

const frameSchema = frameRecordSchema;
const relationSchema = relationRecordSchema;
const instanceSchema = instanceRecordSchema;
const frameWithRelations = {
  ...frameSchema,
  description: 'a stored frame with the relations that name it',
  properties: { ...(frameSchema.properties as Record<string, unknown>), relations: { type: 'array', items: relationSchema } },
};

const instanceList = { type: 'object', properties: { frame: { type: 'string' }, count: { type: 'integer' }, instances: { type: 'array', items: instanceSchema } } } as const;

const nameParams = { type: 'object', required: ['name'], additionalProperties: false, properties: { name: nameString } } as const;

const instanceFlagQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { context: nameString, instance: { type: 'boolean', description: 'NAME is a frame instance id' } },
} as const;

type NameRoute = { Params: { name: string }; Querystring: { context?: string } };
type FlagRoute = { Params: { name: string }; Querystring: { context?: string; instance?: boolean } };

/** Frames, frame relations and frame instances: add (JSON or YAML), get, list, instances, query, delete, restore. */
export async function frameRoutes(app: FastifyInstance, ctx: ServiceContext): Promise<void> {
  const { store } = ctx;

  app.get<{ Querystring: { context?: string } }>(
    '/api/frames',
    {
      schema: {
        summary: 'The frames of a context and its parents',
        tags: ['frames'],
        querystring: contextQuery,
        response: { 200: { type: 'object', properties: { count: { type: 'integer' }, frames: { type: 'array', items: frameSchema } } }, ...errorResponses },
      },
    },
    async (request) => {
      const frames = await store.frames.list(request.query.context ?? 'default');
      return { count: frames.length, frames };
    },
  );

  app.get<{ Querystring: { context?: string; element?: string; concept?: string; frame?: string } }>(
    '/api/frames/query',
    {
      schema: {
        summary: 'Frame instances binding `element`, `concept`, or the element to the concept (optionally of one `frame`)',
        tags: ['frames'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { context: nameString, element: nameString, concept: nameString, frame: nameString },
        },
        response: { 200: instanceList, ...errorResponses },
      },
    },
    async (request) => {
      const { context = 'default', ...rest } = request.query;
      const instances = await store.frames.query({ context, ...rest });
      return { count: instances.length, instances };
    },
  );

  app.get<NameRoute>(
    '/api/frames/:name',
    {
      schema: {
        summary: 'One frame (of the context or its parents) with the relations it takes part in',
        tags: ['frames'],
        params: nameParams,
        querystring: contextQuery,
        response: { 200: frameWithRelations, ...errorResponses },
      },
    },
    async (request) => store.frames.get(request.params.name, request.query.context ?? 'default'),
  );

  app.get<NameRoute>(
    '/api/frames/:name/instances',
    {
      schema: { summary: 'The instances of one frame', tags: ['frames'], params: nameParams, querystring: contextQuery, response: { 200: instanceList, ...errorResponses } },
    },
    async (request) => {
      const instances = await store.frames.instances(request.params.name, request.query.context ?? 'default');
      return { frame: request.params.name, count: instances.length, instances };
    },
  );

  const flagged = { anyOf: [frameSchema, instanceSchema] } as const;

  // Delete and restore answer a frame, or with instance=true a frame instance by id.
  const flagRoute = (
    method: 'DELETE' | 'POST',
    url: string,
    summary: string,
    onFrame: (name: string, context: string) => Promise<unknown>,
    onInstance: (id: string, context: string) => Promise<unknown>,
  ) =>
    app.route<FlagRoute>({
      method,
      url,
      schema: { summary, tags: ['frames'], params: nameParams, querystring: instanceFlagQuery, response: { 200: flagged, ...errorResponses } },
      handler: async (request) => {
        const context = request.query.context ?? 'default';
        return request.query.instance === true ? await onInstance(request.params.name, context) : await onFrame(request.params.name, context);
      },
    });
  flagRoute('DELETE', '/api/frames/:name', 'Soft-delete a frame of the context (instance=true: a frame instance by id)', store.frames.delete, store.frames.deleteInstance);
  flagRoute('POST', '/api/frames/:name/restore', 'Restore a deleted frame (instance=true: a frame instance by id)', store.frames.restore, store.frames.restoreInstance);

  await withUploadScope(app, FRAME_CONTENT_TYPES, (scope) => {
    scope.post<{ Querystring: { context?: string } }>(
      '/api/frames',
      {
        schema: {
          summary: 'Add frames, relations and instances from a JSON or YAML document {frames, relations, instances} as a frame_expansion workflow; one bad item refuses the document',
          tags: ['frames'],
          consumes: FRAME_CONTENT_TYPES,
          querystring: contextQuery,
          body: framesDocumentSchema,
          response: {
            201: {
              type: 'object',
              properties: { workflow: workflowSchema, frames: { type: 'integer' }, relations: { type: 'integer' }, instances: { type: 'integer' } },
            },
            ...errorResponses,
          },
        },
      },
      async (request, reply) => {
        refuseWhenClosing(ctx);
        const type = requireMediaType(request, FRAME_CONTENT_TYPES);
        const path = await receiveUpload(ctx, request, reply, { ext: type === 'application/json' ? 'json' : 'yaml', expected: 'a frames document as JSON or YAML' });
        try {
          const work = store.frames.add(path, { context: request.query.context ?? 'default' });
          const result = await trackWork(ctx, `frames:${basename(path)}`, scrubPath(work, path));
          return reply.code(201).send(scrubResult(result, path));
        } finally {
          rmSync(path, { force: true });
        }
      },
    );
  });
}
