import { SoftlogicError } from '../../core/errors.js';
import { assertContextName, assertId, DEFAULT_CONTEXT } from '../../core/names.js';
import type { Backend } from '../../backend/backend.js';
import type { StoredVersion } from '../../backend/write-batch.js';
import { putEntity } from '../entities/mutations.js';
import { findEntity } from '../entities/read.js';
import { deleteEntityById, restoreEntityById } from '../entities/single.js';
import { parseProviderName, providerFor, settingsForWrite } from '../embeddings/settings.js';
import { syncIndex } from '../embeddings/index-store.js';
import type { SenseChoice } from '../../reasoning/word-sense.js';
import { senseContextTexts } from './sense-context.js';
import { linkConcept, linkConcepts } from './concept-links.js';
import { buildConcept, contextOfId, normalizeConceptName, type ConceptFields, type ConceptInput, type ConceptRecord } from './concept-record.js';

export interface AddConceptOptions {
  context?: string;
  provider?: string;
}

/** A concept as written, with how `--synset auto` chose its sense (not stored). */
export type AddedConcept = ConceptRecord & { sense?: SenseChoice };

/** Creates (or updates, as its next version) one concept with its vector: a batch of one. */
export async function addConcept(backend: Backend, input: ConceptInput, options: AddConceptOptions = {}): Promise<AddedConcept> {
  const context = assertContextName(options.context ?? DEFAULT_CONTEXT);
  normalizeConceptName(input.name);
  const settings = await settingsForWrite(backend, context, { provider: options.provider === undefined ? undefined : parseProviderName(options.provider) });
  const { sense, ...built } = buildConcept(context, input, providerFor(settings), input.synset === 'auto' ? await senseContextTexts(backend, context) : []);
  const record = await backend.write(
    context,
    (batch) => putEntity<ConceptRecord>(batch, 'concept', keepUngivenFields(batch.current<ConceptRecord>('concept', built.id), built, input), new Date().toISOString()),
    { prefetch: [['concept', built.id]] },
  );
  await syncIndex(backend, context);
  const linked = await linkConcept(backend, record);
  return sense ? { ...linked, sense } : linked;
}

/**
 * Adding a name that is already an active concept of the context makes its next version: the
 * fields the caller did not give (description, metadata) stay, and so do the fields other
 * operations set (the vector); frame roles and cluster memberships are derived when read.
 */
function keepUngivenFields(stored: StoredVersion<ConceptRecord> | undefined, built: ConceptFields, input: ConceptInput): ConceptFields {
  if (!stored || stored.deleted) return built;
  const current = stored.record();
  return {
    ...built,
    description: input.description === undefined ? current.description : built.description,
    metadata: input.metadata === undefined ? current.metadata : built.metadata,
    embedding: current.embedding ?? built.embedding,
  };
}

/** The context to look a concept id up in: the given one, else the one its id names. */
async function lookupContext(backend: Backend, id: string, context?: string): Promise<string> {
  const ctx = context ?? contextOfId(id) ?? DEFAULT_CONTEXT;
  await backend.contexts.require(ctx);
  return ctx;
}

export async function getConcept(backend: Backend, id: string, context?: string): Promise<ConceptRecord> {
  assertId(id, 'concept id');
  const ctx = await lookupContext(backend, id, context);
  const found = (await findEntity<ConceptRecord>(backend, 'concept', id, ctx)) ?? wrapFound(await findConcept(backend, id, ctx));
  if (!found) throw new SoftlogicError('NOT_FOUND', `concept ${id} not found in context '${ctx}' or its parents`, { id, context: ctx });
  return linkConcept(backend, found.record);
}

/** A bare name (or an id of another context) resolves by name along the context chain. */
function wrapFound(record: ConceptRecord | undefined): { record: ConceptRecord } | undefined {
  return record ? { record } : undefined;
}

/**
 * A concept by id, or by name in a context (and its parents): the nearest context wins; among
 * senses of one name the one without a synset, else the first by id. Active concepts only.
 */
export async function findConcept(backend: Backend, nameOrId: string, context: string): Promise<ConceptRecord | undefined> {
  const chain = (await backend.contexts.chain(context)).map((c) => c.name);
  if (nameOrId.includes(':')) {
    // `c:name[:synset]` not in c falls back to `p:name[:synset]` for each parent p of c.
    const ctx = contextOfId(nameOrId);
    const rest = nameOrId.slice(nameOrId.indexOf(':') + 1);
    const where = ctx && (await backend.contexts.get(ctx)) ? [...(await backend.contexts.chain(ctx)).map((c) => c.name), ...chain] : chain;
    for (const c of where) {
      for (const id of [nameOrId, `${c}:${rest}`]) {
        const record = await backend.records.getEntity<ConceptRecord>(c, 'concept', id);
        if (record && record.deleted_at === null) return record;
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
  for (const ctx of chain) {
    const [first] = await backend.records.queryEntities<ConceptRecord>(ctx, 'concept', { name, order: 'shortest-id', limit: 1 });
    if (first) return first;
  }
  return undefined;
}

/** Soft-deletes (or restores) one concept as any entity (audited); the vector index follows. */
async function changeConcept(backend: Backend, change: typeof deleteEntityById, id: string, context?: string): Promise<ConceptRecord> {
  assertId(id, 'concept id');
  const ctx = await lookupContext(backend, id, context);
  const record = await change<ConceptRecord>(backend, 'concept', id, ctx);
  await syncIndex(backend, ctx);
  return linkConcept(backend, record);
}

export function deleteConcept(backend: Backend, id: string, context?: string): Promise<ConceptRecord> {
  return changeConcept(backend, deleteEntityById, id, context);
}

export function restoreConcept(backend: Backend, id: string, context?: string): Promise<ConceptRecord> {
  return changeConcept(backend, restoreEntityById, id, context);
}

export interface SearchOptions {
  context?: string;
  limit?: number;
  includeDeleted?: boolean;
}

/**
 * Concepts whose name, description, gloss (disambiguation) or context name contains TEXT
 * (case-insensitive; spaces match underscores in names), over the context and its parents.
 */
export async function searchConcepts(backend: Backend, text: string, options: SearchOptions = {}): Promise<ConceptRecord[]> {
  const q = text.trim().toLowerCase();
  if (q.length === 0) throw new SoftlogicError('INVALID_INPUT', 'search text must not be empty', { field: 'text' });
  const limit = options.limit ?? 100;
  const context = assertContextName(options.context ?? DEFAULT_CONTEXT);
  const out: ConceptRecord[] = [];
  const seen = new Set<string>();
  const texts = [...new Set([q, q.replace(/\s+/g, '_')])];
  for (const ctx of await backend.contexts.chain(context)) {
    // A context whose name matches offers all its concepts.
    const textAnyOf = ctx.name.toLowerCase().includes(q) ? undefined : texts;
    for (const record of await backend.records.queryEntities<ConceptRecord>(ctx.name, 'concept', { includeDeleted: options.includeDeleted, textAnyOf, order: 'name', limit })) {
      if (seen.has(record.id) || out.length >= limit) continue;
      seen.add(record.id);
      out.push(record);
    }
  }
  return linkConcepts(backend, out);
}

export async function listConcepts(backend: Backend, context = DEFAULT_CONTEXT, options: { includeDeleted?: boolean; limit?: number } = {}): Promise<ConceptRecord[]> {
  const ctx = await backend.contexts.require(context);
  const records = await backend.records.queryEntities<ConceptRecord>(ctx.name, 'concept', { includeDeleted: options.includeDeleted, limit: options.limit ?? 1_000_000 });
  return linkConcepts(backend, records);
}
