import { randomUUID } from 'node:crypto';
import { closeSync, existsSync, lstatSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { SoftlogicError } from '../../core/errors.js';
import { readInputRecords } from '../../core/input-files.js';
import { readSqliteTables } from '../../core/sqlite-tables.js';
import { assertContextName, DEFAULT_CONTEXT, isValidId } from '../../core/names.js';
import type { JsonObject, Workflow, WorkflowStatus, WorkflowType } from '../../core/records.js';
import { parseNpy } from '../../embeddings/npy.js';
import { parseNpz, readEmbeddingsNpz } from '../../embeddings/npz.js';
import { conceptIdForVector, importVectorTable, type VectorTable } from '../embeddings/npz-io.js';
import type { Engine } from '../../workflows/engine.js';
import { legacyAnalogyRecord, normaliseTime, parseJsonColumn, type Row } from '../analogies/legacy-record.js';
import type { ImportTally, KnowledgeItem, MergeStrategy } from './import-applier.js';
import { assertMerge, stageAndProcess, type StagedSource } from './import.js';

/**
 * `import --from-legacy DIR`: the original Python system's storage directory into a store.
 *
 * Layout read (each also under DIR/storage/): contexts/<ctx>/analogies.jsonl (its change log:
 * `{"type":"analogy",...}` and `{"type":"deletion","target_id":...}` lines of loose shape),
 * contexts/<ctx>/concepts.sqlite (tables analogies / frames / concepts: the same analogies as
 * the log, indexed, plus concepts and frames), workflows/** /workflow_*.json, and
 * embeddings_cache/embeddings.npy (JSON text {concept_id: [floats]} despite its name; a real
 * NumPy .npy with ids from metadata.json, or an .npz with ids + vectors, is read too) +
 * embeddings_cache/metadata.json.
 *
 * Nothing is dropped. An analogy line and its SQLite row (same id) become one record: the line's
 * fields first, the row filling what the line lacks (the row's '' domains and 0.0 quality are
 * the old code's placeholders, not values). Fields outside the schema go to metadata.legacy;
 * `context` (free text in the original) too. A missing domain becomes "unknown" and a missing
 * quality 0, each flagged in metadata.legacy (source_domain_missing, target_domain_missing,
 * quality_missing). A field whose value the schema refuses moves to metadata.legacy.invalid
 * and gets the default. concept_mappings are derived from source_pair/target_pair (element by
 * element) or source_concept/target_concept when the record has none. Every line is accounted
 * for in the report: a record, a deletion, or a reported problem (with its line number).
 *
 * Legacy workflows become workflow rows with their status, counts, times, metadata and
 * error_log. A workflow the old system left pending or processing has no staged items here, so
 * it is recorded as `cancelled` with metadata.legacy.status holding the original status (a
 * `processing` row would otherwise be resumed and fail); an unknown workflow_type is recorded
 * as analogy_creation with metadata.legacy.workflow_type. A workflow id already in the store is
 * reported and left alone. Records keep their legacy workflow_id, linking them to those rows.
 *
 * Embeddings become concept vectors (see importLegacyVectors): `concepts similar` finds them and
 * `embeddings export` writes them all.
 */
export interface LegacyOptions {
  /** if given, the context of every record and vector instead of the one its directory or id names */
  context?: string;
  merge?: MergeStrategy;
  batchSize?: number;
}

export interface ReportedLine {
  line: number;
  reason: string;
}

export interface LegacyFileReport {
  file: string;
  kind: 'analogies_jsonl' | 'concepts_sqlite' | 'workflow' | 'embeddings' | 'embeddings_metadata';
  context?: string;
  /** lines (jsonl), rows (sqlite), vectors (embeddings), entries (metadata), 1 (workflow) */
  units: number;
  blank?: number;
  records?: number;
  deletions?: number;
  /** sqlite analogy rows folded into the record of the log line with the same id */
  merged_into_log_records?: number;
  workflows?: number;
  vectors?: number;
  reported: ReportedLine[];
}

export interface LegacyResult {
  source: string;
  contexts: Array<{ legacy: string; context: string }>;
  files: LegacyFileReport[];
  records: number;
  deletions: number;
  workflows_imported: string[];
  /** the legacy vectors, now concept vectors: how many, and per context how many and by which workflow */
  embeddings: { vectors: number; dimension: number; contexts: Array<{ context: string; vectors: number; workflow_id: string }> } | null;
  workflows: Workflow[];
  applied: ImportTally;
  /** items the store refused when applying (e.g. a deletion of an unknown id), from the workflows' error logs */
  refused: string[];
}

const CONTEXT_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/;
const STATUSES = new Set<WorkflowStatus>(['pending', 'processing', 'interrupted', 'completed', 'failed', 'cancelled', 'rolled_back']);
const TYPES = new Set<WorkflowType>(['analogy_creation', 'deletion_batch', 'concept_batch', 'frame_expansion', 'cluster_update', 'knowledge_import']);

function firstExisting(...paths: string[]): string | null {
  for (const p of paths) if (existsSync(p) && lstatSync(p).isDirectory()) return p;
  return null;
}

function isPlainFile(path: string): boolean {
  return existsSync(path) && lstatSync(path).isFile();
}

/** A legacy directory name as a context name: kept when valid, otherwise sanitised (reported). */
function contextNameFor(name: string): string {
  if (CONTEXT_RE.test(name)) return name;
  const s = name.replace(/[^A-Za-z0-9_.-]/g, '_').replace(/^[.-]+/, '').slice(0, 56);
  return `legacy_${s || 'context'}`.slice(0, 64);
}

function entityRecord(kind: 'concept' | 'frame', row: Row, context: string): Record<string, unknown> & { id: string } {
  const legacy: Row = {};
  const id = typeof row.id === 'string' && isValidId(row.id) ? row.id : randomUUID();
  if (id !== row.id) legacy.original_id = row.id;
  const base: Row = {
    id,
    name: row.name ?? null,
    version: Number.isInteger(row.version) && (row.version as number) >= 1 ? row.version : 1,
    created_at: normaliseTime(row.created_at) ?? null,
    updated_at: normaliseTime(row.updated_at) ?? null,
    deleted_at: normaliseTime(row.deleted_at) ?? null,
  };
  const meta = parseJsonColumn(row.metadata);
  if (kind === 'concept') {
    base.context = context;
    if (row.context !== context) legacy.context = row.context;
    base.synset_id = row.synset_id ?? null;
    base.frame_roles = parseJsonColumn(row.frame_roles) ?? {};
    base.cluster_memberships = parseJsonColumn(row.cluster_memberships) ?? {};
  } else {
    base.definition = row.definition ?? null;
    const elements = parseJsonColumn(row.elements);
    if (Array.isArray(elements)) base.core_elements = elements;
    else if (elements !== undefined) legacy.elements = elements;
    base.lexical_units = parseJsonColumn(row.lexical_units) ?? [];
    legacy.frame_type = row.frame_type;
  }
  const known = new Set(['id', 'name', 'version', 'created_at', 'updated_at', 'deleted_at', 'metadata', 'context', 'synset_id', 'frame_roles', 'cluster_memberships', 'definition', 'elements', 'lexical_units', 'frame_type']);
  for (const [k, v] of Object.entries(row)) if (!known.has(k)) legacy[k] = v;
  base.metadata = { ...(typeof meta === 'object' && meta !== null && !Array.isArray(meta) ? (meta as Row) : meta === undefined ? {} : { value: meta }), ...(Object.keys(legacy).length > 0 ? { legacy } : {}) };
  return base as Record<string, unknown> & { id: string };
}

interface LegacyContext {
  legacyName: string;
  context: string;
  dir: string;
}

/** Yields the staged items of one legacy context, filling its file reports as it goes. */
async function* contextItems(c: LegacyContext, root: string, merge: MergeStrategy, files: LegacyFileReport[]): AsyncGenerator<KnowledgeItem> {
  const sqlitePath = join(c.dir, 'concepts.sqlite');
  const byId = new Map<string, Row>();
  let concepts: Row[] = [];
  let frames: Row[] = [];
  let sqliteReport: LegacyFileReport | null = null;
  if (isPlainFile(sqlitePath)) {
    sqliteReport = { file: relative(root, sqlitePath), kind: 'concepts_sqlite', context: c.context, units: 0, records: 0, merged_into_log_records: 0, reported: [] };
    files.push(sqliteReport);
    try {
      const tables = readSqliteTables(sqlitePath, ['analogies', 'concepts', 'frames']);
      const analogies = tables.analogies;
      concepts = tables.concepts;
      frames = tables.frames;
      sqliteReport.units = analogies.length + concepts.length + frames.length;
      analogies.forEach((r, i) => {
        if (typeof r.id === 'string' && !byId.has(r.id)) byId.set(r.id, r);
        else byId.set(`\0row${i}`, r);
      });
    } catch (err) {
      sqliteReport.reported.push({ line: 0, reason: `cannot read: ${(err as Error).message}` });
    }
  }
  const jsonlPath = join(c.dir, 'analogies.jsonl');
  if (isPlainFile(jsonlPath)) {
    const report: LegacyFileReport = { file: relative(root, jsonlPath), kind: 'analogies_jsonl', context: c.context, units: 0, blank: 0, records: 0, deletions: 0, reported: [] };
    files.push(report);
    // Count every line, blank ones included (readInputRecords skips blanks).
    let lastLine = 0;
    for await (const input of readInputRecords(jsonlPath)) {
      report.blank = (report.blank ?? 0) + (input.line - lastLine - 1);
      lastLine = input.line;
      if ('error' in input) {
        report.reported.push({ line: input.line, reason: input.error });
        continue;
      }
      const v = input.value;
      if (typeof v !== 'object' || v === null || Array.isArray(v)) {
        report.reported.push({ line: input.line, reason: 'not a JSON object' });
        continue;
      }
      const obj = v as Row;
      if (obj.type === 'deletion') {
        const target = obj.target_id ?? obj.id;
        if (typeof target !== 'string' || !isValidId(target)) {
          report.reported.push({ line: input.line, reason: `deletion without a valid target_id (${JSON.stringify(target ?? null)})` });
          continue;
        }
        report.deletions = (report.deletions ?? 0) + 1;
        yield { op: 'delete', kind: 'analogy', id: target };
        continue;
      }
      if (obj.type !== undefined && obj.type !== 'analogy') {
        report.reported.push({ line: input.line, reason: `unknown line type ${JSON.stringify(obj.type)}` });
        continue;
      }
      const row = typeof obj.id === 'string' ? byId.get(obj.id) : undefined;
      if (row && sqliteReport) {
        byId.delete(obj.id as string);
        sqliteReport.records = (sqliteReport.records ?? 0) + 1;
        sqliteReport.merged_into_log_records = (sqliteReport.merged_into_log_records ?? 0) + 1;
      }
      report.records = (report.records ?? 0) + 1;
      yield { op: 'put', kind: 'analogy', merge, record: legacyAnalogyRecord(obj, row ?? null) };
    }
    // Trailing blank lines are never yielded by the reader: count them from the file itself.
    const lineCount = countLines(jsonlPath);
    report.blank = (report.blank ?? 0) + (lineCount - lastLine);
    report.units = lineCount;
  }
  if (sqliteReport) {
    for (const row of byId.values()) {
      sqliteReport.records = (sqliteReport.records ?? 0) + 1;
      yield { op: 'put', kind: 'analogy', merge, record: legacyAnalogyRecord(null, row) };
    }
    for (const row of concepts) {
      sqliteReport.records = (sqliteReport.records ?? 0) + 1;
      yield { op: 'put', kind: 'concept', merge, record: entityRecord('concept', row, c.context) };
    }
    for (const row of frames) {
      sqliteReport.records = (sqliteReport.records ?? 0) + 1;
      yield { op: 'put', kind: 'frame', merge, record: entityRecord('frame', row, c.context) };
    }
  }
}

/** Lines in a file (a last line without a newline counts), read in chunks. */
export function countLines(path: string): number {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    let lines = 0;
    let last = 10;
    let pos = 0;
    for (;;) {
      const n = readSync(fd, buf, 0, buf.length, pos);
      if (n <= 0) break;
      for (let i = buf.indexOf(10, 0); i >= 0 && i < n; i = buf.indexOf(10, i + 1)) lines += 1;
      last = buf[n - 1];
      pos += n;
    }
    return lines + (last !== 10 ? 1 : 0);
  } finally {
    closeSync(fd);
  }
}

