import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { SoftlogicError } from '../../api/index.js';
import type { MergeStrategy } from '../../methods/knowledge/import-applier.js';
import { logStopped, runInBackground, trackWork, type ServiceContext } from '../context.js';
import { analogyInputSchema, errorResponses, nameString, workflowSchema } from '../schemas.js';
import { receiveUpload, scrubPath, startUpload, UPLOAD_CONTENT_TYPES, withUploadScope } from '../uploads.js';
import type { ArrivingFile } from '../../core/arriving-file.js';

const batchSizeProperty = { batch_size: { type: 'integer', minimum: 1, maximum: 1_000_000, description: 'items per commit (default: the server\'s)' } } as const;

const stagingProperties = {
  context: nameString,
  lenient: { type: 'boolean', description: 'commit the valid lines and set the invalid ones aside (default: one invalid line refuses the whole body)' },
  workflow_id: { ...nameString, maxLength: 128 },
} as const;

/** Documents the body in OpenAPI; the body itself arrives as a stream (see the validator below). */
const analogyBody = {
  description: 'analogies as JSON lines (application/x-ndjson) or one JSON array (application/json), optionally gzip\'d (application/gzip)',
  type: 'array',
  items: analogyInputSchema,
} as const;

const stagingResult = {
  rejected: { type: 'integer', description: 'invalid lines set aside (lenient) or refused' },
  rejects_file: { type: ['string', 'null'], description: 'where the server copied the rejected lines (lenient)' },
  reasons_file: { type: ['string', 'null'], description: 'beside the rejects file: each rejected line\'s line number, field and reason (lenient)' },
  rejected_reasons: {
    type: 'array',
    description: 'the first rejected lines\' reasons (lenient)',
    items: { type: 'object', properties: { line: { type: 'integer' }, field: { type: 'string' }, reason: { type: 'string' } } },
  },
} as const;

interface StagingQuery {
  context?: string;
  lenient?: boolean;
  workflow_id?: string;
  batch_size?: number;
  async?: boolean;
}

/**
 * Routes whose body is an uploaded file (a batch of analogies, a workflow's items, an export to
 * import). They live in their own plugin scope: every accepted content type is passed through
 * as a stream (see uploads.ts) instead of being parsed, and the body schema documents the
 * payload without validating it, since the core validates each record with its line number.
 */
export async function uploadRoutes(app: FastifyInstance, ctx: ServiceContext): Promise<void> {
  await withUploadScope(app, UPLOAD_CONTENT_TYPES, (scope) => register(scope, ctx));
}

