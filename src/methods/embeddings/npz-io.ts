import { SoftlogicError } from '../../core/errors.js';
import { assertContextName, DEFAULT_CONTEXT, isValidId } from '../../core/names.js';
import type { Workflow } from '../../core/records.js';
import { readEmbeddingsNpz, writeEmbeddingsNpz, normalize } from '../../embeddings/index.js';
import type { EmbeddedStore } from '../../store/embedded/embedded-store.js';
import type { Engine } from '../../workflows/engine.js';
import { runConceptItems, type ConceptItem } from '../concepts/batch.js';
import { contextOfId, normalizeConceptName } from '../concepts/concept-record.js';
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

/**
 * Imports ids + vectors: an id that is a concept id of the context updates (or creates) that
 * concept; any other id is read as a name and becomes `context:name`. Vectors are normalised.
 */
export async function importEmbeddings(engine: Engine, file: string, context = DEFAULT_CONTEXT, batchSize?: number): Promise<ImportEmbeddingsResult> {
  const store = engine.store;
  assertContextName(context);
  const table = readEmbeddingsNpz(file);
  if (table.ids.length === 0) throw new SoftlogicError('EMPTY_INPUT', `${file} holds no vectors`, { file });
  const settings = settingsForWrite(store, context, { dimension: table.dimension });
  const items: ConceptItem[] = [];
  let created = 0;
  const ctxRow = store.requireContext(context);
  table.ids.forEach((raw, i) => {
    let id: string;
    let name: string;
    if (contextOfId(raw) === context && isValidId(raw)) {
      id = raw;
      name = raw.split(':')[1] ?? raw;
      try {
        name = normalizeConceptName(name);
      } catch (err) {
        throw new SoftlogicError('INVALID_INPUT', `${file}: id ${JSON.stringify(raw)} (row ${i}) does not name a concept`, { row: i, id: raw, reason: (err as Error).message });
      }
    } else {
      try {
        name = normalizeConceptName(raw);
      } catch (err) {
        throw new SoftlogicError('INVALID_INPUT', `${file}: id ${JSON.stringify(raw)} (row ${i}) is not a concept name: ${(err as Error).message}`, { row: i, id: raw });
      }
      id = `${context}:${name}`;
      if (!isValidId(id)) throw new SoftlogicError('INVALID_INPUT', `${file}: id ${JSON.stringify(raw)} (row ${i}) is too long`, { row: i });
    }
    const v = table.vectors.subarray(i * table.dimension, (i + 1) * table.dimension);
    if (v.every((x) => x === 0)) throw new SoftlogicError('INVALID_INPUT', `${file}: vector ${JSON.stringify(raw)} (row ${i}) is all zeros`, { row: i, id: raw });
    if (!store.entities.get(ctxRow.ctx, 'concept', id)) created++;
    items.push({ op: 'vector', id, name, embedding: { provider: 'imported', dimension: settings.dimension, fallback: false, b64: encodeVector(normalize(v)) } });
  });
  const workflow = await runConceptItems(engine, context, items, { source: file, kind: 'embeddings_import' }, batchSize);
  writeContextNpz(store, context, store.layout.embeddings(context));
  return { context, workflow, count: items.length, dimension: settings.dimension, created, updated: items.length - created };
}
