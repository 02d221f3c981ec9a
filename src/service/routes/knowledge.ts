import { createReadStream, existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { SoftlogicError } from '../../api/index.js';
import type { ExportFormat } from '../../methods/knowledge/export.js';
import { trackWork, type ServiceContext } from '../context.js';
import { errorResponses, nameString } from '../schemas.js';
import { tempPath } from '../uploads.js';
import { fileTimestamp } from '../../core/file-stamp.js';

const BACKUP_NAME = '^[A-Za-z0-9_][A-Za-z0-9_.-]{0,200}\\.slbak$';

const looseObject = { type: 'object', additionalProperties: true } as const;

const backupEntry = {
  type: 'object',
  properties: { name: { type: 'string' }, bytes: { type: 'integer' }, modified_at: { type: 'string' } },
} as const;

interface ExportQuery {
  context?: string;
  format?: ExportFormat;
  gzip?: boolean;
}

/** export (streamed back), backup (written under <store>/backups, listed and downloadable). */
export function knowledgeRoutes(app: FastifyInstance, ctx: ServiceContext): void {
  const { store } = ctx;

  app.get<{ Querystring: ExportQuery }>(
    '/api/export',
    {
      schema: {
        summary: 'Every active record of a context (or all) as JSON lines or one JSON document, streamed back (import it with POST /api/import)',
        tags: ['knowledge'],
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { context: nameString, format: { type: 'string', enum: ['jsonl', 'json'] }, gzip: { type: 'boolean' } },
        },
        produces: ['application/x-ndjson', 'application/json', 'application/gzip'],
        response: {
          200: {
            description: 'the export file; the x-softlogic-records header holds its record count',
            type: 'string',
          },
          ...errorResponses,
        },
      },
    },
    async (request, reply) => {
      const format = request.query.format ?? 'jsonl';
      const gzip = request.query.gzip === true;
      const ext = `${format}${gzip ? '.gz' : ''}`;
      // Written whole first (the core renames it into place only when complete), then streamed
      // back and removed: a failed export is an error status, never a truncated 200.
      const out = tempPath(store, 'export', ext);
      let result;
      try {
        result = await trackWork(ctx, `export:${basename(out)}`, store.export({ out, context: request.query.context, format, gzip }));
      } catch (err) {
        rmSync(out, { force: true });
        throw err;
      }
      const file = createReadStream(out);
      file.on('close', () => rmSync(out, { force: true }));
      const type = gzip ? 'application/gzip' : format === 'json' ? 'application/json' : 'application/x-ndjson';
      const stamp = fileTimestamp();
      return reply
        .header('content-type', type)
        .header('content-length', String(result.bytes))
        .header('content-disposition', `attachment; filename="softlogic-export-${stamp}.${ext}"`)
        .header('x-softlogic-records', String(result.records))
        .send(file);
    },
  );

  app.post(
    '/api/backup',
    {
      schema: {
        summary: 'One file holding a consistent snapshot of the store, written under <store>/backups (download it with GET /api/backups/:name)',
        tags: ['knowledge'],
        response: {
          201: {
            type: 'object',
            properties: {
              name: { type: 'string' },
              bytes: { type: 'integer' },
              seconds: { type: 'number' },
              members: { type: 'integer' },
              attempts: { type: 'integer' },
              contexts: { type: 'array', items: looseObject },
              workflows: { type: 'object', additionalProperties: { type: 'integer' } },
            },
          },
          ...errorResponses,
        },
      },
    },
    async (_request, reply) => {
      const result = await trackWork(ctx, `backup:${Date.now()}`, store.backup());
      const { file, ...rest } = result;
      return reply.code(201).send({ name: basename(file), ...rest });
    },
  );

  app.get(
    '/api/backups',
    {
      schema: {
        summary: 'The backups under <store>/backups, newest first',
        tags: ['knowledge'],
        response: { 200: { type: 'object', properties: { backups: { type: 'array', items: backupEntry } } }, ...errorResponses },
      },
    },
    async () => {
      const dir = store.backupsDir;
      if (!existsSync(dir)) return { backups: [] };
      const re = new RegExp(BACKUP_NAME);
      const backups = readdirSync(dir, { withFileTypes: true })
        .filter((e) => e.isFile() && re.test(e.name))
        .map((e) => {
          const st = statSync(join(dir, e.name));
          return { name: e.name, bytes: st.size, modified_at: st.mtime.toISOString() };
        })
        .sort((a, b) => b.modified_at.localeCompare(a.modified_at));
      return { backups };
    },
  );

  app.get<{ Params: { name: string } }>(
    '/api/backups/:name',
    {
      schema: {
        summary: 'Download one backup (restore it with `softlogic restore FILE`)',
        tags: ['knowledge'],
        params: { type: 'object', required: ['name'], additionalProperties: false, properties: { name: { type: 'string', pattern: BACKUP_NAME } } },
        produces: ['application/octet-stream'],
        response: { 200: { description: 'the backup file', type: 'string' }, ...errorResponses },
      },
    },
    async (request, reply) => {
      const path = join(store.backupsDir, request.params.name);
      if (!existsSync(path) || !statSync(path).isFile()) throw new SoftlogicError('FILE_NOT_FOUND', `no backup named ${request.params.name}`, { name: request.params.name });
      return reply
        .header('content-type', 'application/octet-stream')
        .header('content-length', String(statSync(path).size))
        .header('content-disposition', `attachment; filename="${request.params.name}"`)
        .send(createReadStream(path));
    },
  );
}
