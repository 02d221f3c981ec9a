import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';
import { SoftlogicError, toSoftlogicError } from '../../core/errors.js';
import { assertReadableFile, isGzip } from '../../core/input-files.js';
import { assertContextName, DEFAULT_CONTEXT, isValidId } from '../../core/names.js';
import { duplicateKeyIn, recordLimitIssue } from '../../core/json-limits.js';
import type { JsonObject, RecordKind, Workflow } from '../../core/records.js';
import { LIMITS, type FieldIssue } from '../../core/schemas.js';
import { cancelStopped } from '../../workflows/cancel.js';
import { createWorkflow } from '../../workflows/create.js';
import type { Engine } from '../../workflows/engine.js';
import { processWorkflow, type ProcessOptions } from '../../workflows/process.js';
import type { VectorBackend } from '../../backend/vector-table.js';
import { validateAnalogy } from '../analogies/analogy-record.js';
import { parseProviderName, settingsForWrite, type EmbeddingSettings } from '../embeddings/settings.js';
import { LISTED_ISSUES } from '../analogies/import.js';
import { emptyTally, importTallies, MERGE_STRATEGIES, stagedKnowledgeJson, type ImportTally, type KnowledgeItem, type MergeStrategy } from './import-applier.js';

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
}

export interface KnowledgeImportResult {
  file: string;
  merge: MergeStrategy;
  records: number;
  workflows: Workflow[];
  applied: ImportTally;
  contexts: string[];
}

const KINDS = new Set<RecordKind>(['analogy', 'concept', 'frame', 'frame_instance', 'frame_relation', 'cluster', 'semantic_field']);

export function assertMerge(value: unknown): MergeStrategy {
  if (typeof value === 'string' && (MERGE_STRATEGIES as readonly string[]).includes(value)) return value as MergeStrategy;
  throw new SoftlogicError('INVALID_INPUT', `merge must be one of ${MERGE_STRATEGIES.join(', ')}, got '${String(value)}'`, { field: 'merge' });
}

type ExportLine =
  | { line: number; context: { name: string; parent: string | null; description: string | null } }
  | { line: number; kind: RecordKind; contextName: string | null; record: unknown }
  | { line: number; error: string };

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
      if (line.length > LIMITS.recordBytes + 1024) {
        yield { line: lineNo, error: `line is ${line.length} characters, over the record size limit` };
        continue;
      }
      if (documentMode) {
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
        continue;
      }
      yield parseRecordLine(line, lineNo);
    }
  } catch (err) {
    throw new SoftlogicError('UNSUPPORTED_FORMAT', `cannot read ${path}: ${(err as Error).message}`, { path });
  }
  if (documentMode && !closed) yield { line: lineNo, error: 'the export document is truncated (no closing counts line)' };
}