function register(app: FastifyInstance, ctx: ServiceContext): void {
  const { store } = ctx;

  const refuseWhenClosing = () => {
    if (ctx.closing) throw new SoftlogicError('STORE_CLOSED', 'the server is shutting down', {});
  };

  /**
   * Streams the body to a temporary file, runs `work` on it (tracked for the shutdown), removes
   * the file. `whileArriving` (and a declared content-length): `work` starts once the file holds
   * the body's first bytes and is given the file as it arrives, which it must read as an
   * arriving file (see ImportOptions.arriving); otherwise it starts once the body is in.
   * Either way the answer waits for the whole body: the upload's own failure (413, an
   * interrupted body) is the answer if it fails.
   */
  async function withUpload<T>(
    request: FastifyRequest<{ Querystring: StagingQuery }>,
    reply: FastifyReply,
    work: (path: string, q: StagingQuery, arriving: ArrivingFile | undefined) => Promise<T>,
    whileArriving = false,
  ): Promise<T> {
    refuseWhenClosing();
    const upload = startUpload(ctx, request, reply);
    try {
      const arriving = whileArriving && upload.arriving ? upload.arriving : undefined;
      await (arriving ? upload.head : upload.done);
      try {
        return await trackWork(ctx, `upload:${randomUUID()}`, scrubPath(work(upload.path, request.query, arriving), upload.path));
      } finally {
        await upload.done;
      }
    } finally {
      await upload.done.catch(() => {});
      rmSync(upload.path, { force: true });
    }
  }

  /** Stages the body as an analogy_creation workflow (on every core while the server is quiet). */
  const stage = (request: FastifyRequest<{ Querystring: StagingQuery }>, reply: FastifyReply, autoProcess: boolean) =>
    withUpload(request, reply, (path, q) => ctx.processor.stage(path, { context: q.context, lenient: q.lenient === true, workflowId: q.workflow_id, autoProcess, parallel: ctx.activity.quiet() }));

  app.post<{ Querystring: StagingQuery }>(
    '/api/analogies/batch',
    {
      schema: {
        summary: 'Create many analogies as one analogy_creation workflow (async=true: process in the background, follow it on /ws/workflows/:id)',
        tags: ['analogies'],
        consumes: UPLOAD_CONTENT_TYPES,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            ...stagingProperties,
            ...batchSizeProperty,
            async: { type: 'boolean', description: 'answer 202 once staged and process in the background' },
          },
        },
        body: analogyBody,
        response: {
          201: {
            description: 'imported (processed to the end)',
            type: 'object',
            properties: { workflow: workflowSchema, imported: { type: 'integer' }, ...stagingResult },
          },
          202: {
            description: 'staged; processing in the background',
            type: 'object',
            properties: { workflow: workflowSchema, ...stagingResult },
          },
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      if (request.query.async !== true) {
        // Staged and processed in one, as the CLI imports a file (see Processor.importFile).
        // While the server is quiet, staged from the body's first bytes on, as the rest arrives.
        const result = await withUpload(
          request,
          reply,
          (path, q, arriving) => {
            // (Should a query arrive meanwhile, the import reads the file once complete: see ImportOptions.arriving.)
            return ctx.processor.importFile(path, { context: q.context, lenient: q.lenient === true, workflowId: q.workflow_id, batchSize: q.batch_size ?? ctx.batchSize, parallel: ctx.activity.quiet(), arriving });
          },
          ctx.activity.quiet(),
        );
        return reply.code(201).send(result);
      }
      const staged = await stage(request, reply, true);
      const id = staged.workflow.workflow_id;
      // Staged with auto_process: if the server stops before processing it, the next start resumes it.
      if (!ctx.closing) runInBackground(ctx, id, ctx.processor.process(id, request.query.batch_size ?? ctx.batchSize), (err) => logStopped(ctx, request.log, id, err));
      return reply.code(202).send({
        workflow: await store.workflows.get(id),
        rejected: staged.rejected,
        rejects_file: staged.rejectsFile,
        reasons_file: staged.reasonsFile,
        rejected_reasons: staged.reasons,
      });
    },
  );

  app.post<{ Querystring: StagingQuery }>(
    '/api/workflows',
    {
      schema: {
        summary: 'Stage the uploaded analogies as a pending analogy_creation workflow (process it with /api/workflows/:id/process)',
        tags: ['workflows'],
        consumes: UPLOAD_CONTENT_TYPES,
        querystring: { type: 'object', additionalProperties: false, properties: stagingProperties },
        body: analogyBody,
        response: {
          201: { ...workflowSchema, properties: { ...workflowSchema.properties, ...stagingResult } },
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const staged = await stage(request, reply, false);
      return reply.code(201).send({ ...staged.workflow, rejected: staged.rejected, rejects_file: staged.rejectsFile });
    },
  );

  app.post<{ Querystring: { context?: string; merge?: MergeStrategy; batch_size?: number } }>(
    '/api/import',
    {
      schema: {
        summary: 'Import an export (as written by GET /api/export or `softlogic export`) as knowledge_import workflows',
        tags: ['knowledge'],
        consumes: UPLOAD_CONTENT_TYPES,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            context: { ...nameString, description: 'put every record into this context (default: the one it was exported from)' },
            merge: { type: 'string', enum: ['overwrite', 'merge', 'skip'] },
            ...batchSizeProperty,
          },
        },
        body: {
          description: 'an export: JSON lines, or the JSON document `export --format json` writes; gzip\'d or not',
          type: 'string',
        },
        response: {
          201: {
            type: 'object',
            properties: {
              merge: { type: 'string' },
              records: { type: 'integer' },
              workflows: { type: 'array', items: workflowSchema },
              applied: { type: 'object', additionalProperties: { type: 'integer' } },
              contexts: { type: 'array', items: { type: 'string' } },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      refuseWhenClosing();
      const path = await receiveUpload(ctx, request, reply);
      try {
        const q = request.query;
        const result = await trackWork(ctx, `import:${randomUUID()}`, scrubPath(ctx.processor.importKnowledge(path, { context: q.context, merge: q.merge, batchSize: q.batch_size ?? ctx.batchSize, quiet: ctx.activity.quiet() }), path));
        return reply.code(201).send(result);
      } finally {
        rmSync(path, { force: true });
      }
    },
  );
}
