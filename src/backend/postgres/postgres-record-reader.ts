import type pg from 'pg';
import { SoftlogicError } from '../../core/errors.js';
import type { Analogy, LogOp, RecordKind } from '../../core/records.js';
import type { AnalogyFilter } from '../../core/schemas.js';
import { DEFAULT_CONTEXT } from '../../core/names.js';
import type { EntityQuery, HistoryEntry, MatchedRecord, RecordReader } from '../record-reader.js';
import type { StoredVersion } from '../write-batch.js';
import type { PostgresContext, PostgresContexts } from './postgres-contexts.js';
import { filterClause, type FilterClause } from './postgres-filter.js';
import { seqRef, VERSION_COLUMNS, versionOfRow, type VersionRow } from './postgres-write-batch.js';
import { lostDuring } from './postgres-connection.js';
import { copyOutText, inlineParams } from './postgres-copy-out.js';
import { cursorPages } from './postgres-cursor.js';

export const DEFAULT_QUERY_LIMIT = 100;
/** Rows per FETCH of a stream: a million records cost a hundred round trips. */
export const STREAM_PAGE = 10_000;

// The query indexes' order: best quality first, ties newest first (the embedded log order).
const ORDER = 'ORDER BY quality DESC, seq DESC';

// Byte order (COLLATE "C"), as the embedded SQLite index sorts, whatever the database's collation.
const ENTITY_ORDER: Record<NonNullable<EntityQuery['order']>, string> = {
  written: 'seq',
  newest: 'seq DESC',
  name: 'name COLLATE "C", id COLLATE "C"',
  'shortest-id': 'length(id), id COLLATE "C"',
};

/** One record's rows: the table and the condition, with ($1 ctx, $2 id[, $3 kind]). */
function recordRows(kind: RecordKind): { table: string; where: string; args: (ctx: number, id: string) => unknown[] } {
  return kind === 'analogy'
    ? { table: 'analogies', where: 'ctx = $1 AND id = $2', args: (ctx, id) => [ctx, id] }
    : { table: 'entities', where: 'ctx = $1 AND id = $2 AND kind = $3', args: (ctx, id) => [ctx, id, kind] };
}

/**
 * How many query texts (filter criteria and page) are prepared by name: each costs a plan in the
 * memory of every connection that ran it, so a client paging through a million offsets must not
 * prepare a million statements. The first ones seen are kept: a service's queries are mostly a
 * few shapes of first pages.
 */
export const MAX_PREPARED_QUERIES = 256;

/** A page bound written into the SQL text: the filter schema's integer, checked again where it becomes SQL. */
function pageBound(value: number, what: string): number {
  if (!Number.isSafeInteger(value) || value < 0) throw new SoftlogicError('INVALID_INPUT', `${what} must be a non-negative integer, got ${value}`, { field: what });
  return value;
}

export class PostgresRecordReader implements RecordReader {
  /**
   * The query statements' names by text: each is prepared once per connection (then only bound
   * and executed), which halved a domain query's round trip on a loaded server. A text is one
   * combination of filter criteria with one page (limit, offset); at most MAX_PREPARED_QUERIES
   * are named, and the pages past them run as unnamed statements, planned each time.
   */
  private readonly statementNames = new Map<string, string>();

  constructor(
    private readonly pool: pg.Pool,
    private readonly contexts: PostgresContexts,
  ) {}

  async getAnalogy(context: string, id: string): Promise<Analogy | undefined> {
    return (await this.current<Analogy>(context, 'analogy', id))?.record();
  }

  async getEntity<T = Record<string, unknown>>(context: string, kind: RecordKind, id: string): Promise<T | undefined> {
    return (await this.current<T>(context, kind, id))?.record();
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
    const { rows } = await this.pool.query<{ body: Analogy }>(await this.querySql(filter, 'body'));
    return rows.map((r) => r.body);
  }

  /** The stored jsonb as text: the driver hands it over unparsed. */
  async queryAnalogyJson(filter: AnalogyFilter): Promise<string[]> {
    const { rows } = await this.pool.query<{ body: string }>(await this.querySql(filter, 'body::text AS body'));
    return rows.map((r) => r.body);
  }

