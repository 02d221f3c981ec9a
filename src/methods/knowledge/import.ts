import { closeSync, createReadStream, openSync, readSync, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';
import { SoftlogicError, toSoftlogicError } from '../../core/errors.js';
import { assertReadableFile, gunzippedHead, gunzippedLineBlocks, gunzippedSizeHint, isGzip } from '../../core/input-files.js';
import { assertContextName } from '../../core/names.js';
import type { JsonObject, Workflow } from '../../core/records.js';
import { LIMITS, type FieldIssue } from '../../core/schemas.js';
import { cancelStopped } from '../../workflows/cancel.js';
import { createWorkflow } from '../../workflows/create.js';
import type { Engine } from '../../workflows/engine.js';
import { DEFAULT_BATCH_SIZE, MAX_BATCH_SIZE, processWorkflow, type ProcessOptions } from '../../workflows/process.js';
import type { PreparedAhead } from '../../backend/capabilities.js';
import type { StagingWriter } from '../../backend/workflow-table.js';
import type { VectorBackend } from '../../backend/vector-table.js';
import { parseProviderName, settingsForWrite, type EmbeddingSettings } from '../embeddings/settings.js';
import { gunzipWorthIt, LISTED_ISSUES } from '../analogies/import.js';
import { BLOCK_BYTES, PARALLEL_MIN_BYTES, stageInParallel, StagedBlockQueue, type StageInput } from '../analogies/stage-parallel.js';
import { emptyTally, importTallies, MERGE_STRATEGIES, type ImportTally, type KnowledgeItem, type MergeStrategy } from './import-applier.js';
import { exportLine, parseRecordLine, stagedKnowledgeJson, stageRecordLine, type ExportLine } from './knowledge-lines.js';
import type { KnowledgeBlock, KnowledgeBlockOptions } from './knowledge-block.js';

export interface KnowledgeImportOptions {
  /** put every record into this context (default: the context each record was exported from) */
  context?: string;
  merge?: MergeStrategy;
  batchSize?: number;
  /** See ProcessOptions: a large import into a small store builds the query indexes at its end (default true). */
  bulkLoad?: boolean;
  endBulkLoadWhen?: () => boolean;
  /** See ProcessOptions.pipeline: false applies every record through the merge, item by item (default true). */
  pipeline?: boolean;
  /** Stage a large JSON-lines export's analogies on worker threads (default true); false: one thread. */
  parallel?: boolean;
}

export interface KnowledgeImportResult {
  file: string;
  merge: MergeStrategy;
  records: number;
  workflows: Workflow[];
  applied: ImportTally;
  contexts: string[];
}

export function assertMerge(value: unknown): MergeStrategy {
  if (typeof value === 'string' && (MERGE_STRATEGIES as readonly string[]).includes(value)) return value as MergeStrategy;
  throw new SoftlogicError('INVALID_INPUT', `merge must be one of ${MERGE_STRATEGIES.join(', ')}, got '${String(value)}'`, { field: 'merge' });
}

/**
 * Reads an export (JSON lines, or the JSON document `export --format json` writes, one record
 * per line; gzip'd or not) line by line. A bare analogy object on a line is read as an analogy.
 */
async function* readExport(path: string): AsyncGenerator<ExportLine> {
  assertReadableFile(path);
  const raw = createReadStream(path);
  const input: Readable = isGzip(path) ? raw.pipe(createGunzip()) : raw;
  const rl = createInterface({ input, crlfDelay: Infinity });
  let lineNo = 0;
  let documentMode: boolean | null = null;
  let closed = false;
  try {
    for await (const text of rl) {
      lineNo += 1;
      const line = text.trim();
      if (line.length === 0) continue;
      if (documentMode === null) {
        documentMode = line.startsWith('{"format":"softlogic-export"');
        if (documentMode) {
          if (!line.endsWith('"contexts":{')) {
            yield { line: lineNo, error: 'a softlogic-export JSON document must have one record per line, as `export --format json` writes it' };
            return;
          }
          continue;
        }
        if (line.startsWith('[')) {
          yield { line: lineNo, error: 'a JSON array is not an export; import exports written by `softlogic export` (or use `analogies import`)' };
          return;
        }
      }
      if (!documentMode) {
        yield exportLine(line, lineNo) as ExportLine;
        continue;
      }
      if (line.length > LIMITS.recordBytes + 1024) {
        yield { line: lineNo, error: `line is ${line.length} characters, over the record size limit` };
        continue;
      }
      if (line.startsWith('{"kind":')) {
        const body = line.endsWith(',') ? line.slice(0, -1) : line;
        yield parseRecordLine(body, lineNo);
        continue;
      }
      const header = /^,?("(?:[^"\\]|\\.)*"):\{"parent":.*,"records":\[$/.exec(line);
      if (header) {
        try {
          const parsed = JSON.parse(`{${line.replace(/^,/, '')}]}}`) as Record<string, { parent: string | null; description: string | null }>;
          const [name, meta] = Object.entries(parsed)[0];
          yield { line: lineNo, context: { name, parent: meta.parent ?? null, description: meta.description ?? null } };
        } catch (err) {
          yield { line: lineNo, error: `malformed context header: ${(err as Error).message}` };
        }
        continue;
      }
      if (line === ']}' || line.startsWith('},"counts":')) {
        if (line.startsWith('},"counts":')) closed = true;
        continue;
      }
      yield { line: lineNo, error: 'unexpected line in an export document' };
    }
  } catch (err) {
    throw new SoftlogicError('UNSUPPORTED_FORMAT', `cannot read ${path}: ${(err as Error).message}`, { path });
  }
  if (documentMode && !closed) yield { line: lineNo, error: 'the export document is truncated (no closing counts line)' };
}

