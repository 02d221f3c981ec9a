import type pg from 'pg';
import { FRESH_PUT_PREFIX, GIVEN_DATED_PUT_PREFIX, GIVEN_PUT_PREFIX } from '../../core/staged-put.js';
import type { BulkLoad, PreparedAhead, PreparedChunkCommit, PreparedImport, PreparedRun } from '../capabilities.js';
import type { StagingWriter, StoredWorkflow } from '../workflow-table.js';
import { inTransaction } from './postgres-connection.js';
import type { PostgresContexts } from './postgres-contexts.js';
import { claimProgress, commitProgress } from './postgres-workflow-progress.js';
import { compactedKey, QUERY_INDEXES } from './postgres-schema.js';
import { RowStagingWriter } from './postgres-staging.js';

/**
 * The PostgreSQL backend's prepared import: an analogy_creation chunk is applied by the server,
 * set-based, from its staged rows, without the items travelling back to this process and in
 * again. One transaction per chunk, as on the generic path: the workflow's row locked and its
 * position checked (claimProgress), then one statement that checks the chunk (every item a put
 * of a new record: minted ids, or given ids that no current record has and that the chunk does
 * not repeat), one that inserts its versions (each a change-log row, seq in item order) with the
 * workflow's journal row, the context's mark, the progress; COMMIT.
 *
 * Items were validated when staged (the generic path does not validate them again either). The
 * staged text is parsed once, by the server (`::json`, what a COPY of the record would
 * cost): the index array gives the columns, `record` the body, or for a verbatim put the input's
 * members between the same head and tail as decodeFreshPut's.
 *
 * A chunk that holds anything else (a new version of an existing record, a delete, an id twice)
 * is not written: its commit answers false and the rest of the workflow goes the generic way.
 */

const PREFIXES = [FRESH_PUT_PREFIX, GIVEN_PUT_PREFIX, GIVEN_DATED_PUT_PREFIX];
const PREFIX_LENGTH = FRESH_PUT_PREFIX.length;
if (PREFIXES.some((p) => p.length !== PREFIX_LENGTH)) throw new Error('staged put prefixes differ in length');

/** A chunk's staged rows ($1 workflow, $2 first item, $3 end): the shared FROM of both statements. */
const CHUNK_ROWS = 'FROM staged_items WHERE workflow_id = $1 AND item >= $2 AND item < $3';

/** created_at of a verbatim put: the staging time of its index array, as isoTime writes it. */
const ISO_TIME = `to_char(timestamp 'epoch' + (x->>5)::bigint * interval '1 millisecond', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/**
 * A text[] from the JSON text of an array of strings (tags, frame names). Without escapes other
 * than \" and \\ (which an array literal reads the same way) the text becomes the literal
 * by its brackets; otherwise each element is decoded by jsonb. NULL (none) is '{}'.
 */
const textArray = (json: string) =>
  `CASE WHEN ${json} IS NULL THEN '{}'::text[] WHEN ${json} !~ '\\\\[^"\\\\]' THEN ('{' || substr(${json}, 2, length(${json}) - 2) || '}')::text[]
        ELSE ARRAY(SELECT jsonb_array_elements_text(${json}::jsonb)) END`;

/**
 * The record's JSON text, cut from the staged text as decodeFreshPut cuts it (`e`: where the
 * index array's `]` is). `whole`: `],"record":{...}}`, the record up to the last `}`; otherwise a
 * verbatim put, `],"input":{...}}`, whose input object (`cut`, JSON whitespace trimmed) gives its
 * members between verbatimHead's and verbatimTail's text. This text is checked as json and kept
 * as written (schema 2: the body is json, its keys in the order given), as a COPY of it would be.
 */
const CUT = `substr(json, e + 3, 6) = 'record' AS whole,
  CASE WHEN substr(json, e + 3, 6) = 'record' THEN substr(json, e + 11, length(json) - e - 11)
       ELSE btrim(substr(json, e + 10, length(json) - e - 10), E' \\t\\n\\r') END AS cut,
  CASE WHEN substr(json, e + 3, 6) = 'record' THEN NULL ELSE ${ISO_TIME} END AS iso`;
const RECORD_TEXT = `CASE WHEN whole THEN cut
  ELSE '{"id":"' || (x->>0) || '","context":' || to_json($5::text)::text || ',' || substr(cut, 2, length(cut) - 2)
       || ',"workflow_id":' || to_json(coalesce(x->>6, ''))::text || ',"created_at":"' || iso || '","updated_at":"' || iso
       || '","version":1,"deleted_at":null}' END`;

/**
 * How many of the chunk's given ids a current record has ($4 ctx, $5 the put prefixes, $6 the
 * fresh one's). Needed only where a compaction ran: elsewhere every record keeps its version 1,
 * whose key the chunk's insert then breaks.
 */
export const EXISTING_IDS = `
SELECT count(*)::integer AS existing
FROM (SELECT (substr(json, ${PREFIX_LENGTH + 1}, strpos(json, '],"') - ${PREFIX_LENGTH}))::jsonb ->> 0 AS id
      ${CHUNK_ROWS} AND left(json, ${PREFIX_LENGTH}) = ANY($5::text[]) AND left(json, ${PREFIX_LENGTH}) <> $6) s