function walkWorkflowFiles(dir: string, out: string[], depth = 0): void {
  if (depth > 8) return;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walkWorkflowFiles(p, out, depth + 1);
    else if (e.isFile() && /^workflow_.*\.json$/.test(e.name)) out.push(p);
  }
}

/** Legacy workflow files become rows of the workflow table, copied with their status, counts and times. */
async function importWorkflows(engine: Engine, files: string[], root: string, contextOf: Map<string, string>, reports: LegacyFileReport[]): Promise<string[]> {
  const imported: string[] = [];
  const table = engine.backend.workflows;
  for (const path of files.sort()) {
    const report: LegacyFileReport = { file: relative(root, path), kind: 'workflow', units: 1, workflows: 0, reported: [] };
    reports.push(report);
    let wf: Row;
    try {
      wf = JSON.parse(readFileSync(path, 'utf8')) as Row;
      if (typeof wf !== 'object' || wf === null || Array.isArray(wf)) throw new Error('not a JSON object');
    } catch (err) {
      report.reported.push({ line: 1, reason: `unreadable workflow file: ${(err as Error).message}` });
      continue;
    }
    const id = wf.workflow_id;
    if (typeof id !== 'string' || !isValidId(id)) {
      report.reported.push({ line: 1, reason: `invalid workflow_id ${JSON.stringify(id ?? null)}` });
      continue;
    }
    if (await table.find(id)) {
      report.reported.push({ line: 1, reason: `workflow ${id} already exists in the store; left as it is` });
      continue;
    }
    const legacy: Row = {};
    let status = wf.status as WorkflowStatus;
    if (!STATUSES.has(status) || status === 'pending' || status === 'processing') {
      legacy.status = wf.status;
      status = 'cancelled';
    }
    let type = wf.workflow_type as WorkflowType;
    if (!TYPES.has(type)) {
      legacy.workflow_type = wf.workflow_type;
      type = 'analogy_creation';
    }
    const known = new Set(['workflow_id', 'workflow_type', 'status', 'created_at', 'updated_at', 'items_total', 'items_processed', 'error_count', 'metadata', 'error_log']);
    for (const [k, v] of Object.entries(wf)) if (!known.has(k)) legacy[k] = v;
    legacy.source_file = report.file;
    const meta = typeof wf.metadata === 'object' && wf.metadata !== null && !Array.isArray(wf.metadata) ? (wf.metadata as Row) : wf.metadata === undefined ? {} : { value: wf.metadata };
    const int = (v: unknown) => (Number.isInteger(v) && (v as number) >= 0 ? (v as number) : 0);
    const now = new Date().toISOString();
    const time = (v: unknown) => (typeof v === 'string' && Number.isFinite(Date.parse(String(normaliseTime(v)))) ? String(normaliseTime(v)) : now);
    const errorLog = Array.isArray(wf.error_log) ? wf.error_log.map((e) => (typeof e === 'string' ? e : JSON.stringify(e))).slice(0, 100) : [];
    await table.insert({
      workflow_id: id,
      workflow_type: type,
      context: contextOf.get(id) ?? DEFAULT_CONTEXT,
      items_total: int(wf.items_total),
      metadata: { ...meta, legacy } as JsonObject,
      staged_crc: null,
      copied: { status, created_at: time(wf.created_at), updated_at: time(wf.updated_at), items_processed: int(wf.items_processed), error_count: int(wf.error_count), error_log: errorLog },
    });
    report.workflows = 1;
    imported.push(id);
  }
  return imported;
}

