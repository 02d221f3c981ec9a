import type { FastifyInstance } from 'fastify';
import { AUDIT_DEFAULT_LIMIT, AUDIT_MAX_LIMIT } from '../../backend/embedded/audit.js';
import type { ServiceContext } from '../context.js';
import { errorResponses, nameString } from '../schemas.js';

/** One audit entry: time and event always; the fields recorded with the event (workflow_id when it is about one). */
const auditEntrySchema = {
  type: 'object',
  additionalProperties: true,
  required: ['time', 'event'],
  properties: {
    time: { type: 'string', format: 'date-time', description: 'when it was recorded (ISO 8601, UTC)' },
    event: { type: 'string', description: 'what happened, e.g. workflow_rolled_back, import_rejected_lines, analogies_deleted, compacted, index_rebuilt' },
    workflow_id: { type: 'string', description: 'the workflow it is about, when it is about one' },
    workflows: { type: 'array', items: { type: 'string' }, description: 'the workflows an import made (knowledge and legacy imports)' },
    context: { type: 'string' },
    reason: { type: 'string' },
  },
} as const;

type AuditQuery = { workflow_id?: string; event?: string; since?: string; limit?: number };

export function auditRoutes(app: FastifyInstance, ctx: ServiceContext): void {
  app.get<{ Querystring: AuditQuery }>(
    '/api/audit',
    {
      schema: {
        summary: 'The audit log, newest first (rejected lines, rollbacks, cancellations, deletions, compactions, rebuilds)',
        tags: ['maintenance'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            workflow_id: { ...nameString, description: 'only the entries about this workflow' },
            event: { type: 'string', pattern: '^[a-z_]{1,64}$', description: 'only this event' },
            since: { type: 'string', format: 'date-time', description: 'only entries at or after this time' },
            limit: { type: 'integer', minimum: 1, maximum: AUDIT_MAX_LIMIT, default: AUDIT_DEFAULT_LIMIT },
          },
        },
        response: { 200: { type: 'object', required: ['entries'], properties: { entries: { type: 'array', items: auditEntrySchema } } }, ...errorResponses },
      },
    },
    async (request) => ({ entries: await ctx.store.audit.list(request.query) }),
  );
}