WHERE EXISTS (SELECT 1 FROM analogies a WHERE a.ctx = $4 AND a.id = s.id AND a.current)`;

/**
 * The chunk's versions, seqs drawn in item order (an index scan of the staged rows: no sort),
 * and its journal row, in one pass over the staged rows (there is no separate check): only puts
 * of the index form are inserted (the index array parsed once, decodeFreshPut's way: the first
 * `],"` ends it), so a chunk with anything else inserts fewer rows than it has items; an id twice
 * in the chunk, or the id of a record (whose version 1 exists), breaks the primary key. Either
 * way the caller rolls the chunk back. `OFFSET 0` keeps each subquery a subquery: flattened,
 * every use of `x`, `cut` and `body` would compute it again. $4 ctx, $5 context name, $6 the
 * put prefixes. Columns as commitChanges computes them from a record (postgres-write-batch.ts).
 */
export const INSERT_CHUNK = `
WITH ins AS (
  INSERT INTO analogies(ctx, id, version, seq, op, prev, current, source_domain, target_domain, quality, created_ms, deleted_at, workflow_id, tags, frames, body)
  SELECT $4, x->>0, (x->>1)::integer, nextval('change_seq'), 'put', NULL, true, x->>2, x->>3, (x->>4)::double precision, (x->>5)::bigint,
         body->>'deleted_at', x->>6,
         ${textArray('(x->>7)')}, ${textArray('(x->>8)')}, body
  FROM (SELECT item, x, (${RECORD_TEXT})::json AS body
        FROM (SELECT item, x, ${CUT}
              FROM (SELECT item, json, e, (substr(json, ${PREFIX_LENGTH + 1}, e - ${PREFIX_LENGTH}))::jsonb AS x
              FROM (SELECT item, json, strpos(json, '],"') AS e ${CHUNK_ROWS} AND left(json, ${PREFIX_LENGTH}) = ANY($6::text[]) ORDER BY item) r OFFSET 0) i OFFSET 0) q OFFSET 0) t
  RETURNING id, seq
)
INSERT INTO workflow_changes(workflow_id, ctx, kind, ids, seqs)
SELECT $1, $4, 'analogy', array_agg(id ORDER BY seq), array_agg(seq ORDER BY seq) FROM ins
RETURNING cardinality(ids) AS n`;

/** work_mem of a chunk's statement: its RETURNING rows and journal arrays fit (4MB, the default, spills them). */
const CHUNK_WORK_MEM = '64MB';

/** Whether a compaction ran in the context (it drops old versions, version 1 among them). */
async function compacted(client: pg.ClientBase, ctx: number): Promise<boolean> {
  return (await client.query('SELECT 1 FROM meta WHERE key = $1', [compactedKey(ctx)])).rows.length > 0;
}

/** A chunk the server path does not apply: nothing written, the rest goes the generic way. */
class NotThisWay extends Error {}

/** Below this many incoming rows a bulk load is not worth dropping the indexes for. */
export const BULK_LOAD_MIN_ROWS = 100_000;

export class PostgresPreparedImport implements PreparedImport {
  constructor(
    private readonly pool: pg.Pool,
    private readonly contexts: PostgresContexts,
  ) {}

  /** Staging as the workflow table does it; nothing is prepared ahead (the server does the work at commit). */
  stageAhead(workflowId: string): { writer: StagingWriter; ahead: PreparedAhead } {
    return { writer: new RowStagingWriter(this.pool, workflowId), ahead: { close: () => Promise.resolve() } };
  }

  run(workflow: StoredWorkflow, from: number, options: { batchSize: number }): PreparedRun | null {
    if (workflow.workflow_type !== 'analogy_creation') return null;
    const total = workflow.items_total;
    const commitChunk = (start: number, count: number) => this.commitChunk(workflow, start, count);
    async function* commits(): AsyncGenerator<PreparedChunkCommit | null> {
      for (let start = from; start < total; start += options.batchSize) {
        const count = Math.min(options.batchSize, total - start);
        yield { start, count, commit: () => commitChunk(start, count) };
      }
    }
    return { [Symbol.asyncIterator]: commits, close: () => Promise.resolve() };
  }