/** Reads the legacy embedding cache: JSON text, a real .npy (ids from metadata.json), or an .npz. */
function readLegacyEmbeddings(dir: string, root: string, reports: LegacyFileReport[]): { table: VectorTable; metadata: Row | null } | null {
  const npyPath = join(dir, 'embeddings.npy');
  const npzPath = join(dir, 'embeddings.npz');
  const metaPath = join(dir, 'metadata.json');
  let metadata: Row | null = null;
  if (isPlainFile(metaPath)) {
    const report: LegacyFileReport = { file: relative(root, metaPath), kind: 'embeddings_metadata', units: 0, reported: [] };
    reports.push(report);
    try {
      const parsed = JSON.parse(readFileSync(metaPath, 'utf8')) as unknown;
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not a JSON object');
      metadata = parsed as Row;
      report.units = Object.keys(metadata).length;
    } catch (err) {
      report.reported.push({ line: 0, reason: `unreadable: ${(err as Error).message}` });
    }
  }
  const path = isPlainFile(npyPath) ? npyPath : isPlainFile(npzPath) ? npzPath : null;
  if (!path) return null;
  const report: LegacyFileReport = { file: relative(root, path), kind: 'embeddings', units: 0, vectors: 0, reported: [] };
  reports.push(report);
  const bytes = readFileSync(path);
  let ids: string[] = [];
  let rows: ArrayLike<number>[] = [];
  let dimension = 0;
  try {
    if (bytes[0] === 0x50 && bytes[1] === 0x4b) {
      const arrays = parseNpz(bytes, report.file);
      if (arrays.has('ids')) {
        const t = readEmbeddingsNpz(bytes);
        ids = t.ids;
        dimension = t.dimension;
        rows = ids.map((_, i) => t.vectors.subarray(i * t.dimension, (i + 1) * t.dimension));
      } else {
        const first = [...arrays.values()][0];
        if (!first || first.dtype === 'unicode' || first.shape.length !== 2) throw new Error('an .npz without ids needs one 2-D float array');
        dimension = first.shape[1];
        ids = metadata ? Object.keys(metadata) : [];
        rows = Array.from({ length: first.shape[0] }, (_, i) => first.data.subarray(i * dimension, (i + 1) * dimension));
      }
    } else if (bytes[0] === 0x93 && bytes.toString('latin1', 1, 6) === 'NUMPY') {
      const arr = parseNpy(bytes, report.file);
      if (arr.dtype === 'unicode' || arr.shape.length !== 2) throw new Error('a legacy .npy must hold a 2-D float array');
      dimension = arr.shape[1];
      ids = metadata ? Object.keys(metadata) : [];
      rows = Array.from({ length: arr.shape[0] }, (_, i) => arr.data.subarray(i * dimension, (i + 1) * dimension));
    } else {
      const parsed = JSON.parse(bytes.toString('utf8')) as unknown;
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('JSON embeddings must be an object {id: [floats]}');
      for (const [id, v] of Object.entries(parsed as Row)) {
        ids.push(id);
        rows.push(Array.isArray(v) ? (v as number[]) : []);
      }
      dimension = rows.find((r) => r.length > 0)?.length ?? 0;
    }
  } catch (err) {
    report.reported.push({ line: 0, reason: `unreadable embeddings: ${(err as Error).message}` });
    return null;
  }
  report.units = rows.length;
  if (ids.length !== rows.length) {
    report.reported.push({ line: 0, reason: `${rows.length} vectors but ${ids.length} ids (from metadata.json); embeddings not imported` });
    return null;
  }
  const keptIds: string[] = [];
  const values: number[][] = [];
  const seen = new Set<string>();
  rows.forEach((r, i) => {
    const id = ids[i];
    if (id.length === 0 || seen.has(id)) return report.reported.push({ line: i + 1, reason: `vector ${i}: empty or duplicate id ${JSON.stringify(id)}` });
    if (r.length !== dimension) return report.reported.push({ line: i + 1, reason: `vector ${JSON.stringify(id)} has ${r.length} values, expected ${dimension}` });
    for (let j = 0; j < r.length; j++) {
      if (typeof r[j] !== 'number' || !Number.isFinite(r[j])) return report.reported.push({ line: i + 1, reason: `vector ${JSON.stringify(id)} has a non-finite value at ${j}` });
    }
    seen.add(id);
    keptIds.push(id);
    values.push(Array.from(r));
  });
  const vectors = new Float32Array(keptIds.length * dimension);
  values.forEach((v, i) => vectors.set(v, i * dimension));
  report.vectors = keptIds.length;
  return { table: { ids: keptIds, dimension, vectors }, metadata };
}

