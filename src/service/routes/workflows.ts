import type { FastifyInstance } from 'fastify';
import { SoftlogicError } from '../../index.js';
import type { WorkflowStatus } from '../../index.js';
import type { ServiceContext } from '../context.js';
import { errorResponses, FINAL_STATUSES, idParams, workflowSchema, workflowStatuses } from '../schemas.js';

type IdRoute = { Params: { id: string } };

export function workflowRoutes(app: FastifyInstance, ctx: ServiceContext): void {
  const { store } = ctx;

  app.get<{ Querystring: { status?: WorkflowStatus } }>(
    '/api/workflows',
    {
      schema: {
        summary: 'List workflows, optionally by status',
        tags: ['workflows'],
        querystring: { type: 'object', additionalProperties: false, properties: { status: { type: 'string', enum: workflowStatuses } } },
        response: { 200: { type: 'array', items: workflowSchema }, ...errorResponses },
      },
    },
    async (request) => store.workflows.list(request.query.status),
  );

  app.get<IdRoute>(
    '/api/workflows/:id',
    { schema: { summary: 'Get one workflow', tags: ['workflows'], params: idParams, response: { 200: workflowSchema, ...errorResponses } } },
    async (request) => store.workflows.get(request.params.id),
  );

  app.post<IdRoute>(
    '/api/workflows/:id/process',
    {
      schema: {
        summary: 'Process a workflow in the background (follow it on /ws/workflows/:id)',
        tags: ['workflows'],
        params: idParams,
        response: { 202: workflowSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const id = request.params.id;
      const wf = store.workflows.get(id);
      if (FINAL_STATUSES.has(wf.status) && wf.status !== 'failed') {
        throw new SoftlogicError('ILLEGAL_TRANSITION', `workflow ${id} is ${wf.status}: it cannot be processed`, { workflow_id: id, status: wf.status });
      }
      if (ctx.background.has(id)) {
        throw new SoftlogicError('CONFLICT', `workflow ${id} is already being processed by this server`, { workflow_id: id });
      }
      const run = store.workflows
        .process(id)
        .catch((err: unknown) => request.log.error({ err, workflow_id: id }, 'background processing failed'))
        .finally(() => ctx.background.delete(id));
      ctx.background.set(id, run);
      return reply.code(202).send(store.workflows.get(id));
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