  private async commitChunk(workflow: StoredWorkflow, start: number, count: number): Promise<boolean> {
    const workflowId = workflow.workflow_id;
    const end = start + count;
    try {
      await inTransaction(this.pool, async (client) => {
        const progress = { workflowId, processedFrom: start, processedUpTo: end };
        await claimProgress(client, progress);
        const ctx = await this.contexts.ensureRow(workflow.context, {}, client);
        if (await compacted(client, ctx.ctx)) {
          const { rows } = await client.query<{ existing: number }>(EXISTING_IDS, [workflowId, start, end, ctx.ctx, PREFIXES, FRESH_PUT_PREFIX]);
          if ((rows[0]?.existing ?? 0) > 0) throw new NotThisWay();
        }
        // The staged rows in item order straight from their primary key: the planner, without
        // statistics for rows staged a moment ago, would otherwise sort them (on disk); the
        // statement's returned rows and journal arrays (50,000 rows) in memory, not temp files.
        await client.query(`SET LOCAL enable_bitmapscan = off; SET LOCAL enable_sort = off; SET LOCAL work_mem = '${CHUNK_WORK_MEM}'`);
        const { rows } = await client.query<{ n: number | null }>(INSERT_CHUNK, [workflowId, start, end, ctx.ctx, ctx.name, PREFIXES]);
        // Fewer rows than items: some were not puts of the index form.
        if (rows[0]?.n !== count) throw new NotThisWay();
        await client.query('UPDATE contexts SET mark = mark + 1 WHERE ctx = $1', [ctx.ctx]);
        await commitProgress(client, progress);
      });
      return true;
    } catch (err) {
      // A context this chunk created was rolled back with it.
      this.contexts.reset();
      if (err instanceof NotThisWay) return false;
      // A key twice: an id the chunk repeats, or a record that exists (maybe written by another
      // writer a moment ago): the generic path makes it a new version.
      if ((err as { code?: string }).code === '23505') return false;
      throw err;
    }
  }

  /**
   * A large load into a store not much larger than itself: the three query indexes are dropped
   * (queries meanwhile scan) and built once at its end, from sorted keys, which costs less than
   * maintaining them row by row. Whoever ends a load builds whatever is missing, so a replica
   * that died mid-load leaves its indexes to the next import (or resume) to build.
   */
  async beginBulkLoad(_workflow: StoredWorkflow, incoming: number): Promise<BulkLoad | null> {
    const missing = await this.missingIndexes();
    const build: BulkLoad = { end: () => this.buildIndexes() };
    if (incoming < BULK_LOAD_MIN_ROWS) return missing ? build : null;
    const { rows } = await this.pool.query<{ n: number }>(`SELECT CASE WHEN reltuples >= 0 THEN reltuples::bigint ELSE (SELECT count(*) FROM analogies) END AS n FROM pg_class WHERE oid = 'analogies'::regclass`);
    if ((rows[0]?.n ?? 0) > 2 * incoming) return missing ? build : null;
    try {
      // A query or stream running on the table holds a lock the drop must wait for: not long.
      await inTransaction(this.pool, async (client) => {
        await client.query(`SET LOCAL lock_timeout = '5s'`);
        await client.query(`DROP INDEX IF EXISTS ${QUERY_INDEXES.map((i) => i.name).join(', ')}`);
      });
    } catch (err) {
      if ((err as { code?: string }).code !== '55P03') throw err;
    }
    return build;
  }

  private async missingIndexes(): Promise<boolean> {
    const { rows } = await this.pool.query<{ n: number }>(`SELECT count(*)::integer AS n FROM unnest($1::text[]) AS i(name) WHERE to_regclass(i.name) IS NULL`, [QUERY_INDEXES.map((i) => i.name)]);
    return (rows[0]?.n ?? 0) > 0;
  }

  /** The missing query indexes, then fresh statistics (a large load leaves the planner's stale until autovacuum comes by). */
  private async buildIndexes(): Promise<void> {
    await inTransaction(this.pool, async (client) => {
      await client.query(`SET LOCAL maintenance_work_mem = '256MB'`);
      for (const index of QUERY_INDEXES) await client.query(index.sql.replace('CREATE INDEX', 'CREATE INDEX IF NOT EXISTS'));
    });
    await this.pool.query('ANALYZE analogies');
  }
}