/**
 * The legacy vectors become concept vectors: each in the context its id names (`animal:lion` ->
 * concept `animal:lion` of context `animal`, a name the store refuses mapped as for record
 * contexts), or all in `--context` (ids mapped by conceptIdForVector; a second vector for the same
 * concept is reported, not imported). One embeddings workflow per context; per-vector metadata
 * goes to contexts/<c>/embeddings.legacy.json.
 */
async function importLegacyVectors(
  engine: Engine,
  override: string | undefined,
  loaded: { table: VectorTable; metadata: Row | null },
  source: string,
  report: LegacyFileReport | undefined,
  batchSize?: number,
): Promise<LegacyResult['embeddings']> {
  const { table } = loaded;
  const groups = new Map<string, number[]>();
  const concepts = new Set<string>();
  table.ids.forEach((raw, row) => {
    const colon = raw.indexOf(':');
    const context = override ?? (colon > 0 ? contextNameFor(raw.slice(0, colon)) : DEFAULT_CONTEXT);
    let concept: string;
    try {
      concept = conceptIdForVector(raw, context).id;
    } catch (err) {
      report?.reported.push({ line: row + 1, reason: `vector ${JSON.stringify(raw)}: ${(err as Error).message}` });
      return;
    }
    if (concepts.has(concept)) {
      report?.reported.push({ line: row + 1, reason: `vector ${JSON.stringify(raw)}: another vector already became concept ${concept}` });
      return;
    }
    concepts.add(concept);
    groups.set(context, [...(groups.get(context) ?? []), row]);
  });
  const contexts: Array<{ context: string; vectors: number; workflow_id: string }> = [];
  const first = loaded.metadata ? (Object.values(loaded.metadata)[0] as Row | undefined) : undefined;
  for (const [context, rows] of [...groups].sort(([a], [b]) => a.localeCompare(b))) {
    const vectors = new Float32Array(rows.length * table.dimension);
    rows.forEach((row, k) => vectors.set(table.vectors.subarray(row * table.dimension, (row + 1) * table.dimension), k * table.dimension));
    const ids = rows.map((row) => table.ids[row]);
    const r = await importVectorTable(engine, { ids, dimension: table.dimension, vectors }, context, source, batchSize);
    contexts.push({ context, vectors: r.count, workflow_id: r.workflow.workflow_id });
    // Where the vectors came from, and each legacy vector's own metadata; how many there are is
    // the concepts' to say (no count to go stale).
    const own = loaded.metadata ? Object.fromEntries(ids.filter((id) => loaded.metadata?.[id] !== undefined).map((id) => [id, loaded.metadata?.[id]])) : {};
    const origin = { model: first?.embedding_model ?? null, dimension: table.dimension, imported_from: source, imported_at: new Date().toISOString() };
    await engine.backend.files.write(context, 'embeddings.legacy.json', JSON.stringify({ legacy_embeddings: origin, vectors: own }) + '\n');
  }
  return { vectors: contexts.reduce((n, c) => n + c.vectors, 0), dimension: table.dimension, contexts };
}

