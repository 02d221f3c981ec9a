import { mkdtempSync, readFileSync, rmSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { SoftlogicError } from '../../core/errors.js';
import { CONTEXT_FILE_SIDECARS, type ContextFileName, type ContextFiles, type LockedContextFiles } from '../context-files.js';
import type { PostgresContexts } from './postgres-contexts.js';
import { inTransaction, type PostgresLocation } from './postgres-connection.js';

function withSidecars(name: ContextFileName): string[] {
  return [name, ...CONTEXT_FILE_SIDECARS[name].map((s) => name + s)];
}

/** A scratch directory for a library that reads or writes only by path; removed after `fn`. */
function inScratch<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'softlogic-pg-file-'));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

type Pending = { kind: 'write'; name: string; data: Buffer } | { kind: 'remove'; name: string };

/**
 * Files of a context as rows (context_files), so every replica sees the same index and NPZ.
 * `update` runs in one transaction under an advisory lock per context: two replicas never
 * interleave, and the files it writes replace the old ones together at commit.
 */
export class PostgresContextFiles implements ContextFiles {
  constructor(
    private readonly pool: pg.Pool,
    private readonly contexts: PostgresContexts,
    private readonly where: PostgresLocation,
  ) {}

  private async load(client: pg.ClientBase | pg.Pool, ctx: number, names: string[]): Promise<Map<string, Buffer>> {
    const { rows } = await client.query<{ name: string; content: Buffer }>('SELECT name, content FROM context_files WHERE ctx = $1 AND name = ANY($2::text[])', [ctx, names]);
    return new Map(rows.map((r) => [r.name, r.content]));
  }

  async read(context: string, name: ContextFileName): Promise<Buffer | undefined> {
    const ctx = await this.contexts.row(context);
    return ctx && (await this.load(this.pool, ctx.ctx, [name])).get(name);
  }

  async exists(context: string, name: ContextFileName): Promise<boolean> {
    const ctx = await this.contexts.row(context);
    if (!ctx) return false;
    const { rows } = await this.pool.query('SELECT 1 FROM context_files WHERE ctx = $1 AND name = $2', [ctx.ctx, name]);
    return rows.length > 0;
  }

  async write(context: string, name: ContextFileName, data: string | Uint8Array): Promise<void> {
    await this.update(context, [], (files) => files.write(name, data));
  }

  async readLocal<T>(context: string, name: ContextFileName, fn: (path: string) => T): Promise<T | undefined> {
    const ctx = await this.contexts.row(context);
    if (!ctx) return undefined;
    const files = await this.load(this.pool, ctx.ctx, withSidecars(name));
    if (!files.has(name)) return undefined;
    return inScratch((dir) => {
      for (const [file, content] of files) writeFileSync(join(dir, file), content);
      return fn(join(dir, name));
    });
  }

  async update<T>(context: string, names: readonly ContextFileName[], fn: (files: LockedContextFiles) => T): Promise<T> {
    const ctx = await this.contexts.requireRow(context);
    return inTransaction(this.pool, async (client) => {
      await client.query(`SELECT pg_advisory_xact_lock(hashtextextended('softlogic.files.' || $1 || '.' || $2, 0))`, [this.where.schema, ctx.ctx]);
      const loaded = await this.load(client, ctx.ctx, names.flatMap(withSidecars));
      const pending: Pending[] = [];
      const files: LockedContextFiles = {
        read: (name) => {
          if (!names.includes(name)) throw new SoftlogicError('INTERNAL', `context file ${name} was read but not named in update()`);
          return loaded.get(name);
        },
        write: (name, data) => {
          pending.push({ kind: 'write', name, data: Buffer.from(data) });
          loaded.set(name, Buffer.from(data));
        },
        writeLocal: (name, write) =>
          inScratch((dir) => {
            write(join(dir, name));
            for (const file of withSidecars(name)) {
              const path = join(dir, file);
              if (existsSync(path)) pending.push({ kind: 'write', name: file, data: readFileSync(path) });
              else pending.push({ kind: 'remove', name: file });
            }
          }),
        remove: (name) => {
          for (const file of withSidecars(name)) pending.push({ kind: 'remove', name: file });
          loaded.delete(name);
        },
      };
      const result = fn(files);
      for (const op of pending) {
        if (op.kind === 'remove') await client.query('DELETE FROM context_files WHERE ctx = $1 AND name = $2', [ctx.ctx, op.name]);
        else {
          await client.query(
            'INSERT INTO context_files(ctx, name, content, updated_at) VALUES ($1, $2, $3, now()) ON CONFLICT (ctx, name) DO UPDATE SET content = excluded.content, updated_at = now()',
            [ctx.ctx, op.name, op.data],
          );
        }
      }
      return result;
    });
  }

  location(context: string, name: ContextFileName): string {
    return `${this.where.display} (context '${context}', file ${name})`;
  }
}