/**
 * A stream of staged items with their target context (one item, or `count` items a staging
 * worker already encoded as staged lines); consecutive runs become one workflow each.
 */
export type StagedEntry = { context: string; item: KnowledgeItem } | { context: string; encoded: Uint8Array; count: number };
export interface StagedSource {
  next(): Promise<StagedEntry | null>;
  /** called once staging has ended, read to its end or not */
  close?(): Promise<void>;
  /** a large input: the first workflow's chunks are worth encoding while it is staged (see aheadWriter) */
  readonly large?: boolean;
}

/**
 * The first workflow of a large import has its chunks encoded from its first items on while it
 * is staged (the backend's prepared import, as `analogies import` does): the staging writer's
 * factory for createWorkflow, which hands the chunks to `started` for processWorkflow; undefined
 * where the backend has none or processing would not use them.
 */
function aheadStage(engine: Engine, source: StagedSource, context: string, processing: Pick<ProcessOptions, 'batchSize' | 'pipeline'>, started: (workflowId: string, ahead: PreparedAhead) => void): ((workflowId: string) => StagingWriter) | undefined {
  const prepared = engine.backend.capabilities.preparedImport;
  const batchSize = processing.batchSize ?? DEFAULT_BATCH_SIZE;
  if (!prepared || source.large !== true || processing.pipeline === false || !Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_BATCH_SIZE) return undefined;
  return (workflowId) => {
    const { writer, ahead } = prepared.stageAhead(workflowId, { context, batchSize });
    started(workflowId, ahead);
    return writer;
  };
}

/**
 * The embedding settings (provider, dimension) the concepts of an export bring into each target
 * context, from the vectors their records carry: the first concept with a vector sets them, a
 * concept whose vector differs is refused (a context holds vectors of one provider and dimension).
 */
class IncomingSettings {
  private readonly byContext = new Map<string, { settings: EmbeddingSettings; line: number }>();

