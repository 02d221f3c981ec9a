import { SoftlogicError } from '../../core/errors.js';
import { assertContextName, assertId, DEFAULT_CONTEXT } from '../../core/names.js';
import type { EmbeddedStore } from '../../backend/embedded/embedded-store.js';
import { CONTEXT_ROWS, contextKeyRange } from '../../backend/embedded/sqlite-schema.js';
import { putEntity, restoreEntity, softDeleteEntity } from '../entities/mutations.js';
import { findEntity, readEntity } from '../entities/read.js';
import { parseProviderName, providerFor, settingsForWrite } from '../embeddings/settings.js';
import { syncIndex } from '../embeddings/index-store.js';
import { embeddedVectorParts } from '../../backend/embedded/embedded-vector-parts.js';
import type { SenseChoice } from '../../reasoning/word-sense.js';
import { senseContextTexts } from './sense-context.js';
import { conceptLinks, linkConcept, linkConcepts, withLinks } from './concept-links.js';
import { buildConcept, contextOfId, normalizeConceptName, type ConceptFields, type ConceptInput, type ConceptRecord } from './concept-record.js';

export interface AddConceptOptions {
  context?: string;
  provider?: string;
}

/** A concept as written, with how `--synset auto` chose its sense (not stored). */
export type AddedConcept = ConceptRecord & { sense?: SenseChoice };

/** Creates (or updates, as its next version) one concept with its vector: a batch of one. */
export async function addConcept(store: EmbeddedStore, input: ConceptInput, options: AddConceptOptions = {}): Promise<AddedConcept> {
  const context = assertContextName(options.context ?? DEFAULT_CONTEXT);
  normalizeConceptName(input.name);
  const settings = await settingsForWrite(embeddedVectorParts(store), context, { provider: options.provider === undefined ? undefined : parseProviderName(options.provider) });
  const { sense, ...built } = buildConcept(context, input, providerFor(settings), input.synset === 'auto' ? senseContextTexts(store, context) : []);
  const record = store.write(context, (batch) => {
    const fields = keepUngivenFields(store, context, built, input);
    return putEntity<ConceptRecord>(store, batch, 'concept', fields, new Date().toISOString());
  });
  await syncIndex(embeddedVectorParts(store), context);
  const linked = linkConcept(store, record);
  return sense ? { ...linked, sense } : linked;
}

/**
 * Adding a name that is already an active concept of the context makes its next version: the
 * fields the caller did not give (description, metadata) stay, and so do the fields other
 * operations set (the vector); frame roles and cluster memberships are derived when read.
 */
function keepUngivenFields(store: EmbeddedStore, context: string, built: ConceptFields, input: ConceptInput): ConceptFields {
  const row = store.entities.get(store.requireContext(context).ctx, 'concept', built.id);
  if (!row || row.deleted_at !== null) return built;
  const current = readEntity<ConceptRecord>(store, context, row);
  return {
    ...built,
    description: input.description === undefined ? current.description : built.description,
    metadata: input.metadata === undefined ? current.metadata : built.metadata,
    embedding: current.embedding ?? built.embedding,
  };
}

/** The context to look a concept id up in: the given one, else the one its id names. */
function lookupContext(store: EmbeddedStore, id: string, context?: string): string {
  const ctx = context ?? contextOfId(id) ?? DEFAULT_CONTEXT;
  store.requireContext(ctx);
  return ctx;
}

export function getConcept(store: EmbeddedStore, id: string, context?: string): ConceptRecord {
  assertId(id, 'concept id');
  const ctx = lookupContext(store, id, context);
  const found = findEntity<ConceptRecord>(store, 'concept', id, ctx) ?? wrapFound(findConcept(store, id, ctx));
  if (!found) throw new SoftlogicError('NOT_FOUND', `concept ${id} not found in context '${ctx}' or its parents`, { id, context: ctx });
  return linkConcept(store, found.record);
}

/** A bare name (or an id of another context) resolves by name along the context chain. */
function wrapFound(record: ConceptRecord | undefined): { record: ConceptRecord } | undefined {
  return record ? { record } : undefined;
}

/**
 * A concept by id, or by name in a context (and its parents): the nearest context wins; among
 * senses of one name the one without a synset, else the first by id. Active concepts only.
 */
