import type { BulkLoad, PreparedAhead, PreparedChunkCommit, PreparedImport, PreparedRun } from '../capabilities.js';
import type { StagingWriter, StoredWorkflow } from '../workflow-table.js';
import type { EmbeddedStore } from './embedded-store.js';
import type { EmbeddedWorkflowTable } from './embedded-workflow-table.js';
import type { PreparedChunk, PreparedChunks } from './chunk-pipelines.js';
import { analogyChunks, existingContext } from './prepared-chunks.js';
import { StagedProgress, StagedSpanReader } from './embedded-staging.js';
import { beginBulkLoad, buildIdIndex, bulkLoadPlan, endBulkLoad } from './bulk-load.js';
import { FRESH_PUT_PREFIX } from '../../core/staged-put.js';

/** The page cache (KiB) of a bulk load whose rows all append: several chunks' pages (a 50,000-item chunk dirties ~8 MB). */
export const APPEND_LOAD_CACHE_KIB = 32 * 1024;

/** Sets the connection's page cache to `kib` if larger; returns what puts the old size back (once). */
function shrinkPageCache(store: EmbeddedStore, kib: number): () => void {
  const before = store.db.pragma('cache_size', { simple: true }) as number;
  const pageSize = store.db.pragma('page_size', { simple: true }) as number;
  const beforeKib = before < 0 ? -before : (before * pageSize) / 1024;
  if (beforeKib <= kib) return () => {};
  store.db.pragma(`cache_size = ${-kib}`);
  let restored = false;
  return () => {
    if (restored) return;
    restored = true;
    store.db.pragma(`cache_size = ${before}`);
  };
}

/** Chunks being encoded while the items are staged (stageAhead), for `run` to take. */
class AheadChunks implements PreparedAhead {
  constructor(readonly chunks: PreparedChunks) {}

  close(): Promise<void> {
    return this.chunks.close();
  }
}

/**
 * The embedded backend's prepared import: analogy_creation chunks whose log lines and index
 * columns are encoded on another thread (prepare-worker.ts) while the main thread commits the
 * chunk before, each appended by the log writer thread (EmbeddedStore.writePrepared); and bulk
 * loads that build the query indexes once at their end, over the store or over a tier of their
 * own (bulk-load.ts).
 */
export class EmbeddedPreparedImport implements PreparedImport {
  constructor(
    private readonly store: EmbeddedStore,
    private readonly table: EmbeddedWorkflowTable,
  ) {}

  stageAhead(workflowId: string, target: { context: string; batchSize: number }): { writer: StagingWriter; ahead: PreparedAhead } {
    const progress = new StagedProgress();
    const row = this.store.context(target.context);
    const chunks = analogyChunks({
      store: this.store,
      path: this.table.stagedPath(workflowId),
      from: 0,
      batchSize: target.batchSize,
      context: target.context,
      workflowId,
      seq: row?.applied_seq ?? 0,
      off: row?.applied_off ?? 0,
      growing: progress.shared,
    });
    return { writer: this.table.stage(workflowId, progress), ahead: new AheadChunks(chunks) };
  }

  run(workflow: StoredWorkflow, from: number, options: { batchSize: number; ahead: PreparedAhead | null }): PreparedRun | null {
    // A knowledge import's analogies new to the context are written the same way (see exportedPutPrefix).
    if (workflow.workflow_type !== 'analogy_creation' && workflow.workflow_type !== 'knowledge_import') return null;
    const context = this.store.context(workflow.context);
    if (!context) return null;
    const chunks =
      options.ahead instanceof AheadChunks
        ? options.ahead.chunks
        : analogyChunks({
            store: this.store,
            path: this.table.stagedPath(workflow.workflow_id),
            from,
            batchSize: options.batchSize,
            context: workflow.context,
            workflowId: workflow.workflow_id,
            seq: context.applied_seq,
            off: context.applied_off,
          });
    const commit = (prepared: PreparedChunk): boolean =>
      this.store.writePrepared(workflow.context, { ...prepared, progress: { workflowId: workflow.workflow_id, processedFrom: prepared.start, processedUpTo: prepared.start + prepared.count } }, (row) =>
        prepared.applyRows(this.store, row.ctx),
      );
    async function* commits(): AsyncGenerator<PreparedChunkCommit | null> {
      for await (const prepared of chunks) {
        if (prepared === null) {
          yield null;
          return;
        }
        yield { start: prepared.start, count: prepared.count, commit: () => commit(prepared) };
      }
    }
    return { [Symbol.asyncIterator]: commits, close: () => chunks.close() };
  }

  beginBulkLoad(workflow: StoredWorkflow, incoming: number, options: { interruptible: boolean }): BulkLoad | null {
    const ctx = this.store.context(workflow.context)?.ctx;
    const plan = bulkLoadPlan(this.store, incoming, { ctx, interruptible: options.interruptible });
    if (plan === null) return null;
    const idIndex = plan === 'rebuild' && this.idsGivenIntoEmpty(workflow);
    beginBulkLoad(this.store, workflow.workflow_id, { plan, ctx, idIndex });
    // Without the id index every row of the load appends to the table (keys follow the log's
    // seq): a page, once full, is not read again, and the page cache of 256 MB would only fill
    // with them (a fifth of a 5M import's RSS). Restored before indexes are built or items looked up.
    const restore = idIndex ? shrinkPageCache(this.store, APPEND_LOAD_CACHE_KIB) : () => {};
    return {
      end: () => {
        restore();
        endBulkLoad(this.store);
      },
      beforeItemByItem: (from) => {
        restore();
        buildIdIndex(this.store, from);
      },
    };
  }

  /**
   * Whether the import writes records that carry their own ids (its first staged item does) into
   * a context that holds no analogies: then the id index is left out of the load too.
   */
  private idsGivenIntoEmpty(workflow: StoredWorkflow): boolean {
    if (!this.store.context(workflow.context) || existingContext(this.store, workflow.context) !== null) return false;
    const reader = new StagedSpanReader(this.table.stagedPath(workflow.workflow_id), 0);
    try {
      const first = reader.next();
      return first !== null && !first.data.subarray(first.start, first.end).toString('latin1', 0, FRESH_PUT_PREFIX.length).startsWith(FRESH_PUT_PREFIX);
    } finally {
      reader.close();
    }
  }
}