  /** The issue of a concept whose vector cannot join its context's, else undefined. */
  add(context: string, item: KnowledgeItem, line: number): FieldIssue | undefined {
    if (item.op !== 'put' || item.kind !== 'concept') return undefined;
    const e = item.record.embedding as { provider?: unknown; dimension?: unknown } | null | undefined;
    if (e === null || e === undefined) return undefined;
    let settings: EmbeddingSettings;
    try {
      if (typeof e.provider !== 'string' || !Number.isInteger(e.dimension) || (e.dimension as number) < 1) throw new Error('needs a provider and a positive integer dimension');
      settings = { provider: parseProviderName(e.provider), dimension: e.dimension as number };
    } catch (err) {
      return { line, field: 'record.embedding', reason: (err as Error).message };
    }
    const first = this.byContext.get(context);
    if (!first) this.byContext.set(context, { settings, line });
    else if (first.settings.provider !== settings.provider || first.settings.dimension !== settings.dimension) {
      return { line, field: 'record.embedding', reason: `a ${settings.dimension}-d ${settings.provider} vector; line ${first.line} brought ${first.settings.dimension}-d ${first.settings.provider} vectors into context '${context}'` };
    }
    return undefined;
  }

  /** Records them where the target has none; refuses (nothing applied yet) where it has others. */
  async record(backend: VectorBackend): Promise<void> {
    for (const [context, { settings }] of this.byContext) await settingsForWrite(backend, context, settings);
  }
}

/**
 * Stages items into one `knowledge_import` workflow per run of consecutive items of the same
 * context, then processes them in order. `issuesOf` reports validation failures found while
 * staging: if any, every staged workflow is cancelled (nothing was applied) and the import is
 * refused with every issue listed.
 */
export async function stageAndProcess(
  engine: Engine,
  source: StagedSource,
  meta: Record<string, unknown>,
  issuesOf: () => { issues: FieldIssue[]; rejected: number },
  processing: Pick<ProcessOptions, 'batchSize' | 'bulkLoad' | 'endBulkLoadWhen' | 'pipeline'> = {},
  beforeProcess?: () => Promise<void>,
): Promise<{ workflows: Workflow[]; applied: ImportTally; records: number; contexts: string[] }> {
  const staged: Workflow[] = [];
  // The first workflow's chunks encoded while it is staged (aheadStage), if any.
  const ahead: { workflowId: string | null; chunks: PreparedAhead | null } = { workflowId: null, chunks: null };
  let carry = await source.next();
  let records = 0;
  let segment = 0;
  try {
    while (carry) {
      const first: StagedEntry = carry;
      segment += 1;
      const wf = await createWorkflow(engine, { workflowType: 'knowledge_import', context: first.context, metadata: { ...meta, segment } as unknown as JsonObject }, async (writer) => {
        const now = new Date().toISOString();
        const put = (n: StagedEntry) => ('item' in n ? writer.addJson(stagedKnowledgeJson(n.item, first.context, now)) : writer.addEncoded(n.encoded, n.count));
        put(first);
        for (;;) {
          const n = await source.next();
          if (!n || n.context !== first.context) {
            carry = n;
            return;
          }
          put(n);
        }
      }, segment === 1 ? aheadStage(engine, source, first.context, processing, (workflowId, chunks) => Object.assign(ahead, { workflowId, chunks })) : undefined);
      records += wf.items_total;
      staged.push(wf);
    }
    await source.close?.();
    const { issues, rejected } = issuesOf();
    if (rejected > 0) {
      throw new SoftlogicError('IMPORT_REJECTED', `${rejected} invalid record(s); nothing was imported`, { rejected, issues, issues_omitted: Math.max(0, rejected - issues.length) });
    }
    await beforeProcess?.();
  } catch (err) {
    await source.close?.().catch(() => undefined);
    await ahead.chunks?.close();
    for (const wf of staged) {
      try {
        await cancelStopped(engine, wf.workflow_id);
      } catch {
        // best effort: a pending workflow that cannot be cancelled is left for `workflows cancel`
      }
    }
    throw toSoftlogicError(err);
  }
  const done: Workflow[] = [];
  const applied = emptyTally();
  for (const wf of staged) {
    // Staged a moment ago by this process: its digest is not read back (see processWorkflow).
    const finished = await processWorkflow(engine, wf.workflow_id, processing, { ahead: ahead.workflowId === wf.workflow_id ? ahead.chunks : null });
    done.push(finished);
    const t = importTallies.get(wf.workflow_id) ?? emptyTally();
    // Items the applier did not apply were written by the backend's prepared import, which
    // writes only records new to the context: created.
    const tallied = Object.values(t).reduce((a, b) => a + b, 0);
    t.created += Math.max(0, finished.items_processed - finished.error_count - tallied);
    for (const k of Object.keys(applied) as Array<keyof ImportTally>) applied[k] += t[k];
    importTallies.delete(wf.workflow_id);
  }
  return { workflows: done, applied, records, contexts: [...new Set(staged.map((w) => w.context))] };
}

