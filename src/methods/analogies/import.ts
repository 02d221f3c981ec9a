import { statSync } from 'node:fs';
import { SoftlogicError } from '../../core/errors.js';
import { arrayElementLine, assertReadableFile, gunzippedLineBlocks, gunzippedSizeHint, gzipInputForm, isGzip, plainInputForm, readArrayAsLineBlocks, readInputRecords } from '../../core/input-files.js';
import type { JsonObject, Workflow } from '../../core/records.js';
import { publicWorkflow, type StagingWriter } from '../../backend/workflow-table.js';
import type { PreparedAhead } from '../../backend/capabilities.js';
import { RejectLog } from './rejects.js';
import type { FieldIssue } from '../../core/schemas.js';
import type { Engine } from '../../workflows/engine.js';
import { createWorkflow, newWorkflowId } from '../../workflows/create.js';
import { DEFAULT_BATCH_SIZE, MAX_BATCH_SIZE, processWorkflow } from '../../workflows/process.js';
import type { Pacer } from '../../workflows/pacer.js';
import { DEFAULT_CONTEXT, isValidContextName } from '../../core/names.js';
import { waitForFile, type ArrivingFile } from '../../core/arriving-file.js';
import { stageInput } from './stage-block.js';
import { BLOCK_BYTES, PARALLEL_MIN_BYTES, stageInParallel, type StageInput } from './stage-parallel.js';

export interface ImportOptions {
  context?: string;
  workflowId?: string;
  batchSize?: number;
  lenient?: boolean;
  /** set by import (create + process in one): a crash before processing is resumed */
  autoProcess?: boolean;
  /**
   * Stage a large file on worker threads and process it with a chunk-encoding thread (default
   * true). A service sharing the cores with queries passes false: one thread, steadier latency.
   */
  parallel?: boolean;
  /** Encode chunks on a second thread while committing (default: `parallel`); see ProcessOptions.pipeline. */
  pipeline?: boolean;
  /** See ProcessOptions.bulkLoad (default true) and ProcessOptions.endBulkLoadWhen. */
  bulkLoad?: boolean;
  endBulkLoadWhen?: () => boolean;
  /** the user asked to stop (Ctrl-C): see ProcessOptions.interrupt */
  interrupt?: AbortSignal;
  /**
   * Set by import: `file` is gzip'd, JSON lines or one JSON array, decompressed as it is staged
   * on worker threads (into blocks of whole lines, an array's elements as lines: see
   * withParallelInput), never into a copy first.
   */
  gunzipped?: 'lines' | 'array';
  /** Paces staging and processing while foreground queries are answered (the service; see workflows/pacer.ts). */
  pacer?: Pacer;
  /**
   * `file` is still being written (the service's upload, which announced its length): staged
   * on worker threads as its lines arrive when it is JSON lines of PARALLEL_MIN_BYTES or more
   * (its first 64 KB must be there to tell); any other file is read once complete.
   */
  arriving?: ArrivingFile;
}

export interface ImportResult {
  workflow: Workflow;
  imported: number;
  rejected: number;
  rejects_file: string | null;
  /** lenient: beside the rejects file, every refused line's line number, field and reason */
  reasons_file: string | null;
  /** lenient: the first refused lines' reasons (the reasons file has them all) */
  rejected_reasons: FieldIssue[];
}

/** How many refused lines an error report lists before it only counts them. */
export const LISTED_ISSUES = 1000;
/** Lines staged between two of a paced staging's pauses (a backend's COPY page is a few thousand). */
const PACE_LINES = 2500;

/**
 * Stages every line of FILE as an analogy_creation workflow and processes it. Strict (the
 * default): one invalid line refuses the whole file, and every bad line is reported. Lenient:
 * valid lines are committed, invalid ones are copied unchanged to a rejects file.
 */
/**
 * Whether a file is staged on worker threads: plain JSON lines or one JSON array (read as the
 * JSON lines of its elements), of PARALLEL_MIN_BYTES or more.
 */
function stagesInParallel(file: string, options: ImportOptions): boolean {
  if (options.parallel === false) return false;
  if (options.gunzipped) return true;
  if (options.arriving) return plainInputForm(file) === 'lines' && options.arriving.size >= PARALLEL_MIN_BYTES;
  return plainInputForm(file) !== null && statSync(file).size >= PARALLEL_MIN_BYTES;
}

/** The options of a file read as a whole: an arriving file (see ImportOptions.arriving) once complete. */
async function whole(file: string, options: ImportOptions): Promise<ImportOptions> {
  if (!options.arriving || stagesInParallel(file, options)) return options;
  await waitForFile(options.arriving);
  return { ...options, arriving: undefined };
}