  /** The query of queryAnalogies, selecting `column` (an expression of `body`). */
  private async querySql(filter: AnalogyFilter, column: string): Promise<pg.QueryConfig> {
    const { where, baseWhere, params, domainParam, parsed } = await this.clause(filter);
    // The page is written into the text, not bound: with LIMIT and OFFSET as parameters the
    // planner cannot cost a generic plan (it assumes an unknown limit reads a tenth of the
    // table), so PostgreSQL planned every execution afresh, which cost as much as running it.
    // With them known, the plan is made once per connection after the first few executions.
    const lim = pageBound(parsed.limit ?? DEFAULT_QUERY_LIMIT, 'limit');
    const off = pageBound(parsed.offset ?? 0, 'offset');
    const args = params;
    let sql: string;
    if (domainParam === null) sql = `SELECT a.${column} FROM analogies a WHERE ${where} ${ORDER} LIMIT ${lim} OFFSET ${off}`;
    else {
      // Each side's first offset+limit hold the merged page; a record whose source and target
      // are both the domain comes from both sides once.
      const side = (column: string) => `(SELECT a.seq, a.quality, a.body FROM analogies a WHERE ${baseWhere} AND a.${column} = ${domainParam} ${ORDER} LIMIT ${lim + off})`;
      sql = `SELECT ${column} FROM (SELECT DISTINCT ON (seq) seq, quality, body FROM (${side('source_domain')} UNION ALL ${side('target_domain')}) s ORDER BY seq) r ${ORDER} LIMIT ${lim} OFFSET ${off}`;
    }
    let name = this.statementNames.get(sql);
    if (name === undefined && this.statementNames.size < MAX_PREPARED_QUERIES) this.statementNames.set(sql, (name = `analogy_query_${this.statementNames.size + 1}`));
    return name === undefined ? { text: sql, values: args } : { name, text: sql, values: args };
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

  /** Every matching record as its stored JSON text (as the write batch gave it). */
  async *streamAnalogyJson(filter: AnalogyFilter): AsyncIterable<string[]> {
    const { where, params, parsed } = await this.clause(filter);
    const limit = parsed.limit === undefined ? '' : ` LIMIT ${parsed.limit}`;
    yield* this.textRows(`SELECT a.body::text FROM analogies a WHERE ${where} ORDER BY a.seq${limit}`, params);
  }

  async *matchAnalogies(filter: AnalogyFilter): AsyncIterable<MatchedRecord[]> {
    const { where, params, parsed } = await this.clause(filter);
    const limit = parsed.limit === undefined ? '' : ` LIMIT ${parsed.limit}`;
    for await (const rows of this.pages(`SELECT a.id, a.seq FROM analogies a WHERE ${where} ORDER BY a.seq${limit}`, params)) {
      yield rows.map((r) => ({ id: r[0] as string, ref: seqRef(r[1] as number) }));
    }
  }

  async *streamEntityJson(context: string, kind: RecordKind): AsyncIterable<string[]> {
    const ctx = await this.contexts.requireRow(context);
    yield* this.textRows(`SELECT body::text FROM entities WHERE ctx = $1 AND kind = $2 AND current AND deleted_at IS NULL ORDER BY seq`, [ctx.ctx, kind]);
  }

  /**
   * A query's one text column in pages, through COPY TO STDOUT (postgres-copy-out.ts) on a
   * connection of its own: one statement, one snapshot, the socket's backpressure holding the
   * server for a slow consumer. A consumer that stops early leaves the COPY unfinished, so that
   * connection is closed rather than given back. Sorting is ruled out: planned for its total cost,
   * a COPY of a large store would sort every row (on disk) before sending the first, where the
   * (ctx, seq) index gives them in order at once.
   */
  private async *textRows(sql: string, params: unknown[]): AsyncIterable<string[]> {
    const client = await this.pool.connect();
    let finished = false;
    try {
      await client.query('BEGIN READ ONLY');
      await client.query('SET LOCAL enable_sort = off');
      yield* copyOutText(client, inlineParams(sql, params));
      await client.query('COMMIT');
      finished = true;
    } catch (err) {
      throw lostDuring(this.pool, 'a stream', err);
    } finally {
      client.release(!finished);
    }
  }

  /**
   * A query's rows in pages, from one snapshot: a cursor in a read-only REPEATABLE READ
   * transaction on a connection of its own, so a slow consumer holds a snapshot, not locks.
   */
  private async *pages(sql: string, params: unknown[]): AsyncIterable<unknown[][]> {
    const client = await this.pool.connect();
    let state: 'open' | 'done' | 'broken' = 'open';
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      yield* cursorPages<unknown[]>(client, sql, params, { name: 'record_stream', pageSize: STREAM_PAGE, rowMode: 'array' });
      await client.query('COMMIT');
      state = 'done';
    } catch (err) {
      state = 'broken';
      throw lostDuring(this.pool, 'a stream', err);
    } finally {
      // A consumer that stopped early leaves the transaction open: end it before the connection
      // goes back; a failed connection is not given back at all.
      if (state === 'open') await client.query('ROLLBACK').catch(() => (state = 'broken'));
      client.release(state === 'broken');
    }
  }