/**
 * `import FILE [--context C] [--merge overwrite|merge|skip]`: an export back into a store, as
 * workflows (staged then processed, resumable with `workflows resume`, with progress events).
 * Strict: one invalid record refuses the whole file before anything is applied.
 */
export async function importKnowledge(engine: Engine, file: string, options: KnowledgeImportOptions = {}): Promise<KnowledgeImportResult> {
  const merge = assertMerge(options.merge ?? 'merge');
  const override = options.context === undefined ? undefined : assertContextName(options.context);
  assertReadableFile(file);
  return importExport(engine, file, await workerInput(file, options), merge, override, options);
}

/**
 * What the staging workers read of an export they stage (see stagesOnWorkers), or null: a plain
 * file's byte ranges; a gzip'd file's blocks of whole lines, decompressed as the workers take
 * them (no decompressed copy).
 */
async function workerInput(file: string, options: KnowledgeImportOptions): Promise<StageInput | null> {
  if (options.parallel === false) return null;
  if (gunzipWorthIt(file)) {
    const sizeHint = gunzippedSizeHint(file);
    if (sizeHint < PARALLEL_MIN_BYTES || !stagesOnWorkers(await gunzippedHead(file, HEAD_BYTES))) return null;
    return { blocks: gunzippedLineBlocks(file, BLOCK_BYTES), sizeHint };
  }
  if (isGzip(file) || statSync(file).size < PARALLEL_MIN_BYTES) return null;
  return stagesOnWorkers(fileHead(file)) ? { file } : null;
}

async function importExport(engine: Engine, file: string, onWorkers: StageInput | null, merge: MergeStrategy, override: string | undefined, options: KnowledgeImportOptions): Promise<KnowledgeImportResult> {
  const issues: FieldIssue[] = [];
  let rejected = 0;
  const refuse = (found: FieldIssue[]) => {
    rejected += 1;
    if (issues.length < LISTED_ISSUES) issues.push(...found.slice(0, LISTED_ISSUES - issues.length));
  };
  const incoming = new IncomingSettings();
  // A line handled on this thread: the item it stages, or null (a context, a refused line).
  const take = async (l: ExportLine): Promise<StagedEntry | null> => {
    if ('error' in l) {
      refuse([{ line: l.line, field: '(line)', reason: l.error }]);
      return null;
    }
    if ('context' in l) {
      if (override !== undefined) return null;
      try {
        const name = assertContextName(l.context.name);
        const parent = l.context.parent && (await engine.backend.contexts.get(l.context.parent)) ? l.context.parent : null;
        await engine.backend.contexts.ensure(name, { parent, description: l.context.description });
      } catch (err) {
        refuse([{ line: l.line, field: 'context', reason: toSoftlogicError(err).message }]);
      }
      return null;
    }
    const staged = stageRecordLine(l, override, merge);
    if ('issues' in staged) {
      refuse(staged.issues);
      return null;
    }
    const mixed = incoming.add(staged.context, staged.item, l.line);
    if (mixed) {
      refuse([mixed]);
      return null;
    }
    return rejected > 0 ? null : staged; // keep reading to report every issue, stage nothing more
  };
  const source = onWorkers ? workerSource(onWorkers, { override, merge }, take, refuse, () => rejected > 0) : lineSource(readExport(file), take);
  const result = await stageAndProcess(engine, source, { source: file, merge }, () => ({ issues, rejected }), { batchSize: options.batchSize, bulkLoad: options.bulkLoad, endBulkLoadWhen: options.endBulkLoadWhen, pipeline: options.pipeline }, () =>
    incoming.record(engine.backend),
  );
  if (result.records === 0 && rejected === 0) throw new SoftlogicError('EMPTY_INPUT', `${file} holds no records`, { file });
  await engine.backend.audit.record({ event: 'knowledge_imported', file, merge, records: result.records, workflows: result.workflows.map((w) => w.workflow_id), applied: result.applied });
  return { file, merge, ...result };
}

