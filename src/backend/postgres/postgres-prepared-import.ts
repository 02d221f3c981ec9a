import type pg from 'pg';
import type { BulkLoad, PreparedAhead, PreparedChunkCommit, PreparedImport, PreparedRun, PreparedRunOptions } from '../capabilities.js';
import type { StagingWriter, StoredWorkflow } from '../workflow-table.js';
import { inTransaction, StorePool } from './postgres-connection.js';
import type { PostgresContexts } from './postgres-contexts.js';
import { claimProgress, commitProgress } from './postgres-workflow-progress.js';
import { compactedKey, QUERY_INDEXES } from './postgres-schema.js';
import { PageStagingWriter } from './postgres-staging.js';
import { encodeChunkRows, insertChunkRows, readChunkItems, type ChunkRows } from './postgres-chunk-rows.js';

/**
 * The PostgreSQL backend's prepared import: an analogy_creation chunk is read back from its staged
 * rows, encoded here as the version rows it inserts (postgres-chunk-rows.ts: the next chunk while
 * the server writes this one) and written by one COPY. One transaction per chunk, as on the
 * generic path: the workflow's row locked and its position checked (claimProgress), the seqs, the
 * versions (each a change-log row, seq in item order), the workflow's journal row, the context's
 * mark, the progress; COMMIT. Unless paced (the service), the next chunk is written on a second
 * connection while one commits (two COPYs on two cores), and committed, in its own transaction,
 * only when its turn comes (commitChunk): chunks still commit one after the other, in order.
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

/** A chunk the server path does not apply: nothing written, the rest goes the generic way. */
class NotThisWay extends Error {}

/** A chunk written ahead whose turn never came (the run stopped): rolled back. */
class Dropped extends Error {}

/** A chunk written ahead whose seqs came before the final ones of the chunk before it: rolled back, written again in turn. */
class OutOfTurn extends Error {}

class Deferred<T> {
  resolve!: (value: T) => void;
  readonly promise = new Promise<T>((resolve) => (this.resolve = resolve));
}

/** What a chunk's transaction tells the chunk written after it: its seqs drawn (true; false: it failed), the last of them, its context. */
class ChunkTurn {
  readonly drawn = new Deferred<boolean>();
  last = 0;
  ctx = 0;

  draw(_first: number, last: number): void {
    this.last = last;
    this.drawn.resolve(true);
  }

  failed(): void {
    this.drawn.resolve(false);
  }
}

/** Below this many incoming rows a bulk load is not worth dropping the indexes for. */
export const BULK_LOAD_MIN_ROWS = 100_000;

/** The chunk after the one being committed. */
interface Following {
  start: number;
  count: number;
  rows: Promise<ChunkRows | null>;
}

/** A chunk written on its own connection while the one before it commits; committed when its turn comes (commit()). */
class AheadChunk {
  readonly start: number;
  readonly turn = new ChunkTurn();
  private readonly go = new Deferred<boolean>();
  private readonly result: Promise<boolean | 'again'>;

  constructor(importer: PostgresPreparedImport, workflow: StoredWorkflow, chunk: Following, before: ChunkTurn, ctx: number) {
    this.start = chunk.start;
    // No connection taken before the chunk before drew its seqs.
    const ready = Promise.all([chunk.rows, Promise.race([before.drawn.promise, this.go.promise])]);
    this.result = ready.then(([rows, go]) =>
      rows === null || !go ? false : importer.commitChunk(workflow, chunk.start, chunk.count, rows, { turn: this.turn, ahead: { ctx, before, go: this.go.promise } }),
    );
    this.result.catch(() => undefined);
  }

  commit(): Promise<boolean | 'again'> {
    this.go.resolve(true);
    return this.result;
  }

  /** Rolls it back: its turn never came. */
  async drop(): Promise<void> {
    this.go.resolve(false);
    await this.result.catch(() => undefined);
  }
}

export class PostgresPreparedImport implements PreparedImport {
  constructor(
    private readonly pool: pg.Pool,
    private readonly contexts: PostgresContexts,
  ) {}

  /** Staging as the workflow table does it; nothing is prepared ahead (the server does the work at commit). */
  stageAhead(workflowId: string): { writer: StagingWriter; ahead: PreparedAhead } {
    return { writer: new PageStagingWriter(this.pool, workflowId), ahead: { close: () => Promise.resolve() } };
  }