export async function importLegacy(engine: Engine, dir: string, options: LegacyOptions = {}): Promise<LegacyResult> {
  const root = resolve(dir);
  if (!existsSync(root)) throw new SoftlogicError('FILE_NOT_FOUND', `no such directory: ${root}`, { path: root });
  if (!lstatSync(root).isDirectory()) throw new SoftlogicError('INVALID_INPUT', `${root} is not a directory`, { path: root });
  const merge = assertMerge(options.merge ?? 'overwrite');
  const override = options.context === undefined ? undefined : assertContextName(options.context);
  const contextsDir = firstExisting(join(root, 'contexts'), join(root, 'storage', 'contexts'));
  const workflowsDir = firstExisting(join(root, 'workflows'), join(root, 'storage', 'workflows'));
  const embeddingsDir = firstExisting(join(root, 'embeddings_cache'), join(root, 'storage', 'embeddings_cache'));
  if (!contextsDir && !workflowsDir && !embeddingsDir) {
    throw new SoftlogicError('INVALID_INPUT', `${root} does not look like a legacy storage directory (no contexts/, workflows/ or embeddings_cache/)`, { path: root });
  }
  const files: LegacyFileReport[] = [];
  const contexts: LegacyContext[] = [];
  if (contextsDir) {
    for (const e of readdirSync(contextsDir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (!e.isDirectory()) continue; // symlinks and files are not followed
      contexts.push({ legacyName: e.name, context: override ?? contextNameFor(e.name), dir: join(contextsDir, e.name) });
    }
  }
  const workflowContext = new Map<string, string>();
  const generators = contexts.map((c) => ({ c, items: contextItems(c, root, merge, files) }));
  let gi = 0;
  const source: StagedSource = {
    next: async () => {
      while (gi < generators.length) {
        const { c, items } = generators[gi];
        const r = await items.next();
        if (r.done) {
          gi += 1;
          continue;
        }
        if (r.value.op === 'put') {
          const wf = r.value.record.workflow_id;
          if (typeof wf === 'string' && !workflowContext.has(wf)) workflowContext.set(wf, c.context);
        }
        return { context: c.context, item: r.value };
      }
      return null;
    },
  };
  const staged = await stageAndProcess(engine, source, { source: root, legacy: true, merge }, () => ({ issues: [], rejected: 0 }), { batchSize: options.batchSize });
  const workflowFiles: string[] = [];
  if (workflowsDir) walkWorkflowFiles(workflowsDir, workflowFiles);
  const imported = await importWorkflows(engine, workflowFiles, root, workflowContext, files);
  let embeddings: LegacyResult['embeddings'] = null;
  if (embeddingsDir) {
    const loaded = readLegacyEmbeddings(embeddingsDir, root, files);
    const report = files.find((f) => f.kind === 'embeddings');
    if (loaded && loaded.table.ids.length > 0) embeddings = await importLegacyVectors(engine, override, loaded, relative(root, embeddingsDir), report, options.batchSize);
  }
  const refused = staged.workflows.flatMap((w) => w.error_log);
  const result: LegacyResult = {
    source: root,
    contexts: contexts.map((c) => ({ legacy: c.legacyName, context: c.context })),
    files,
    records: files.reduce((s, f) => s + (f.kind === 'analogies_jsonl' ? (f.records ?? 0) : f.kind === 'concepts_sqlite' ? (f.records ?? 0) - (f.merged_into_log_records ?? 0) : 0), 0),
    deletions: files.reduce((s, f) => s + (f.deletions ?? 0), 0),
    workflows_imported: imported,
    embeddings,
    workflows: staged.workflows,
    applied: staged.applied,
    refused,
  };
  await engine.backend.audit.record({
    event: 'legacy_imported',
    source: root,
    records: result.records,
    deletions: result.deletions,
    workflows_imported: imported,
    reported: files.reduce((s, f) => s + f.reported.length, 0),
    embeddings: embeddings?.vectors ?? 0,
    workflows: staged.workflows.map((w) => w.workflow_id),
  });
  return result;
}
