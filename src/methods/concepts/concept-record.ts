import { SoftlogicError } from '../../core/errors.js';
import { assertContextName, assertId } from '../../core/names.js';
import type { JsonObject, VersionFields } from '../../core/records.js';
import type { EmbeddingProvider } from '../../embeddings/index.js';
import { parseSynsetId, wordnet, type Synset } from '../../reasoning/wordnet.js';
import type { SenseChoice } from '../../reasoning/word-sense.js';
import { chooseSenseFor } from './sense-context.js';
import { encodeVector, type StoredEmbedding } from '../embeddings/codec.js';

/** A concept as stored (DESIGN.md "Records"), its vector inside. */
export type ConceptFields = {
  id: string;
  name: string;
  context: string;
  synset_id: string | null;
  disambiguation: string | null;
  description: string | null;
  frame_roles: string[];
  cluster_memberships: Record<string, number>;
  metadata: JsonObject;
  embedding: StoredEmbedding | null;
};
export type ConceptRecord = ConceptFields & VersionFields;

/** What a caller gives for one concept (`concepts add`, a line of `concepts import`). */
export interface ConceptInput {
  name: string;
  /** a synset id (king.n.01), or `auto` for the sense that fits the context (see word-sense.ts) */
  synset?: string | null;
  description?: string | null;
  metadata?: JsonObject;
}

export const MAX_NAME = 200;
export const MAX_DESCRIPTION = 16_384;

/** Lower case, trimmed, runs of white space to one underscore. Empty is refused. */
export function normalizeConceptName(name: unknown): string {
  if (typeof name !== 'string') throw new SoftlogicError('INVALID_INPUT', `concept name must be a string, got ${typeof name}`, { field: 'name' });
  const n = name.trim().toLowerCase().replace(/\s+/g, '_');
  if (n.length === 0) throw new SoftlogicError('INVALID_INPUT', 'concept name must not be empty', { field: 'name' });
  if (n.length > MAX_NAME) throw new SoftlogicError('INVALID_INPUT', `concept name is ${n.length} characters; at most ${MAX_NAME} are allowed`, { field: 'name' });
  if (!/^[a-z0-9_][a-z0-9_.-]*$/u.test(n)) {
    throw new SoftlogicError('INVALID_NAME', `concept name ${JSON.stringify(name)} may hold only letters a-z, digits, spaces, '_', '.', '-'`, { field: 'name' });
  }
  return n;
}

export function conceptId(context: string, name: string, synsetId: string | null): string {
  return assertId(`${context}:${name}${synsetId ? `:${synsetId}` : ''}`, 'concept id');
}

/** The context a concept id names (`finance:bank:bank.n.01` -> finance), if well-formed. */
export function contextOfId(id: string): string | undefined {
  const i = id.indexOf(':');
  if (i <= 0) return undefined;
  try {
    return assertContextName(id.slice(0, i));
  } catch {
    return undefined;
  }
}

export interface ResolvedSense {
  synset: Synset | null;
  /** How `auto` chose (candidates, scores, reason); absent for an explicit synset id. */
  choice?: SenseChoice;
}

/**
 * Resolves --synset: `auto` = the sense that fits the context words (`contextTexts`, see
 * sense-context.ts), else the most frequent; an id must exist in WordNet 3.1.
 */
export function resolveSynset(name: string, synset: string | null | undefined, contextTexts: readonly string[] = []): ResolvedSense {
  if (synset === undefined || synset === null || synset === '') return { synset: null };
  const wn = wordnet();
  if (synset === 'auto') {
    const choice = chooseSenseFor(name, contextTexts);
    return { synset: wn.synset(choice.synset_id), choice };
  }
  parseSynsetId(synset);
  if (!wn.hasSynset(synset)) throw new SoftlogicError('NOT_FOUND', `unknown WordNet synset "${synset}"`, { synset_id: synset, field: 'synset' });
  return { synset: wn.synset(synset) };
}

/** A concept's fields before versioning, with its vector. */
export function buildConcept(context: string, input: ConceptInput, provider: EmbeddingProvider, contextTexts: readonly string[] = []): ConceptFields & { sense?: SenseChoice } {
  const name = normalizeConceptName(input.name);
  if (input.description !== undefined && input.description !== null && (typeof input.description !== 'string' || input.description.length > MAX_DESCRIPTION)) {
    throw new SoftlogicError('INVALID_INPUT', `description must be a string of at most ${MAX_DESCRIPTION} characters`, { field: 'description' });
  }
  const { synset, choice } = resolveSynset(name, input.synset, [...contextTexts, ...(input.description ? [input.description] : [])]);
  const embedded = provider.embed(name);
  const fields: ConceptFields = {
    id: conceptId(context, name, synset?.id ?? null),
    name,
    context,
    synset_id: synset?.id ?? null,
    disambiguation: synset ? synset.gloss : null,
    description: input.description ?? null,
    frame_roles: [],
    cluster_memberships: {},
    metadata: input.metadata ?? {},
    embedding: { provider: provider.name, dimension: provider.dimension, fallback: embedded.fallback, b64: encodeVector(embedded.vector) },
  };
  return choice ? { ...fields, sense: choice } : fields;
}