  run(workflow: StoredWorkflow, from: number, options: PreparedRunOptions): PreparedRun | null {
    if (workflow.workflow_type !== 'analogy_creation') return null;
    const total = workflow.items_total;
    const prepare = (start: number, count: number): Promise<ChunkRows | null> => {
      const read = readChunkItems(this.pool, workflow.workflow_id, start, start + count).then((items) => (items.length === count ? encodeChunkRows(items, workflow.context) : null));
      // Read ahead; a rejection is seen when the chunk is committed (or never, once the run stops).
      read.catch(() => undefined);
      return read;
    };
    // Two connections at once: not on a pool too small to leave the caller one meanwhile.
    const overlap = options.overlap === true && (!(this.pool instanceof StorePool) || this.pool.settings.max >= 3);
    // The context's number, once a chunk of this run committed: a chunk written ahead needs it.
    let ctx: number | null = null;
    let closed = false;
    // The chunk being written ahead of the one committing, if any.
    let ahead: AheadChunk | null = null;
    const inTurn = async (start: number, count: number, rows: Promise<ChunkRows | null>, turn: ChunkTurn): Promise<boolean> => {
      const chunk = await rows;
      return chunk !== null && (await this.commitChunk(workflow, start, count, chunk, { turn })) === true;
    };
    const commitChunk = async (start: number, count: number, rows: Promise<ChunkRows | null>, following: Following | null): Promise<boolean> => {
      const mine = ahead !== null && ahead.start === start ? ahead : null;
      if (ahead !== null && !mine) await ahead.drop();
      ahead = null;
      const turn = mine ? mine.turn : new ChunkTurn();
      // The next chunk is written on a second connection while this one commits (see commitChunk).
      if (overlap && !closed && following !== null && ctx !== null) ahead = new AheadChunk(this, workflow, following, turn, ctx);
      const answer = mine ? await mine.commit() : await inTurn(start, count, rows, turn);
      // Its seqs came before the final ones of the chunk before it (which ran twice): written again, in turn.
      const committed = answer === 'again' ? await inTurn(start, count, rows, turn) : answer;
      if (committed) ctx = turn.ctx;
      else turn.failed();
      return committed;
    };
    // Chunks read and encoded ahead: the next one while this one commits; with overlap, also the
    // one after it, so that the next is ready to be written when this one's commit begins.
    const depth = overlap ? 2 : 1;
    async function* commits(): AsyncGenerator<PreparedChunkCommit | null> {
      const queued: Following[] = [];
      let planned = from;
      const plan = () => {
        while (queued.length <= depth && planned < total) {
          const count = Math.min(options.batchSize, total - planned);
          queued.push({ start: planned, count, rows: prepare(planned, count) });
          planned += count;
        }
      };
      plan();
      for (let chunk = queued.shift(); chunk !== undefined; chunk = queued.shift()) {
        plan();
        const { start, count, rows } = chunk;
        const following = queued[0] ?? null;
        yield { start, count, commit: () => commitChunk(start, count, rows, following) };
      }
    }
    const close = async () => {
      closed = true;
      const left = ahead;
      ahead = null;
      await left?.drop();
    };
    return { [Symbol.asyncIterator]: commits, close };
  }

  /**
   * One chunk's transaction. In turn (no `ahead`): the workflow's row claimed first, the context
   * found or created, the rows, the mark and the progress. Written ahead (`ahead`): the chunk
   * before it is committing on another connection; this one draws its seqs once that one drew
   * its own (so seqs stay in item order), writes its rows and journal, then waits for its turn
   * (`go`: the chunk before committed and the caller went on) and only then claims the workflow's
   * row and writes the mark and progress, so both transactions hold no lock the other waits for.
   * Should the chunk before have drawn its seqs again (a retry after a lost connection), this one
   * answers 'again' with nothing written, to be written in turn. A repeat of the transaction
   * after a lost connection waits for its turn before it draws seqs.
   */
  async commitChunk(
    workflow: StoredWorkflow,
    start: number,
    count: number,
    chunk: ChunkRows,
    order: { turn: ChunkTurn; ahead?: { ctx: number; before: ChunkTurn; go: Promise<boolean> } },
  ): Promise<boolean | 'again'> {
    const workflowId = workflow.workflow_id;
    const end = start + count;
    const { turn, ahead } = order;
    let attempts = 0;
    try {
      await inTransaction(this.pool, async (client) => {
        attempts += 1;
        const progress = { workflowId, processedFrom: start, processedUpTo: end };
        let ctx: number;
        if (ahead) {
          // A repeat waits for its turn: the chunk before has its final seqs then.
          if (attempts > 1 && !(await ahead.go)) throw new Dropped();
          ctx = ahead.ctx;
        } else {
          await claimProgress(client, progress);
          ctx = (await this.contexts.ensureRow(workflow.context, {}, client)).ctx;
        }
        turn.ctx = ctx;
        if (await compacted(client, ctx)) {
          const { rows } = await client.query<{ existing: number }>(EXISTING_IDS, [ctx, chunk.ids]);
          if ((rows[0]?.existing ?? 0) > 0) throw new NotThisWay();
        }
        const seqs = await insertChunkRows(client, ctx, workflowId, chunk, (first, last) => turn.draw(first, last));
        if (ahead) {
          if (!(await ahead.go)) throw new Dropped();
          if (ahead.before.last >= seqs.first) throw new OutOfTurn();
          await claimProgress(client, progress);
        }
        await client.query('UPDATE contexts SET mark = mark + 1 WHERE ctx = $1', [ctx]);
        await commitProgress(client, progress);
      });
      return true;
    } catch (err) {
      // A context this chunk created was rolled back with it.
      this.contexts.reset();
      if (err instanceof NotThisWay || err instanceof Dropped) return false;
      if (err instanceof OutOfTurn) return 'again';
      // A key twice: an id the chunk repeats, or a record that exists (maybe written by another
      // writer a moment ago): the generic path makes it a new version. A deadlock with another
      // writer likewise (two chunks written side by side insert in id order: they cannot deadlock).
      const code = (err as { code?: string }).code;
      if (code === '23505' || code === '40P01') return false;
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