export function findConcept(store: EmbeddedStore, nameOrId: string, context: string): ConceptRecord | undefined {
  if (nameOrId.includes(':')) {
    // `c:name[:synset]` not in c falls back to `p:name[:synset]` for each parent p of c.
    const ctx = contextOfId(nameOrId);
    const rest = nameOrId.slice(nameOrId.indexOf(':') + 1);
    const chain = store.contextChain(context).map((c) => c.name);
    const where = ctx && store.context(ctx) ? [...store.contextChain(ctx).map((c) => c.name), ...chain] : chain;
    for (const c of where) {
      for (const id of [nameOrId, `${c}:${rest}`]) {
        const row = store.entities.get(store.requireContext(c).ctx, 'concept', id);
        if (row && row.deleted_at === null) return readEntity<ConceptRecord>(store, c, row);
      }
    }
    return undefined;
  }
  let name: string;
  try {
    name = normalizeConceptName(nameOrId);
  } catch {
    return undefined;
  }
  for (const ctx of store.contextChain(context)) {
    const rows = store.db
      .prepare(`SELECT key, off, len, id FROM entities WHERE ctx = ? AND kind = 'concept' AND name = ? AND deleted_at IS NULL ORDER BY length(id), id`)
      .all(ctx.ctx, name) as Array<{ key: number; off: number; len: number; id: string }>;
    if (rows.length > 0) return readEntity<ConceptRecord>(store, ctx.name, rows[0]);
  }
  return undefined;
}

export async function deleteConcept(store: EmbeddedStore, id: string, context?: string): Promise<ConceptRecord> {
  assertId(id, 'concept id');
  const ctx = lookupContext(store, id, context);
  const record = store.write(ctx, (batch) => softDeleteEntity<ConceptRecord>(store, batch, 'concept', id, new Date().toISOString()));
  store.audit.record({ event: 'concept_deleted', context: ctx, id, version: record.version });
  await syncIndex(embeddedVectorParts(store), ctx);
  return linkConcept(store, record);
}

export async function restoreConcept(store: EmbeddedStore, id: string, context?: string): Promise<ConceptRecord> {
  assertId(id, 'concept id');
  const ctx = lookupContext(store, id, context);
  const record = store.write(ctx, (batch) => restoreEntity<ConceptRecord>(store, batch, 'concept', id, new Date().toISOString()));
  store.audit.record({ event: 'concept_restored', context: ctx, id, version: record.version });
  await syncIndex(embeddedVectorParts(store), ctx);
  return linkConcept(store, record);
}

export interface SearchOptions {
  context?: string;
  limit?: number;
  includeDeleted?: boolean;
}

function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/**
 * Concepts whose name, description, gloss (disambiguation) or context name contains TEXT
 * (case-insensitive; spaces match underscores in names), over the context and its parents.
 */
export function searchConcepts(store: EmbeddedStore, text: string, options: SearchOptions = {}): ConceptRecord[] {
  const q = text.trim().toLowerCase();
  if (q.length === 0) throw new SoftlogicError('INVALID_INPUT', 'search text must not be empty', { field: 'text' });
  const limit = options.limit ?? 100;
  const context = assertContextName(options.context ?? DEFAULT_CONTEXT);
  const out: ConceptRecord[] = [];
  const seen = new Set<string>();
  const patterns = [...new Set([q, q.replace(/\s+/g, '_')])].map((p) => `%${escapeLike(p)}%`);
  for (const ctx of store.contextChain(context)) {
    const contextMatches = ctx.name.toLowerCase().includes(q);
    const where = contextMatches ? '' : ` AND (${patterns.map(() => `search LIKE ? ESCAPE '\\'`).join(' OR ')})`;
    const rows = store.db
      .prepare(`SELECT key, off, len, id FROM entities WHERE ctx = ? AND kind = 'concept'${options.includeDeleted ? '' : ' AND deleted_at IS NULL'}${where} ORDER BY name, id LIMIT ?`)
      .all(ctx.ctx, ...(contextMatches ? [] : patterns), limit) as Array<{ key: number; off: number; len: number; id: string }>;
    for (const row of rows) {
      if (seen.has(row.id) || out.length >= limit) continue;
      seen.add(row.id);
      out.push(readEntity<ConceptRecord>(store, ctx.name, row));
    }
  }
  return linkConcepts(store, out);
}

export function listConcepts(store: EmbeddedStore, context = DEFAULT_CONTEXT, options: { includeDeleted?: boolean; limit?: number } = {}): ConceptRecord[] {
  const ctx = store.requireContext(context);
  const rows = store.db
    .prepare(`SELECT key, off, len FROM entities NOT INDEXED WHERE ${CONTEXT_ROWS} AND kind = 'concept'${options.includeDeleted ? '' : ' AND deleted_at IS NULL'} ORDER BY key LIMIT ?`)
    .all(...contextKeyRange(ctx.ctx), options.limit ?? 1_000_000) as Array<{ key: number; off: number; len: number }>;
  const links = conceptLinks(store, ctx.name);
  return rows.map((r) => withLinks(readEntity<ConceptRecord>(store, ctx.name, r), links));
}