/** What stageInParallel reads of a file stagesInParallel accepts. */
function parallelInput(file: string, options: ImportOptions): StageInput {
  if (options.gunzipped === 'lines') return { blocks: gunzippedLineBlocks(file, BLOCK_BYTES), sizeHint: gunzippedSizeHint(file) };
  // (readArrayAsLineBlocks decompresses a gzip'd array as it reads it.)
  if (options.gunzipped === 'array') return { blocks: readArrayAsLineBlocks(file, BLOCK_BYTES), sizeHint: gunzippedSizeHint(file) };
  if (plainInputForm(file) === 'lines') return { file, arriving: options.arriving };
  return { blocks: readArrayAsLineBlocks(file, BLOCK_BYTES), sizeHint: statSync(file).size };
}

/** Whether the parallel input's blocks are an array's elements as lines (see parallelInput). */
function isArrayInput(file: string, options: ImportOptions): boolean {
  return options.gunzipped === 'array' || (options.gunzipped === undefined && plainInputForm(file) === 'array');
}

/**
 * An array element that is not JSON refuses the whole file (whatever the mode), as when the
 * array was read element by element: named with the line it starts on (the file is read again
 * to find it, only then).
 */
async function malformedElementError(file: string, options: ImportOptions, element: { index: number; reason: string }): Promise<SoftlogicError> {
  const line = await arrayElementLine(file, element.index);
  return new SoftlogicError('INVALID_INPUT', `${file} is not a valid JSON array: element ${element.index + 1} (line ${line}): ${element.reason}`, { path: file, line });
}

/**
 * A gzip'd file large enough for parallel staging is staged on worker threads like the plain
 * file, chunks encoded while staging, decompressed as the workers take its blocks (zlib runs on
 * the I/O thread pool, beside the staging): JSON lines into blocks of whole lines, a JSON array
 * through the array scanner into blocks of its elements as lines. Nothing is written but the
 * staged items (no decompressed copy: none of its disk space, and staging starts at once).
 */
async function withParallelInput<T>(file: string, options: ImportOptions, run: (options: ImportOptions) => Promise<T>): Promise<T> {
  assertReadableFile(file);
  if (options.parallel === false || !gunzipWorthIt(file)) return run(options);
  const form = await gzipInputForm(file);
  // Nothing but blanks: read on one thread, which reports it (EMPTY_INPUT).
  return run(form === null ? options : { ...options, gunzipped: form });
}

/** Whether a file is gzip'd and large enough to be staged on worker threads as it is decompressed. */
export function gunzipWorthIt(file: string): boolean {
  return isGzip(file) && statSync(file).size >= PARALLEL_MIN_BYTES / 16;
}

