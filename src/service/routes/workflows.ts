import type { FastifyInstance } from 'fastify';
import { SoftlogicError } from '../../index.js';
import type { WorkflowStatus } from '../../index.js';
import { logStopped, runInBackground, trackWork, type ServiceContext } from '../context.js';
import { errorResponses, FINAL_STATUSES, idParams, workflowSchema, workflowStatuses } from '../schemas.js';

type IdRoute = { Params: { id: string } };

const batchSizeQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { batch_size: { type: 'integer', minimum: 1, maximum: 1_000_000, description: "items per commit (default: the server's)" } },
} as const;

export function workflowRoutes(app: FastifyInstance, ctx: ServiceContext): void {
  const { store } = ctx;

  app.get<{ Querystring: { status?: WorkflowStatus } }>(
    '/api/workflows',
    {
      schema: {
        summary: 'List workflows, optionally by status',
        tags: ['workflows'],
        querystring: { type: 'object', additionalProperties: false, properties: { status: { type: 'string', enum: workflowStatuses } } },
        response: { 200: { type: 'object', properties: { workflows: { type: 'array', items: workflowSchema } } }, ...errorResponses },
      },
    },
    async (request) => ({ workflows: await store.workflows.list(request.query.status) }),
  );

  app.get<IdRoute>(
    '/api/workflows/:id',
    { schema: { summary: 'Get one workflow', tags: ['workflows'], params: idParams, response: { 200: workflowSchema, ...errorResponses } } },
    async (request) => store.workflows.get(request.params.id),
  );

  app.post<{ Querystring: { batch_size?: number } }>(
    '/api/workflows/resume',
    {
      schema: {
        summary: 'Finish every workflow a stopped process left processing, and every import it staged but did not start; answers when they are done',
        tags: ['workflows'],
        querystring: batchSizeQuery,
        response: { 200: { type: 'object', properties: { resumed: { type: 'array', items: workflowSchema } } }, ...errorResponses },
      },
    },
    async (request) => {
      if (ctx.closing) throw new SoftlogicError('STORE_CLOSED', 'the server is shutting down', {});
      // The core's resume also takes up this process's own workflows (owner = this pid): while
      // this server is processing any, resuming would race with it, so it is refused.
      const busy = [...ctx.background.keys()];
      if (busy.length > 0) {
        throw new SoftlogicError('CONFLICT', 'this server is still processing work in the background: resume once it is done', { busy: busy.slice(0, 20) });
      }
      const resumed = await trackWork(ctx, 'resume', ctx.processor.resume(request.query.batch_size ?? ctx.batchSize));
      return { resumed };
    },
  );

  app.post<IdRoute & { Querystring: { batch_size?: number } }>(
    '/api/workflows/:id/process',
    {
      schema: {
        summary: 'Process a workflow in the background (follow it on /ws/workflows/:id)',
        tags: ['workflows'],
        params: idParams,
        querystring: batchSizeQuery,
        response: { 202: workflowSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const id = request.params.id;
      const wf = await store.workflows.get(id);
      if (FINAL_STATUSES.has(wf.status) && wf.status !== 'failed') {
        throw new SoftlogicError('ILLEGAL_TRANSITION', `workflow ${id} is ${wf.status}: it cannot be processed`, { workflow_id: id, status: wf.status });
      }
      if (ctx.background.has(id)) {
        throw new SoftlogicError('CONFLICT', `workflow ${id} is already being processed by this server`, { workflow_id: id });
      }
      if (ctx.closing) throw new SoftlogicError('STORE_CLOSED', 'the server is shutting down', {});
      runInBackground(ctx, id, ctx.processor.process(id, request.query.batch_size ?? ctx.batchSize), (err) =>
        logStopped(ctx, request.log, id, err),
      );
      return reply.code(202).send(await store.workflows.get(id));
    },
  );

  app.post<IdRoute>(
    '/api/workflows/:id/cancel',
    { schema: { summary: 'Cancel a workflow', tags: ['workflows'], params: idParams, response: { 200: workflowSchema, ...errorResponses } } },
    async (request) => store.workflows.cancel(request.params.id),
  );

  app.post<IdRoute>(
    '/api/workflows/:id/rollback',
    {
      schema: {
        summary: 'Roll back a workflow (delete what it created)',
        tags: ['workflows'],
        params: idParams,
        response: { 200: { ...workflowSchema, properties: { ...workflowSchema.properties, records_deleted: { type: 'integer' } } }, ...errorResponses },
      },
    },
    async (request) => store.workflows.rollback(request.params.id),
  );
}
