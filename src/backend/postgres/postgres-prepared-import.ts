import type pg from 'pg';
import type { BulkLoad, PreparedAhead, PreparedChunkCommit, PreparedImport, PreparedRun } from '../capabilities.js';
import type { StagingWriter, StoredWorkflow } from '../workflow-table.js';
import { bulkLoadMinRows } from '../../core/bulk-load-threshold.js';
import { inTransaction } from './postgres-connection.js';
import type { PostgresContexts } from './postgres-contexts.js';
import { claimProgress, commitProgress } from './postgres-workflow-progress.js';
import { compactedKey, QUERY_INDEXES } from './postgres-schema.js';
import { PageStagingWriter, readStagedPageBytes } from './postgres-staging.js';
import { insertChunkRows, type ChunkRows } from './postgres-chunk-rows.js';
import { ChunkEncoder } from './postgres-chunk-encoder.js';

/**
 * The PostgreSQL backend's prepared import: an analogy_creation chunk is read back from its staged
 * pages (as bytes), encoded as the version rows it inserts on a thread of its own
 * (postgres-chunk-encoder.ts: the next chunk while the server writes this one) and written by one
 * COPY. One transaction per chunk, as on the
 * generic path: the workflow's row locked and its position checked (claimProgress), the seqs, the
 * versions (each a change-log row, seq in item order), the workflow's journal row, the context's
 * mark, the progress; COMMIT.
 *
 * Items were validated when staged (the generic path does not validate them again either): the
 * index array gives the columns, `record` the body, or for a verbatim put the input's members
 * between the same head and tail (decodeFreshPut). There is no separate check that every item is
 * a new record: only puts of the index form are encoded, and an id twice in the chunk, or the id
 * of an existing record (whose version 1 exists), breaks the primary key (ctx, id, version). A
 * chunk that holds anything else (a new version of an existing record, a delete, an id twice) is
 * not written: its commit answers false and the rest of the workflow goes the generic way.
 */

/**
 * How many of the chunk's ids ($2) a current record of the context ($1) has. Needed only where a
 * compaction ran: elsewhere every record keeps its version 1, whose key the chunk's COPY breaks.
 */
const EXISTING_IDS = 'SELECT count(*)::integer AS existing FROM analogies WHERE ctx = $1 AND current AND id = ANY($2::text[])';

/** Whether a compaction ran in the context (it drops old versions, version 1 among them). */
async function compacted(client: pg.ClientBase, ctx: number): Promise<boolean> {
  return (await client.query('SELECT 1 FROM meta WHERE key = $1', [compactedKey(ctx)])).rows.length > 0;
}

/** Items committed by prepared chunks in this process (tests check that the prepared way took them). */
export const preparedItems = { count: 0 };

/** A chunk the server path does not apply: nothing written, the rest goes the generic way. */
class NotThisWay extends Error {}

export class PostgresPreparedImport implements PreparedImport {
  constructor(
    private readonly pool: pg.Pool,
    private readonly contexts: PostgresContexts,
  ) {}

  /** Staging as the workflow table does it; nothing is prepared ahead (the server does the work at commit). */
  stageAhead(workflowId: string): { writer: StagingWriter; ahead: PreparedAhead } {
    return { writer: new PageStagingWriter(this.pool, workflowId), ahead: { close: () => Promise.resolve() } };
  }

  run(workflow: StoredWorkflow, from: number, options: { batchSize: number }): PreparedRun | null {
    if (workflow.workflow_type !== 'analogy_creation') return null;
    const total = workflow.items_total;
    const encoder = new ChunkEncoder();
    // Chunks are read one after the other (the first one alone, as soon as possible), each
    // encoded on the encoder's thread as soon as it is in.
    let reading: Promise<unknown> = Promise.resolve();
    const prepare = (start: number, count: number): Promise<ChunkRows | null> => {
      const pages = reading.then(() => readStagedPageBytes(this.pool, workflow.workflow_id, start, start + count));
      reading = pages.catch(() => undefined);
      const read = pages.then((bytes) => encoder.encode(bytes, start, start + count, workflow.context));
      // Read ahead; a rejection is seen when the chunk is committed (or never, once the run stops).
      read.catch(() => undefined);
      return read;
    };
    const commitChunk = async (start: number, count: number, rows: Promise<ChunkRows | null>) => {
      const chunk = await rows;
      return chunk !== null && this.commitChunk(workflow, start, count, chunk);
    };
    async function* commits(): AsyncGenerator<PreparedChunkCommit | null> {
      // The encoder's thread starts while the first chunk is read.
      if (from < total) encoder.start();
      // The next two chunks are read and encoded while one commits: a chunk whose encoding took
      // longer (its thread shares the cores with the server) does not hold up the COPYs.
      const queued: Array<{ start: number; count: number; rows: Promise<ChunkRows | null> }> = [];
      let planned = from;
      for (;;) {
        while (queued.length < 3 && planned < total) {
          const count = Math.min(options.batchSize, total - planned);
          queued.push({ start: planned, count, rows: prepare(planned, count) });
          planned += count;
        }
        const chunk = queued.shift();
        if (chunk === undefined) return;
        const { start, count, rows } = chunk;
        yield { start, count, commit: () => commitChunk(start, count, rows) };
      }
    }
    return { [Symbol.asyncIterator]: commits, close: () => encoder.close() };
  }

  private async commitChunk(workflow: StoredWorkflow, start: number, count: number, chunk: ChunkRows): Promise<boolean> {
    const workflowId = workflow.workflow_id;
    const end = start + count;
    try {
      await inTransaction(this.pool, async (client) => {
        const progress = { workflowId, processedFrom: start, processedUpTo: end };
        await claimProgress(client, progress);
        const ctx = await this.contexts.ensureRow(workflow.context, {}, client);
        if (await compacted(client, ctx.ctx)) {
          const { rows } = await client.query<{ existing: number }>(EXISTING_IDS, [ctx.ctx, chunk.ids]);
          if ((rows[0]?.existing ?? 0) > 0) throw new NotThisWay();
        }
        await insertChunkRows(client, ctx.ctx, workflowId, chunk);
        await client.query('UPDATE contexts SET mark = mark + 1 WHERE ctx = $1', [ctx.ctx]);
        await commitProgress(client, progress);
      });
      preparedItems.count += count;
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
    if (incoming < bulkLoadMinRows()) return missing ? build : null;
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

  /**
   * The missing query indexes, each on a connection of its own at the same time (builds share
   * the table's lock; measured on 1M analogies, three rounds at load 6-8: 3.8-4.0 s against
   * 5.6-6.6 s one after the other), then fresh statistics (a large load leaves the planner's
   * stale until autovacuum comes by). One that fails leaves the others built; whoever ends the
   * next load builds what is missing.
   */
  private async buildIndexes(): Promise<void> {
    const builds = QUERY_INDEXES.map((index) =>
      inTransaction(this.pool, async (client) => {
        await client.query(`SET LOCAL maintenance_work_mem = '256MB'`);
        await client.query(index.sql.replace('CREATE INDEX', 'CREATE INDEX IF NOT EXISTS'));
      }),
    );
    // Every build settles before the first failure is thrown (none left running behind the caller).
    const failed = (await Promise.allSettled(builds)).find((b): b is PromiseRejectedResult => b.status === 'rejected');
    if (failed) throw failed.reason;
    await this.pool.query('ANALYZE analogies');
  }
}