/** `writer`: a capability's staging writer (encoding chunks ahead), in place of the workflow table's. */
export async function stageAnalogyFile(
  engine: Engine,
  file: string,
  options: ImportOptions,
  writer: StagingWriter | null = null,
): Promise<{ workflow: Workflow; rejected: number; rejectsFile: string | null; reasonsFile: string | null; reasons: FieldIssue[] }> {
  options = await whole(file, options);
  const issues: FieldIssue[] = [];
  let rejected = 0;
  const rejects = new RejectLog(engine.workDir);
  const workflow = await createWorkflow(
    engine,
    {
      workflowType: 'analogy_creation',
      context: options.context,
      workflowId: options.workflowId,
      metadata: { source: file, lenient: options.lenient ?? false },
      autoProcess: options.autoProcess,
    },
    async (writer, target) => {
      const noteIssues = (found: FieldIssue[]) => {
        if (issues.length < LISTED_ISSUES) issues.push(...found.slice(0, LISTED_ISSUES - issues.length));
      };
      if (stagesInParallel(file, options)) {
        const input = parallelInput(file, options);
        const arrayInput = isArrayInput(file, options);
        let malformed: { index: number; reason: string } | null = null;
        // Lenient: every refused line's reasons are kept (in the reasons file).
        await stageInParallel(input, target, { lenient: options.lenient ?? false, maxIssues: options.lenient ? Infinity : LISTED_ISSUES }, (block, firstLine) => {
          // (Only an array's blocks are its elements as lines: a line of a file is refused as a line.)
          if (arrayInput && block.malformed) {
            malformed = { index: firstLine + block.malformed.line - 2, reason: block.malformed.reason };
            throw new SoftlogicError('INVALID_INPUT', `${file}: element ${malformed.index + 1} is not JSON`);
          }
          // Strict: once a line is refused nothing more is staged (the file is refused as a whole).
          if (options.lenient || rejected + block.rejected === 0) writer.addEncoded(Buffer.from(block.staged.buffer, block.staged.byteOffset, block.staged.byteLength), block.count);
          rejected += block.rejected;
          const found = block.issues.map((issue) => ({ ...issue, line: (issue.line ?? 1) + firstLine - 1 }));
          noteIssues(found);
          if (block.rejects) {
            rejects.reject(block.rejects);
            rejects.reasons(found);
          }
        }).catch(async (err: unknown) => {
          throw malformed ? await malformedElementError(file, options, malformed) : err;
        });
      } else {
        const pacer = options.pacer;
        let read = 0;
        for await (const input of readInputRecords(file)) {
          if (pacer && ++read % PACE_LINES === 0) {
            // While slowed down, on the items written, not just read: the store's share of staging is the writing.
            if (pacer.duty < 1) await writer.settled();
            await pacer.pace();
          }
          const staged = stageInput(input, target);
          if ('json' in staged) {
            if (rejected === 0 || options.lenient) writer.addJson(staged.json);
            continue;
          }
          rejected += 1;
          noteIssues(staged.issues);
          if (options.lenient) {
            rejects.reject(input.raw + '\n');
            rejects.reasons(staged.issues);
          }
        }
      }
      rejects.close();
      if (rejected > 0 && !options.lenient) {
        throw new SoftlogicError('IMPORT_REJECTED', `${file}: ${rejected} invalid line(s); nothing was imported (a lenient import keeps the valid lines)`, {
          file,
          rejected,
          issues,
          issues_omitted: Math.max(0, rejected - issues.length),
        });
      }
      if (writer.count === 0) {
        throw new SoftlogicError('EMPTY_INPUT', rejected > 0 ? `${file}: no valid records (${rejected} rejected, see ${rejects.rejectsFile} and ${rejects.reasonsFile})` : `${file} holds no records`, {
          file,
          rejected,
          rejects_file: rejects.rejectsFile,
          reasons_file: rejects.reasonsFile,
          issues,
        });
      }
    },
    writer ? () => writer : undefined,
  );
  if (rejected === 0) return { workflow, rejected, rejectsFile: null, reasonsFile: null, reasons: [] };
  // The refused lines count as the workflow's errors (error_count), their reasons in its error log.
  await engine.backend.workflows.addErrors(workflow.workflow_id, rejects.messages, rejected);
  await engine.backend.audit.record({
    event: 'import_rejected_lines',
    workflow_id: workflow.workflow_id,
    file,
    rejected,
    rejects_file: rejects.rejectsFile,
    reasons_file: rejects.reasonsFile,
    reasons: rejects.listed.slice(0, 20) as unknown as JsonObject[],
  });
  return { workflow: publicWorkflow(await engine.backend.workflows.get(workflow.workflow_id)), rejected, rejectsFile: rejects.rejectsFile, reasonsFile: rejects.reasonsFile, reasons: rejects.listed };
}

export async function importAnalogies(engine: Engine, file: string, options: ImportOptions = {}): Promise<ImportResult> {
  return withParallelInput(file, await whole(file, options), (plain) => importPlain(engine, file, plain));
}

async function importPlain(engine: Engine, file: string, options: ImportOptions): Promise<ImportResult> {
  const workflowId = await newWorkflowId(engine, options.workflowId);
  const early = stagesInParallel(file, options) ? encodeWhileStaging(engine, workflowId, options) : null;
  let staged: Awaited<ReturnType<typeof stageAnalogyFile>>;
  try {
    staged = await stageAnalogyFile(engine, file, { ...options, workflowId, autoProcess: true }, early?.writer ?? null);
  } catch (err) {
    await early?.ahead.close();
    throw err;
  }
  const workflow = await processWorkflow(engine, workflowId, {
    batchSize: options.batchSize,
    pipeline: options.pipeline ?? options.parallel,
    bulkLoad: options.bulkLoad,
    endBulkLoadWhen: options.endBulkLoadWhen,
    interrupt: options.interrupt,
    pacer: options.pacer,
  }, { ahead: early?.ahead ?? null });
  // error_count counts the lines refused while staging too: only items refused while applied are not imported.
  return {
    workflow,
    imported: workflow.items_processed - (workflow.error_count - staged.rejected),
    rejected: staged.rejected,
    rejects_file: staged.rejectsFile,
    reasons_file: staged.reasonsFile,
    rejected_reasons: staged.reasons,
  };
}

/**
 * Starts encoding a large import's chunks from its first staged items while the rest are still
 * being staged: the encoder thread then has two chunks ready when processing starts, using
 * time the staging threads leave idle. Nothing is committed before staging ends (and a strict
 * import may still refuse the file): processWorkflow takes the chunks, or closes them.
 */
function encodeWhileStaging(engine: Engine, workflowId: string, options: ImportOptions): { writer: StagingWriter; ahead: PreparedAhead } | null {
  const prepared = engine.backend.capabilities.preparedImport;
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  // Anything processWorkflow or createWorkflow would refuse is left to them to report.
  if (!prepared || !Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_BATCH_SIZE || !isValidContextName(options.context ?? DEFAULT_CONTEXT)) return null;
  return prepared.stageAhead(workflowId, { context: options.context ?? DEFAULT_CONTEXT, batchSize });
}
