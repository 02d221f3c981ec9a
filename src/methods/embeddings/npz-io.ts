import { SoftlogicError } from '../../core/errors.js';
import { assertContextName, DEFAULT_CONTEXT, isValidId } from '../../core/names.js';
import type { Workflow } from '../../core/records.js';
import { encodeEmbeddingsNpz, readEmbeddingsNpz, writeEmbeddingsNpz, normalize, type EmbeddingsTable } from '../../embeddings/index.js';
import type { VectorBackend } from '../../backend/vector-table.js';
import type { Backend } from '../../backend/backend.js';
import type { Engine } from '../../workflows/engine.js';
import { runConceptItems, type ConceptItem } from '../concepts/batch.js';
import { normalizeConceptName } from '../concepts/concept-record.js';
import { encodeVector } from './codec.js';
import { effectiveSettings, settingsForWrite } from './settings.js';
import { contextMatrix } from './context-vectors.js';

/**
 * NPZ in and out. The store's own copy (the context file `embeddings.npz`) is refreshed by every
 * `embeddings export` and `embeddings import` of that context and by `softlogic rebuild`; the
 * concept records stay the truth.
 */

/** Whether `id` names a concept of the context (deleted ones too). */
async function isConcept(backend: Backend, context: string, id: string): Promise<boolean> {
  return (await backend.records.current(context, 'concept', id)) !== undefined;
}
export interface ExportResult {
  context: string;
  out: string;
  store_copy: string;
  count: number;
  dimension: number;
}

/**
 * The store's copy is rewritten from the concept vectors; a copy holding vectors of ids that are
 * not concepts of the context (written by an earlier version's legacy migration) would lose them, so the
 * export is refused until they are imported as concepts.
 */
async function refuseToShrink(backend: Backend, context: string): Promise<void> {
  const copy = await backend.files.read(context, 'embeddings.npz');
  if (!copy) return;
  const file = backend.files.location(context, 'embeddings.npz');
  // Ids of concepts (deleted ones too: their vectors may go) are the store's; others are not.
  const missing: string[] = [];
  for (const id of readEmbeddingsNpz(copy).ids) if (!(await isConcept(backend, context, id))) missing.push(id);
  if (missing.length > 0) {
    throw new SoftlogicError(
      'CONFLICT',
      `${file} holds ${missing.length} vector(s) that are not concept vectors of '${context}' (e.g. ${JSON.stringify(missing[0])}); import that file into the context first so that no vector is lost`,
      { context, file, missing: missing.slice(0, 20), missing_count: missing.length },
    );
  }
}

async function contextTable(backend: VectorBackend, context: string): Promise<EmbeddingsTable> {
  // Without settings: the dimension of the context's first vector (none, usually).
  const { ids, matrix, dimension } = await contextMatrix(backend, context, (await effectiveSettings(backend, context))?.dimension);
  return { ids, dimension, vectors: matrix };
}

/** Rewrites the store's copy (the context file embeddings.npz) from the concept vectors. */
export async function writeStoreNpz(backend: VectorBackend, context: string): Promise<{ count: number; dimension: number }> {
  const table = await contextTable(backend, context);
  await backend.files.write(context, 'embeddings.npz', encodeEmbeddingsNpz(table));
  return { count: table.ids.length, dimension: table.dimension };
}

/** Refreshes the store's copy when there is one (after a rollback changed concept vectors). */
export async function refreshStoreNpz(backend: VectorBackend, context: string): Promise<void> {
  if (await backend.files.read(context, 'embeddings.npz')) await writeStoreNpz(backend, context);
}

export async function exportEmbeddings(backend: Backend, out: string, context = DEFAULT_CONTEXT): Promise<ExportResult> {
  assertContextName(context);
  await backend.contexts.require(context);
  await refuseToShrink(backend, context);
  const table = await contextTable(backend, context);
  await backend.files.write(context, 'embeddings.npz', encodeEmbeddingsNpz(table));
  writeEmbeddingsNpz(out, table);
  return { context, out, store_copy: backend.files.location(context, 'embeddings.npz'), count: table.ids.length, dimension: table.dimension };
}