/** The items of an export read line by line on this thread. */
function lineSource(lines: AsyncIterable<ExportLine>, take: (l: ExportLine) => Promise<StagedEntry | null>): StagedSource {
  const it = lines[Symbol.asyncIterator]();
  return {
    next: async () => {
      for (;;) {
        const r = await it.next();
        if (r.done) return null;
        const entry = await take(r.value);
        if (entry) return entry;
      }
    },
    close: async () => {
      await it.return?.(undefined);
    },
  };
}

/** What an export's form is told from: its first bytes (decompressed, for a gzip'd one). */
const HEAD_BYTES = 64 * 1024;

function fileHead(path: string): Buffer {
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(HEAD_BYTES);
    return head.subarray(0, readSync(fd, head, 0, head.length, 0));
  } finally {
    closeSync(fd);
  }
}

/**
 * Whether an export of PARALLEL_MIN_BYTES or more (gzip'd: of 512 KB or more, see gunzipWorthIt)
 * is staged on the staging workers, from its head: JSON lines, not the JSON document (whose lines
 * are read in order) nor an array.
 */
function stagesOnWorkers(head: Buffer): boolean {
  const first = head.toString('utf8').trim();
  return !first.startsWith('[') && !first.startsWith('{"format":"softlogic-export"');
}

/**
 * The items of a JSON-lines export staged on the workers (knowledge-block.ts), taken block by
 * block in file order: a worker's staged analogies as they are; its other lines (contexts, other
 * kinds) handled here, in their place; its refused lines' reasons with their line numbers in the file.
 */
function workerSource(
  input: StageInput,
  options: KnowledgeBlockOptions,
  take: (l: ExportLine) => Promise<StagedEntry | null>,
  refuse: (found: FieldIssue[]) => void,
  refused: () => boolean,
): StagedSource {
  const target = { workflowId: '', context: '', now: new Date().toISOString() };
  const stager = new URL('./knowledge-block.js', import.meta.url);
  const queue = new StagedBlockQueue<KnowledgeBlock>((accept) => stageInParallel(input, target, options, accept, stager));
  let current: { block: KnowledgeBlock; firstLine: number } | null = null;
  let run = 0;
  let offset = 0;
  return {
    large: true,
    next: async () => {
      for (;;) {
        if (current === null || run === current.block.runs.length) {
          current = await queue.next();
          run = 0;
          offset = 0;
          if (current === null) return null;
          continue;
        }
        const r = current.block.runs[run++];
        const base = current.firstLine - 1;
        if ('count' in r) {
          const at = offset;
          offset += r.bytes;
          if (!refused()) return { context: r.context, encoded: current.block.staged.subarray(at, at + r.bytes), count: r.count };
        } else if ('issues' in r) {
          refuse(r.issues.map((issue) => ({ ...issue, line: (issue.line ?? r.line) + base })));
        } else {
          const l = exportLine(r.text, r.line + base);
          const entry = l && (await take(l));
          if (entry) return entry;
        }
      }
    },
    close: () => queue.close(),
  };
}