function parseRecordLine(text: string, line: number): ExportLine {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { line, error: `malformed JSON: ${(err as Error).message}` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { line, error: 'expected a JSON object' };
  const duplicate = duplicateKeyIn(text);
  if (duplicate !== null) return { line, error: `duplicate key ${duplicate}` };
  const v = value as Record<string, unknown>;
  if (!('kind' in v)) return { line, kind: 'analogy', contextName: null, record: v };
  const contextName = typeof v.context === 'string' ? v.context : null;
  if (v.kind === 'context') {
    const r = v.record as Record<string, unknown> | undefined;
    if (!r || typeof r.name !== 'string') return { line, error: 'a context line needs record.name' };
    return { line, context: { name: r.name, parent: typeof r.parent === 'string' ? r.parent : null, description: typeof r.description === 'string' ? r.description : null } };
  }
  if (typeof v.kind !== 'string' || !KINDS.has(v.kind as RecordKind)) return { line, error: `unknown kind ${JSON.stringify(v.kind)}` };
  return { line, kind: v.kind as RecordKind, contextName, record: v.record };
}

/** Validates one exported record into a staged item, or the reasons it is refused. */
export function stageKnowledgeRecord(kind: RecordKind, record: unknown, merge: MergeStrategy, line: number): { item: KnowledgeItem } | { issues: FieldIssue[] } {
  if (typeof record !== 'object' || record === null || Array.isArray(record)) return { issues: [{ line, field: 'record', reason: 'must be a JSON object' }] };
  if (kind === 'analogy') {
    const { context: _c, ...rest } = record as Record<string, unknown>;
    const result = validateAnalogy(rest, line);
    if (!result.ok) return { issues: result.issues };
    const limit = recordLimitIssue(result.value, line);
    if (limit) return { issues: [limit] };
    const v = result.value as Record<string, unknown>;
    v.id ??= randomUUID();
    v.workflow_id ??= null;
    v.deleted_at ??= null;
    return { item: { op: 'put', kind, merge, record: v as Record<string, unknown> & { id: string } } };
  }
  const r = record as Record<string, unknown>;
  if (typeof r.id !== 'string' || !isValidId(r.id)) return { issues: [{ line, field: 'record.id', reason: 'an entity record needs an id of [A-Za-z0-9_.:-]' }] };
  if (r.version !== undefined && (!Number.isInteger(r.version) || (r.version as number) < 1)) return { issues: [{ line, field: 'record.version', reason: 'must be an integer >= 1' }] };
  const limit = recordLimitIssue(r, line);
  if (limit) return { issues: [{ ...limit, field: limit.field === '(record)' ? 'record' : `record.${limit.field}` }] };
  return { item: { op: 'put', kind, merge, record: { ...r, id: r.id, deleted_at: r.deleted_at ?? null } } };
}

/** A stream of staged items with their target context; consecutive runs become one workflow each. */
export interface StagedSource {
  next(): Promise<{ context: string; item: KnowledgeItem } | null>;
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
  let carry = await source.next();
  let records = 0;
  let segment = 0;
  try {
    while (carry) {
      const first: { context: string; item: KnowledgeItem } = carry;
      segment += 1;
      const wf = await createWorkflow(engine, { workflowType: 'knowledge_import', context: first.context, metadata: { ...meta, segment } as unknown as JsonObject }, async (writer) => {
        const now = new Date().toISOString();
        writer.addJson(stagedKnowledgeJson(first.item, first.context, now));
        for (;;) {
          const n = await source.next();
          if (!n || n.context !== first.context) {
            carry = n;
            return;
          }
          writer.addJson(stagedKnowledgeJson(n.item, first.context, now));
        }
      });
      records += wf.items_total;
      staged.push(wf);
    }
    const { issues, rejected } = issuesOf();
    if (rejected > 0) {
      throw new SoftlogicError('IMPORT_REJECTED', `${rejected} invalid record(s); nothing was imported`, { rejected, issues, issues_omitted: Math.max(0, rejected - issues.length) });
    }
    await beforeProcess?.();
  } catch (err) {
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
    const finished = await processWorkflow(engine, wf.workflow_id, processing);
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
  const issues: FieldIssue[] = [];
  let rejected = 0;
  const refuse = (found: FieldIssue[]) => {
    rejected += 1;
    if (issues.length < LISTED_ISSUES) issues.push(...found.slice(0, LISTED_ISSUES - issues.length));
  };
  assertReadableFile(file);
  const lines = readExport(file)[Symbol.asyncIterator]();
  const incoming = new IncomingSettings();
  const source: StagedSource = {
    next: async () => {
      for (;;) {
        const r = await lines.next();
        if (r.done) return null;
        const l = r.value;
        if ('error' in l) {
          refuse([{ line: l.line, field: '(line)', reason: l.error }]);
          continue;
        }
        if ('context' in l) {
          if (override !== undefined) continue;
          try {
            const name = assertContextName(l.context.name);
            const parent = l.context.parent && (await engine.backend.contexts.get(l.context.parent)) ? l.context.parent : null;
            await engine.backend.contexts.ensure(name, { parent, description: l.context.description });
          } catch (err) {
            refuse([{ line: l.line, field: 'context', reason: toSoftlogicError(err).message }]);
          }
          continue;
        }
        let context: string;
        try {
          const fromRecord = typeof (l.record as { context?: unknown } | null)?.context === 'string' ? ((l.record as { context: string }).context) : null;
          context = override ?? assertContextName(l.contextName ?? fromRecord ?? DEFAULT_CONTEXT);
        } catch (err) {
          refuse([{ line: l.line, field: 'context', reason: toSoftlogicError(err).message }]);
          continue;
        }
        const staged = stageKnowledgeRecord(l.kind, l.record, merge, l.line);
        if ('issues' in staged) {
          refuse(staged.issues);
          continue;
        }
        const mixed = incoming.add(context, staged.item, l.line);
        if (mixed) {
          refuse([mixed]);
          continue;
        }
        if (rejected > 0) continue; // keep reading to report every issue, stage nothing more
        return { context, item: staged.item };
      }
    },
  };
  const result = await stageAndProcess(engine, source, { source: file, merge }, () => ({ issues, rejected }), { batchSize: options.batchSize, bulkLoad: options.bulkLoad, endBulkLoadWhen: options.endBulkLoadWhen, pipeline: options.pipeline }, () =>
    incoming.record(engine.backend),
  );
  if (result.records === 0 && rejected === 0) throw new SoftlogicError('EMPTY_INPUT', `${file} holds no records`, { file });
  await engine.backend.audit.record({ event: 'knowledge_imported', file, merge, records: result.records, workflows: result.workflows.map((w) => w.workflow_id), applied: result.applied });
  return { file, merge, ...result };
}
