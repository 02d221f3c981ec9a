import { Worker } from 'node:worker_threads';
import { chunkBuffers } from '../../core/buffer-pool.js';
import { idHash } from '../../core/id-hash.js';
import { SoftlogicError, type ErrorCode } from '../../core/errors.js';
import { CONTEXT_ROWS, contextKeyRange, qualityBucket, rowKey } from './sqlite-schema.js';
import type { PipelineArgs, PreparedChunk, PreparedChunks } from './chunk-pipelines.js';
import type { PrepareWorkerData, PreparedMessage } from './prepare-worker.js';
import type { ExistingContext } from './id-directory.js';
import type { EmbeddedStore } from './embedded-store.js';
import { tiersOf } from './analogy-tiers.js';

/** Chunks prepared ahead of the one being committed (memory: about two chunks of log lines). */
const AHEAD = 2;

/** Items committed through prepared chunks in this process (tests check the pipeline took them). */
export const preparedItems = { count: 0 };

type ChunkMessage = Extract<PreparedMessage, { type: 'chunk' }>;

function preparedChunk(msg: ChunkMessage): PreparedChunk {
  return {
    start: msg.start,
    count: msg.count,
    baseSeq: msg.baseSeq,
    baseOff: msg.baseOff,
    data: Buffer.from(msg.data.buffer, msg.data.byteOffset, msg.data.byteLength),
    applyRows: (store, ctx) => {
      const index = store.analogies;
      // Each distinct text is looked up once: domains and workflows to their keys.
      const domainKeys: Array<number | undefined> = [];
      const workflowKeys: Array<number | undefined> = [];
      const domain = (t: number) => (domainKeys[t] ??= index.domainKey(msg.texts[t]));
      const workflow = (t: number) => (t < 0 ? null : (workflowKeys[t] ??= index.workflowKey(msg.texts[t])));
      const offs = new Float64Array(msg.count);
      for (let i = 0, off = msg.baseOff; i < msg.count; i++) {
        offs[i] = off;
        off += msg.lens[i];
      }
      const text = (i: number) => (i < 0 ? null : msg.texts[i]);
      const idBytes = Buffer.from(msg.idBytes.buffer, msg.idBytes.byteOffset, msg.idBytes.byteLength);
      // New versions of existing records: their current rows go first (in key order), and an
      // item whose next version is in the same chunk gets no row at all.
      const replaced: number[] = [];
      const kept: number[] = [];
      for (let i = 0; i < msg.count; i++) {
        if (msg.skip[i]) continue;
        kept.push(i);
        const r = msg.replaces[i];
        if (r !== 0) replaced.push(r > 0 ? r : rowKey(ctx, -r));
      }
      if (replaced.length > 0) index.deleteKeys(replaced.sort((a, b) => a - b));
      preparedItems.count += msg.count;
      index.insertMany(kept.length, (k, out, at) => {
        const i = kept[k];
        const quality = msg.qualities[i];
        const id = idBytes.toString('utf8', i === 0 ? 0 : msg.idEnds[i - 1], msg.idEnds[i]);
        out[at] = rowKey(ctx, msg.baseSeq + i + 1);
        out[at + 1] = ctx;
        out[at + 2] = idHash(id);
        out[at + 3] = id;
        out[at + 4] = offs[i];
        out[at + 5] = msg.lens[i];
        out[at + 6] = msg.versions[i];
        out[at + 7] = domain(msg.sources[i]);
        out[at + 8] = domain(msg.targets[i]);
        out[at + 9] = quality;
        out[at + 10] = qualityBucket(quality);
        out[at + 11] = msg.created[i];
        out[at + 12] = null;
        out[at + 13] = workflow(msg.workflows[i]);
        out[at + 14] = text(msg.tags[i]);
        out[at + 15] = text(msg.frames[i]);
      }, listedLoadTier(store, ctx));
    },
  };
}

/**
 * The tier of a tiered bulk load into this context, if it is still listed (in this transaction:
 * a merge by another process may have ended it; its rows then go to no tier, as any other).
 */
function listedLoadTier(store: EmbeddedStore, ctx: number): number | null {
  const tier = store.analogies.loadTier(ctx);
  return tier !== null && tiersOf(store.db, ctx).includes(tier) ? tier : null;
}

/** Where the encoder looks up ids older than the import: null when the context holds no analogies. */
export function existingContext(store: EmbeddedStore, context: string): ExistingContext | null {
  const row = store.context(context);
  // A range of row keys (no index has ctx alone: the id indexes are partial on tier).
  if (!row || store.db.prepare(`SELECT 1 FROM analogies WHERE ${CONTEXT_ROWS} LIMIT 1`).pluck().get(...contextKeyRange(row.ctx)) === undefined) return null;
  return { dbPath: store.layout.sqlite, logPath: store.layout.log(context), ctx: row.ctx };
}

/** analogy_creation: fresh puts are encoded by prepare-worker.ts while the main thread commits. */
export function analogyChunks(args: PipelineArgs): PreparedChunks {
  const { store, ...plain } = args;
  const data: PrepareWorkerData = { ...plain, ahead: AHEAD, existing: existingContext(store, args.context) };
  const worker = new Worker(new URL('./prepare-worker.js', import.meta.url), { workerData: data });
  const queue: PreparedMessage[] = [];
  let wake: (() => void) | null = null;
  let failure: Error | null = null;
  worker.on('message', (msg: PreparedMessage) => {
    queue.push(msg);
    wake?.();
  });
  worker.on('error', (err) => {
    failure = err;
    wake?.();
  });
  chunkBuffers.open();
  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    chunkBuffers.close();
    await worker.terminate();
  };
  async function* chunks(): AsyncGenerator<PreparedChunk | null> {
    try {
      for (;;) {
        while (queue.length === 0 && failure === null) await new Promise<void>((resolve) => (wake = resolve));
        wake = null;
        const msg = queue.shift();
        if (!msg) throw failure ?? new SoftlogicError('INTERNAL', 'the chunk preparing worker stopped');
        if (msg.type === 'end') return;
        if (msg.type === 'error') throw msg.code ? new SoftlogicError(msg.code as ErrorCode, msg.message) : new SoftlogicError('INTERNAL', msg.message);
        if (msg.type === 'not_fresh') {
          yield null;
          return;
        }
        // A credit for one more chunk, with memory to build it in if a written one came back.
        const spare = chunkBuffers.take();
        worker.postMessage({ spare }, spare ? [spare] : []);
        yield preparedChunk(msg);
      }
    } finally {
      await close();
    }
  }
  return { [Symbol.asyncIterator]: chunks, close };
}

