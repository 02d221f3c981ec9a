import type pg from 'pg';
import type { Analogy, RecordKind } from '../../core/records.js';
import type { AnalogyFilter } from '../../core/schemas.js';
import { DEFAULT_CONTEXT } from '../../core/names.js';
import type { RecordReader } from '../record-reader.js';
import type { StoredVersion } from '../write-batch.js';
import type { PostgresContexts } from './postgres-contexts.js';
import { filterClause, type FilterClause } from './postgres-filter.js';
import { VERSION_COLUMNS, versionOfRow, type VersionRow } from './postgres-write-batch.js';

export const DEFAULT_QUERY_LIMIT = 100;
/** Rows per FETCH of a stream: a million records cost a hundred round trips. */
export const STREAM_PAGE = 10_000;

// The query indexes' order: best quality first, ties newest first (the embedded log order).
const ORDER = 'ORDER BY quality DESC, seq DESC';

function table(kind: RecordKind): { name: string; where: string } {
  return kind === 'analogy' ? { name: 'analogies', where: 'ctx = $1 AND id = $2' } : { name: 'entities', where: 'ctx = $1 AND id = $2 AND kind = $3' };
}

export class PostgresRecordReader implements RecordReader {
  constructor(
    private readonly pool: pg.Pool,
    private readonly contexts: PostgresContexts,
  ) {}

  async getAnalogy(context: string, id: string): Promise<Analogy | undefined> {
    const ctx = await this.contexts.row(context);
    if (!ctx) return undefined;
    const { rows } = await this.pool.query<{ body: Analogy }>(`SELECT body FROM analogies WHERE ctx = $1 AND id = $2 AND current`, [ctx.ctx, id]);
    return rows[0]?.body;
  }

  private async clause(filter: AnalogyFilter): Promise<FilterClause> {
    const ctx = await this.contexts.requireRow(filter.context ?? DEFAULT_CONTEXT);
    return filterClause(ctx.ctx, filter);
  }

  /**
   * Served from the (ctx[, domain], quality, seq) indexes. With a domain, the source side and the
   * target side each take their own index and the best of both are merged, as one OR could not
   * be read in order from any index.
   */
  async queryAnalogies(filter: AnalogyFilter): Promise<Analogy[]> {
    const { where, baseWhere, params, domainParam, parsed } = await this.clause(filter);
    const limit = parsed.limit ?? DEFAULT_QUERY_LIMIT;
    const offset = parsed.offset ?? 0;
    const args = [...params, limit, offset];
    const [lim, off] = [`$${params.length + 1}`, `$${params.length + 2}`];
    let sql: string;
    if (domainParam === null) sql = `SELECT a.body FROM analogies a WHERE ${where} ${ORDER} LIMIT ${lim} OFFSET ${off}`;
    else {
      // Each side's first offset+limit hold the merged page; a record whose source and target
      // are both the domain comes from both sides once.
      const side = (column: string) => `(SELECT a.seq, a.quality, a.body FROM analogies a WHERE ${baseWhere} AND a.${column} = ${domainParam} ${ORDER} LIMIT ${lim}::bigint + ${off}::bigint)`;
      sql = `SELECT body FROM (SELECT DISTINCT ON (seq) seq, quality, body FROM (${side('source_domain')} UNION ALL ${side('target_domain')}) s ORDER BY seq) r ${ORDER} LIMIT ${lim} OFFSET ${off}`;
    }
    const { rows } = await this.pool.query<{ body: Analogy }>(sql, args);
    return rows.map((r) => r.body);
  }

  async countAnalogies(filter: AnalogyFilter): Promise<number> {
    const { where, baseWhere, params, domainParam } = await this.clause(filter);
    const sql =
      domainParam === null
        ? `SELECT count(*) AS n FROM analogies a WHERE ${where}`
        : `SELECT count(*) AS n FROM (SELECT a.seq FROM analogies a WHERE ${baseWhere} AND a.source_domain = ${domainParam}
                                      UNION SELECT a.seq FROM analogies a WHERE ${baseWhere} AND a.target_domain = ${domainParam}) s`;
    const { rows } = await this.pool.query<{ n: number }>(sql, params);
    return rows[0]?.n ?? 0;
  }

  /**
   * Every matching record as its stored JSON text (jsonb's rendering), in pages, from one
   * snapshot: a read-only REPEATABLE READ transaction with a cursor on a connection of its own,
   * so a slow consumer holds a snapshot, not locks.
   */
  async *streamAnalogyJson(filter: AnalogyFilter): AsyncIterable<string[]> {
    const { where, params, parsed } = await this.clause(filter);
    const limit = parsed.limit === undefined ? '' : ` LIMIT ${parsed.limit}`;
    const client = await this.pool.connect();
    let state: 'open' | 'done' | 'broken' = 'open';
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      await client.query(`DECLARE analogy_stream NO SCROLL CURSOR FOR SELECT a.body::text FROM analogies a WHERE ${where}${limit}`, params);
      while (true) {
        const { rows } = await client.query<string[]>({ text: `FETCH ${STREAM_PAGE} FROM analogy_stream`, rowMode: 'array' });
        if (rows.length > 0) yield rows.map((r) => r[0] as string);
        if (rows.length < STREAM_PAGE) break;
      }
      await client.query('COMMIT');
      state = 'done';
    } catch (err) {
      state = 'broken';
      throw err;
    } finally {
      // A consumer that stopped early leaves the transaction open: end it before the connection
      // goes back; a failed connection is not given back at all.
      if (state === 'open') await client.query('ROLLBACK').catch(() => (state = 'broken'));
      client.release(state === 'broken');
    }
  }

  async current<T = Record<string, unknown>>(context: string, kind: RecordKind, id: string): Promise<StoredVersion<T> | undefined> {
    const ctx = await this.contexts.row(context);
    if (!ctx) return undefined;
    const t = table(kind);
    const args = kind === 'analogy' ? [ctx.ctx, id] : [ctx.ctx, id, kind];
    const { rows } = await this.pool.query<VersionRow>(`SELECT ${VERSION_COLUMNS} FROM ${t.name} WHERE ${t.where} AND current`, args);
    return rows[0] && versionOfRow<T>(kind, rows[0]);
  }

  async history<T = Record<string, unknown>>(context: string, kind: RecordKind, id: string): Promise<T[]> {
    const ctx = await this.contexts.row(context);
    if (!ctx) return [];
    const t = table(kind);
    const args = kind === 'analogy' ? [ctx.ctx, id] : [ctx.ctx, id, kind];
    const { rows } = await this.pool.query<{ body: T }>(`SELECT body FROM ${t.name} WHERE ${t.where} ORDER BY seq`, args);
    return rows.map((r) => r.body);
  }
}
