import { SoftlogicError, isSoftlogicError } from '../../core/errors.js';
import { assertContextName, DEFAULT_CONTEXT } from '../../core/names.js';
import { readInputRecords } from '../../core/input-files.js';
import type { JsonObject, Workflow } from '../../core/records.js';
import type { FieldIssue } from '../../core/schemas.js';
import type { EmbeddingProvider } from '../../embeddings/index.js';
import type { Backend } from '../../backend/backend.js';
import type { RecordKind } from '../../core/records.js';
import type { WriteBatch } from '../../backend/write-batch.js';
import type { Engine } from '../../workflows/engine.js';
import { createWorkflow } from '../../workflows/create.js';
import { processWorkflow } from '../../workflows/process.js';
import { putEntity } from '../entities/mutations.js';
import { recordLimitIssue } from '../../core/json-limits.js';
import { encodeVector, type StoredEmbedding } from '../embeddings/codec.js';
import { effectiveSettings, parseProviderName, providerFor, settingsForWrite, type EmbeddingSettings } from '../embeddings/settings.js';
import { senseContextTexts } from './sense-context.js';
import { syncIndex } from '../embeddings/index-store.js';
import type { VectorTable } from '../../backend/vector-table.js';
import { decodeVector } from '../../core/vector-codec.js';
import { conceptId, MAX_DESCRIPTION, normalizeConceptName, resolveSynset, type ConceptFields, type ConceptRecord } from './concept-record.js';

/**
 * The concept_batch workflow: concepts validated and WordNet-resolved while staging, embedded and
 * written when processed (one store batch per chunk, vectors included).
 *
 * Staged items:
 *   {"op":"put","name":...,"synset_id":...,"disambiguation":...,"description":...,"metadata":{...}}
 *   {"op":"vector","name":...,"id":...,"embedding":{provider,dimension,fallback,b64}}  (NPZ import:
 *     the vector of an existing concept is replaced; a missing concept is created with it)
 */
export type ConceptItem =
  | { op: 'put'; name: string; synset_id: string | null; disambiguation: string | null; description: string | null; metadata?: JsonObject }
  | { op: 'vector'; name: string; id: string; embedding: StoredEmbedding };

const KNOWN_FIELDS = new Set(['name', 'synset', 'synset_id', 'description', 'metadata']);

/** Validates one input line into a staged item (WordNet senses resolved), or its issues. */
export function stageConceptValue(value: unknown, line: number, contextTexts: readonly string[] = []): { item: ConceptItem } | { issues: FieldIssue[] } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { issues: [{ line, field: '(record)', reason: 'expected an object {name, synset?, description?}' }] };
  const limit = recordLimitIssue(value, line);
  if (limit) return { issues: [limit] };
  const v = value as Record<string, unknown>;
  const unknown = Object.keys(v).filter((k) => !KNOWN_FIELDS.has(k));
  if (unknown.length > 0) return { issues: unknown.map((k) => ({ line, field: k, reason: 'unknown field' })) };
  try {
    const name = normalizeConceptName(v.name);
    const synsetArg = v.synset ?? v.synset_id;
    if (synsetArg !== undefined && synsetArg !== null && typeof synsetArg !== 'string') return { issues: [{ line, field: 'synset', reason: 'must be a string' }] };
    if (v.description !== undefined && v.description !== null && (typeof v.description !== 'string' || v.description.length > MAX_DESCRIPTION)) {
      return { issues: [{ line, field: 'description', reason: `must be a string of at most ${MAX_DESCRIPTION} characters` }] };
    }
    if (v.metadata !== undefined && (typeof v.metadata !== 'object' || v.metadata === null || Array.isArray(v.metadata))) {
      return { issues: [{ line, field: 'metadata', reason: 'must be an object' }] };
    }
    const description = typeof v.description === 'string' ? [v.description] : [];
    const { synset } = resolveSynset(name, synsetArg as string | null | undefined, [...contextTexts, ...description]);
    const item: ConceptItem = {
      op: 'put',
      name,
      synset_id: synset?.id ?? null,
      disambiguation: synset?.gloss ?? null,
      description: (v.description as string | null | undefined) ?? null,
    };
    if (v.metadata !== undefined) item.metadata = v.metadata as JsonObject;
    return { item };
  } catch (err) {
    if (!isSoftlogicError(err)) throw err;
    return { issues: [{ line, field: typeof err.details.field === 'string' ? err.details.field : '(record)', reason: err.message }] };
  }
}

export interface ConceptProvider {
  settings: EmbeddingSettings;
  provider: EmbeddingProvider | null;
  /** the backend's vector table: each concept's vector goes into it with the concept's batch */
  vectors: VectorTable;
}

const providers = new WeakMap<Backend, Map<string, ConceptProvider>>();

/**
 * The embedding provider of a context, read before a chunk's batch (the batch itself reads
 * synchronously). Settings never change once recorded, so a process keeps them per context.
 */
export async function conceptProvider(backend: Backend, context: string): Promise<ConceptProvider> {
  let perBackend = providers.get(backend);
  if (!perBackend) providers.set(backend, (perBackend = new Map()));
  let p = perBackend.get(context);
  if (!p) {
    const settings = await effectiveSettings(backend, context);
    if (!settings) throw new SoftlogicError('INVALID_INPUT', `context '${context}' has no embedding provider recorded`, { context });
    p = { settings, provider: settings.provider === 'imported' ? null : providerFor(settings), vectors: backend.vectors };
    perBackend.set(context, p);
  }
  return p;
}

/** A staged item with the id of the concept it writes (what the applier reads through `batch.current`). */
export interface ConceptChange {
  item: ConceptItem;
  id: string;
}