export interface ImportEmbeddingsResult {
  context: string;
  workflow: Workflow;
  count: number;
  dimension: number;
  created: number;
  updated: number;
}

/** ids + vectors, as an NPZ holds them. */
export type VectorTable = EmbeddingsTable;

/**
 * The concept an imported vector id names in `context`: `name`, or `ANY:name[:synset]` whatever
 * context ANY is (an export of another context, the original system's `animal:lion`), becomes
 * `context:name[:synset]`; the name is normalised as `concepts add` does (lower case, spaces to
 * `_`). The synset part is kept only when it is a synset id.
 */
export function conceptIdForVector(raw: string, context: string): { id: string; name: string } {
  const parts = raw.split(':');
  const synset = parts.length >= 3 && /^[^.]+\.[nvasr]\.\d\d$/.test(parts[parts.length - 1]) ? (parts.pop() as string) : null;
  const rawName = parts.length >= 2 ? parts.slice(1).join('_') : parts[0];
  const name = normalizeConceptName(rawName);
  const id = `${context}:${name}${synset ? `:${synset}` : ''}`;
  if (!isValidId(id)) throw new SoftlogicError('INVALID_INPUT', `id ${JSON.stringify(raw)} is too long for a concept id`, { id: raw });
  return { id, name };
}

/**
 * Imports ids + vectors into a context's concepts (created when missing, their vector replaced
 * when present) as one workflow; vectors are normalised. Two ids naming the same concept, a bad
 * id or an all-zero vector refuse the whole table, before anything is written.
 */
export async function importVectorTable(engine: Engine, table: VectorTable, context: string, source: string, batchSize?: number): Promise<ImportEmbeddingsResult> {
  const backend = engine.backend;
  assertContextName(context);
  if (table.ids.length === 0) throw new SoftlogicError('EMPTY_INPUT', `${source} holds no vectors`, { file: source });
  const mapped = table.ids.map((raw, i) => {
    try {
      return conceptIdForVector(raw, context);
    } catch (err) {
      throw new SoftlogicError('INVALID_INPUT', `${source}: id ${JSON.stringify(raw)} (row ${i}) does not name a concept: ${(err as Error).message}`, { row: i, id: raw });
    }
  });
  const firstRow = new Map<string, number>();
  mapped.forEach(({ id }, i) => {
    const before = firstRow.get(id);
    if (before !== undefined) {
      throw new SoftlogicError('INVALID_INPUT', `${source}: ids ${JSON.stringify(table.ids[before])} (row ${before}) and ${JSON.stringify(table.ids[i])} (row ${i}) both name concept ${id}`, {
        rows: [before, i],
        id,
      });
    }
    firstRow.set(id, i);
  });
  const settings = await settingsForWrite(backend, context, { dimension: table.dimension });
  let created = 0;
  const items: ConceptItem[] = [];
  for (let i = 0; i < mapped.length; i++) {
    const { id, name } = mapped[i];
    const v = table.vectors.subarray(i * table.dimension, (i + 1) * table.dimension);
    if (v.every((x) => x === 0)) throw new SoftlogicError('INVALID_INPUT', `${source}: vector ${JSON.stringify(table.ids[i])} (row ${i}) is all zeros`, { row: i, id: table.ids[i] });
    if (!(await isConcept(backend, context, id))) created++;
    items.push({ op: 'vector', id, name, embedding: { provider: 'imported', dimension: settings.dimension, fallback: false, b64: encodeVector(normalize(v)) } });
  }
  const workflow = await runConceptItems(engine, context, items, { source, kind: 'embeddings_import' }, batchSize);
  await writeStoreNpz(backend, context);
  return { context, workflow, count: items.length, dimension: settings.dimension, created, updated: items.length - created };
}

/** `embeddings import FILE`: an NPZ's ids + vectors into a context (ids mapped by conceptIdForVector). */
export async function importEmbeddings(engine: Engine, file: string, context = DEFAULT_CONTEXT, batchSize?: number): Promise<ImportEmbeddingsResult> {
  assertContextName(context);
  return importVectorTable(engine, readEmbeddingsNpz(file), context, file, batchSize);
}
