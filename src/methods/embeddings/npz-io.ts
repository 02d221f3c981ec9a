import { existsSync } from 'node:fs';
import { SoftlogicError } from '../../core/errors.js';
import { assertContextName, DEFAULT_CONTEXT, isValidId } from '../../core/names.js';
import type { Workflow } from '../../core/records.js';
import { readEmbeddingsNpz, writeEmbeddingsNpz, normalize } from '../../embeddings/index.js';
import type { EmbeddedStore } from '../../backend/embedded/embedded-store.js';
import type { Engine } from '../../workflows/engine.js';
import { runConceptItems, type ConceptItem } from '../concepts/batch.js';
import { normalizeConceptName } from '../concepts/concept-record.js';
import { encodeVector } from './codec.js';
import { effectiveSettings, settingsForWrite } from './settings.js';
import { contextVectors } from './vector-cache.js';

/**
 * NPZ in and out. The store's own copy, contexts/<c>/embeddings.npz, is refreshed by every
 * `embeddings export` and `embeddings import` of that context and by `softlogic rebuild`; the
 * concept records (in the log) stay the truth.
 */
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
function refuseToShrink(store: EmbeddedStore, context: string, copy: string): void {
  if (!existsSync(copy)) return;
  const ctx = store.requireContext(context).ctx;
  // Ids of concepts (deleted ones too: their vectors may go) are the store's; others are not.
  const missing = readEmbeddingsNpz(copy).ids.filter((id) => !store.entities.get(ctx, 'concept', id));
  if (missing.length > 0) {
    throw new SoftlogicError(
      'CONFLICT',
      `${copy} holds ${missing.length} vector(s) that are not concept vectors of '${context}' (e.g. ${JSON.stringify(missing[0])}); import that file into the context first so that no vector is lost`,
      { context, file: copy, missing: missing.slice(0, 20), missing_count: missing.length },
    );
  }
}

export function writeContextNpz(store: EmbeddedStore, context: string, path: string): { count: number; dimension: number } {
  const vectors = contextVectors(store, context);
  const dimension = effectiveSettings(store, context)?.dimension ?? vectors[0]?.vector.length ?? 0;
  const rows = vectors.filter((v) => v.vector.length === dimension);
  const matrix = new Float32Array(rows.length * dimension);
  rows.forEach((v, i) => matrix.set(v.vector, i * dimension));
  writeEmbeddingsNpz(path, { ids: rows.map((v) => v.id), dimension, vectors: matrix });
  return { count: rows.length, dimension };
}

export function exportEmbeddings(store: EmbeddedStore, out: string, context = DEFAULT_CONTEXT): ExportResult {
  assertContextName(context);
  store.requireContext(context);
  const copy = store.layout.embeddings(context);
  refuseToShrink(store, context, copy);
  const r = writeContextNpz(store, context, copy);
  writeContextNpz(store, context, out);
  return { context, out, store_copy: copy, ...r };
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
export interface VectorTable {
  ids: string[];
  dimension: number;
  vectors: Float32Array;
}

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
  const store = engine.store;
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
  const settings = settingsForWrite(store, context, { dimension: table.dimension });
  const ctxRow = store.requireContext(context);
  let created = 0;
  const items: ConceptItem[] = mapped.map(({ id, name }, i) => {
    const v = table.vectors.subarray(i * table.dimension, (i + 1) * table.dimension);
    if (v.every((x) => x === 0)) throw new SoftlogicError('INVALID_INPUT', `${source}: vector ${JSON.stringify(table.ids[i])} (row ${i}) is all zeros`, { row: i, id: table.ids[i] });
    if (!store.entities.get(ctxRow.ctx, 'concept', id)) created++;
    return { op: 'vector', id, name, embedding: { provider: 'imported', dimension: settings.dimension, fallback: false, b64: encodeVector(normalize(v)) } };
  });
  const workflow = await runConceptItems(engine, context, items, { source, kind: 'embeddings_import' }, batchSize);
  writeContextNpz(store, context, store.layout.embeddings(context));
  return { context, workflow, count: items.length, dimension: settings.dimension, created, updated: items.length - created };
}

/** `embeddings import FILE`: an NPZ's ids + vectors into a context (ids mapped by conceptIdForVector). */
export async function importEmbeddings(engine: Engine, file: string, context = DEFAULT_CONTEXT, batchSize?: number): Promise<ImportEmbeddingsResult> {
  assertContextName(context);
  return importVectorTable(engine, readEmbeddingsNpz(file), context, file, batchSize);
}