  async queryEntities<T = Record<string, unknown>>(context: string, kind: RecordKind, query: EntityQuery = {}): Promise<T[]> {
    const ctx = await this.contexts.requireRow(context);
    if (query.textAnyOf !== undefined && query.textAnyOf.length === 0) return [];
    const params: unknown[] = [ctx.ctx, kind];
    const p = (value: unknown): string => {
      params.push(value);
      return `$${params.length}`;
    };
    const where = ['ctx = $1', 'kind = $2', 'current'];
    if (!query.includeDeleted) where.push('deleted_at IS NULL');
    if (query.name !== undefined) where.push(`name = ${p(query.name)}`);
    // search text and the strings are lower case: a plain substring test, no LIKE escaping
    if (query.textAnyOf !== undefined) where.push(`EXISTS (SELECT 1 FROM unnest(${p(query.textAnyOf)}::text[]) t WHERE strpos(search, t) > 0)`);
    const limit = query.limit === undefined ? '' : ` LIMIT ${p(query.limit)}`;
    const { rows } = await this.pool.query<{ body: T }>(`SELECT body FROM entities WHERE ${where.join(' AND ')} ORDER BY ${ENTITY_ORDER[query.order ?? 'written']}${limit}`, params);
    return rows.map((r) => r.body);
  }

  async current<T = Record<string, unknown>>(context: string, kind: RecordKind, id: string): Promise<StoredVersion<T> | undefined> {
    const ctx = await this.contexts.requireRow(context);
    const r = recordRows(kind);
    const { rows } = await this.pool.query<VersionRow>(`SELECT ${VERSION_COLUMNS} FROM ${r.table} WHERE ${r.where} AND current`, r.args(ctx.ctx, id));
    return rows[0] && versionOfRow<T>(kind, rows[0]);
  }

  async history<T = Record<string, unknown>>(context: string, kind: RecordKind, id: string): Promise<Array<HistoryEntry<T>> | undefined> {
    const ctx = await this.contexts.requireRow(context);
    const r = recordRows(kind);
    const { rows } = await this.pool.query<{ op: LogOp; seq: number; body: T }>(`SELECT op, seq, body FROM ${r.table} WHERE ${r.where} ORDER BY seq DESC`, r.args(ctx.ctx, id));
    return rows.length === 0 ? undefined : rows.map((row) => ({ op: row.op, record: row.body, ref: seqRef(row.seq) }));
  }

  async purgedAt(context: string, kind: RecordKind, id: string): Promise<string | undefined> {
    const ctx: PostgresContext = await this.contexts.requireRow(context);
    const { rows } = await this.pool.query<{ purged_at: string }>(`SELECT purged_at FROM purged WHERE ctx = $1 AND kind = $2 AND id = $3`, [ctx.ctx, kind, id]);
    return rows[0]?.purged_at;
  }

  /** Each context's commit counter (bumped by every batch that changed something), any replica. */
  async changeMark(contexts: readonly string[]): Promise<string> {
    const { rows } = await this.pool.query<{ name: string; ctx: number; mark: number }>(`SELECT name, ctx, mark FROM contexts WHERE name = ANY($1::text[])`, [contexts]);
    const byName = new Map(rows.map((r) => [r.name, `${r.ctx}:${r.mark}`]));
    return contexts.map((name) => byName.get(name) ?? '-').join(',');
  }
}