export function parseConceptItem(json: string, context: string): ConceptChange {
  const item = JSON.parse(json) as ConceptItem;
  return { item, id: item.op === 'vector' ? item.id : conceptId(context, item.name, item.synset_id) };
}

export function conceptItemKeys({ id }: ConceptChange): ReadonlyArray<readonly [RecordKind, string]> {
  return [['concept', id]];
}

export function applyConceptItem(batch: WriteBatch, { item, id }: ConceptChange, now: string, { settings, provider, vectors }: ConceptProvider): ConceptRecord {
  const context = batch.context.name;
  if (item.op === 'vector') {
    if (item.embedding.dimension !== settings.dimension) {
      throw new SoftlogicError('DIMENSION_MISMATCH', `vector of ${item.id} has ${item.embedding.dimension} dimensions, context '${context}' holds ${settings.dimension}-d vectors`);
    }
    const stored = batch.current<ConceptRecord>('concept', id);
    const base: ConceptFields = stored
      ? (() => {
          const { version: _v, deleted_at: _d, updated_at: _u, ...rest } = stored.record();
          return rest as ConceptFields;
        })()
      : {
          id: item.id,
          name: item.name,
          context,
          synset_id: null,
          disambiguation: null,
          description: null,
          frame_roles: [],
          cluster_memberships: {},
          metadata: {},
          embedding: null,
        };
    const put = putEntity<ConceptRecord>(batch, 'concept', { ...base, embedding: item.embedding }, now);
    // The vector table follows in the same batch, so an import needs no catch-up re-read.
    vectors.put(batch, { id: put.id, name: put.name, synset_id: put.synset_id, fallback: item.embedding.fallback, vector: decodeVector(item.embedding) });
    return put;
  }
  if (!provider) providerFor(settings);
  const p = provider as EmbeddingProvider;
  const embedded = p.embed(item.name);
  // The hot path of a batch: the record is built in one literal (field order as everywhere).
  const stored = batch.current<ConceptRecord>('concept', id);
  const created = stored ? (stored.record().created_at ?? now) : now;
  const record: ConceptRecord = {
    id,
    name: item.name,
    context,
    synset_id: item.synset_id,
    disambiguation: item.disambiguation,
    description: item.description,
    frame_roles: [],
    cluster_memberships: {},
    metadata: item.metadata ?? {},
    embedding: { provider: p.name, dimension: p.dimension, fallback: embedded.fallback, b64: encodeVector(embedded.vector) },
    created_at: created,
    updated_at: now,
    version: stored ? stored.version + 1 : 1,
    deleted_at: null,
  };
  batch.change('concept', 'put', record, stored, { fresh: stored === undefined });
  vectors.put(batch, { id, name: item.name, synset_id: item.synset_id, fallback: embedded.fallback, vector: embedded.vector });
  return record;
}

export interface ConceptImportOptions {
  context?: string;
  provider?: string;
  batchSize?: number;
  workflowId?: string;
}

export interface ConceptImportResult {
  workflow: Workflow;
  imported: number;
}

const LISTED_ISSUES = 1000;

/** Stages a JSON-lines (or JSON array) file of concepts as a concept_batch workflow; strict. */
export async function stageConceptFile(engine: Engine, file: string, options: ConceptImportOptions = {}): Promise<Workflow> {
  const context = assertContextName(options.context ?? DEFAULT_CONTEXT);
  await settingsForWrite(engine.backend, context, { provider: options.provider === undefined ? undefined : parseProviderName(options.provider) });
  return createWorkflow(engine, { workflowType: 'concept_batch', context, workflowId: options.workflowId, metadata: { source: file }, autoProcess: true }, async (writer) => {
    const issues: FieldIssue[] = [];
    let rejected = 0;
    // `synset: auto` lines choose their sense from what the context holds when staging starts.
    const contextTexts = await senseContextTexts(engine.backend, context);
    for await (const input of readInputRecords(file)) {
      const staged = 'error' in input ? { issues: [{ line: input.line, field: '(line)', reason: input.error }] } : stageConceptValue(input.value, input.line, contextTexts);
      if ('item' in staged) {
        if (rejected === 0) writer.add(staged.item);
        continue;
      }
      rejected += 1;
      if (issues.length < LISTED_ISSUES) issues.push(...staged.issues.slice(0, LISTED_ISSUES - issues.length));
    }
    if (rejected > 0) {
      throw new SoftlogicError('IMPORT_REJECTED', `${file}: ${rejected} invalid line(s); nothing was imported`, { file, rejected, issues });
    }
    if (writer.count === 0) throw new SoftlogicError('EMPTY_INPUT', `${file} holds no concepts`, { file });
  });
}

export async function importConcepts(engine: Engine, file: string, options: ConceptImportOptions = {}): Promise<ConceptImportResult> {
  const staged = await stageConceptFile(engine, file, options);
  const workflow = await processWorkflow(engine, staged.workflow_id, { batchSize: options.batchSize });
  // The vector cache and the (exact) index catch up now, so the first search does not wait; a
  // long-lived process then builds the HNSW graph in the background (index-store.ts).
  await syncIndex(engine.backend, staged.context);
  return { workflow, imported: workflow.items_processed - workflow.error_count };
}

/** Stages already-built items (NPZ import) as a concept_batch workflow and processes it. */
export async function runConceptItems(engine: Engine, context: string, items: Iterable<ConceptItem>, metadata: JsonObject, batchSize?: number): Promise<Workflow> {
  const wf = await createWorkflow(engine, { workflowType: 'concept_batch', context, metadata, autoProcess: true }, (writer) => {
    for (const item of items) writer.add(item);
    if (writer.count === 0) throw new SoftlogicError('EMPTY_INPUT', 'no vectors to import');
  });
  return processWorkflow(engine, wf.workflow_id, { batchSize });
}
