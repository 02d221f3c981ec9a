/**
 * JSON schemas shared by the routes: Fastify validates requests and serialises responses with
 * them, and @fastify/swagger turns them into the OpenAPI document.
 */
export const NAME_PATTERN = '^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,255}$';

export const nameString = { type: 'string', pattern: NAME_PATTERN } as const;

export const idParams = {
  type: 'object',
  required: ['id'],
  additionalProperties: false,
  properties: { id: nameString },
} as const;

export const contextQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { context: nameString },
} as const;

export const errorResponse = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: {
        code: { type: 'string' },
        message: { type: 'string' },
        details: { type: 'object', additionalProperties: true },
      },
    },
  },
} as const;

export const errorResponses = { '4xx': errorResponse, '5xx': errorResponse } as const;

const stringMap = { type: 'object', additionalProperties: { type: 'string' } } as const;
const nullableString = { type: ['string', 'null'] } as const;

export const analogySchema = {
  type: 'object',
  additionalProperties: true,
  properties: {
    id: { type: 'string' },
    context: { type: 'string' },
    source_domain: { type: 'string' },
    target_domain: { type: 'string' },
    quality_score: { type: 'number' },
    concept_mappings: stringMap,
    frame_mappings: stringMap,
    tags: { type: 'array', items: { type: 'string' } },
    metadata: { type: 'object', additionalProperties: true },
    workflow_id: nullableString,
    created_at: { type: 'string' },
    updated_at: { type: 'string' },
    version: { type: 'integer' },
    deleted_at: nullableString,
  },
} as const;

export const analogyInputSchema = {
  type: 'object',
  required: ['source_domain', 'target_domain', 'quality_score'],
  additionalProperties: false,
  properties: {
    id: nameString,
    context: nameString,
    source_domain: { type: 'string', minLength: 1, maxLength: 512 },
    target_domain: { type: 'string', minLength: 1, maxLength: 512 },
    quality_score: { type: 'number', minimum: 0, maximum: 1 },
    concept_mappings: stringMap,
    frame_mappings: stringMap,
    tags: { type: 'array', maxItems: 64, items: { type: 'string', minLength: 1, maxLength: 128 } },
    metadata: { type: 'object', additionalProperties: true },
    workflow_id: { anyOf: [nameString, { type: 'null' }] },
    created_at: { type: 'string' },
    updated_at: { type: 'string' },
    version: { type: 'integer', minimum: 1 },
    deleted_at: { type: ['string', 'null'] },
  },
} as const;

export const workflowStatuses = ['pending', 'processing', 'interrupted', 'completed', 'failed', 'cancelled', 'rolled_back'] as const;

export const workflowSchema = {
  type: 'object',
  additionalProperties: true,
  properties: {
    workflow_id: { type: 'string' },
    workflow_type: { type: 'string' },
    status: { type: 'string', enum: workflowStatuses },
    context: { type: 'string' },
    created_at: { type: 'string' },
    updated_at: { type: 'string' },
    items_total: { type: 'integer' },
    items_processed: { type: 'integer' },
    error_count: { type: 'integer' },
    metadata: { type: 'object', additionalProperties: true },
    error_log: { type: 'array', items: { type: 'string' } },
    error_log_omitted: { type: 'integer' },
  },
} as const;

/** Analogy filter fields, as a querystring (snake_case, the library's names). */
export const filterProperties = {
  context: nameString,
  domain: { type: 'string', minLength: 1, maxLength: 512 },
  min_quality: { type: 'number', minimum: 0, maximum: 1 },
  max_quality: { type: 'number', minimum: 0, maximum: 1 },
  tag: { type: 'string', minLength: 1, maxLength: 128 },
  frame_type: { type: 'string', minLength: 1, maxLength: 512 },
  created_after: { type: 'string', maxLength: 64 },
  created_before: { type: 'string', maxLength: 64 },
} as const;

export const limitProperty = { limit: { type: 'integer', minimum: 1, maximum: 1_000_000 } } as const;

export interface FilterQuery {
  context?: string;
  domain?: string;
  min_quality?: number;
  max_quality?: number;
  tag?: string;
  frame_type?: string;
  created_after?: string;
  created_before?: string;
  limit?: number;
}

export const filterQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { ...filterProperties, ...limitProperty },
} as const;

/** GET /api/analogies: the filter plus paging. */
export interface PageQuery extends FilterQuery {
  offset?: number;
  total?: boolean;
}

export const pageQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    ...filterProperties,
    ...limitProperty,
    offset: { type: 'integer', minimum: 0, maximum: 1_000_000_000, description: 'matches to skip, in result order (best quality first): page n is offset=n*limit' },
    total: { type: 'boolean', description: 'also count every match (answer field `total`)' },
  },
} as const;

export const FINAL_STATUSES: ReadonlySet<string> = new Set(['interrupted', 'completed', 'failed', 'cancelled', 'rolled_back']);

/**
 * A term of the reasoning routes: a concept id or name, or a word (spaces allowed, as in "ice
 * cream"); no control characters, slashes or quotes.
 */
export const TERM_PATTERN = "^[A-Za-z0-9_][A-Za-z0-9_ .:'-]{0,255}$";

export const termString = { type: 'string', pattern: TERM_PATTERN } as const;

/** k of the nearest-neighbour routes (the core's MAX_K). */
export const kProperty = { type: 'integer', minimum: 1, maximum: 10_000 } as const;

export const looseObject = { type: 'object', additionalProperties: true } as const;

export const versionProperties = {
  created_at: { type: 'string' },
  updated_at: { type: 'string' },
  version: { type: 'integer' },
  deleted_at: nullableString,
} as const;

/**
 * Response schema of a stored record: its own properties plus the version fields; extra fields
 * pass through (records may carry metadata the schema does not name).
 */
export function recordSchema<const P extends Record<string, unknown>>(properties: P) {
  return { type: 'object', additionalProperties: true, properties: { ...properties, ...versionProperties } } as const;
}

export const conceptSchema = recordSchema({
    id: { type: 'string' },
    name: { type: 'string' },
    context: { type: 'string' },
    synset_id: nullableString,
    disambiguation: nullableString,
    description: nullableString,
    frame_roles: { type: 'array', items: { type: 'string' } },
    cluster_memberships: { type: 'object', additionalProperties: { type: 'number' } },
    metadata: looseObject,
    embedding: {
      type: ['object', 'null'],
      additionalProperties: true,
      properties: { provider: { type: 'string' }, dimension: { type: 'integer' }, fallback: { type: 'boolean' }, b64: { type: 'string' } },
    },
});

export const conceptList = {
  type: 'object',
  properties: { count: { type: 'integer' }, concepts: { type: 'array', items: conceptSchema } },
} as const;

/** How `--synset auto` chose a sense (word-sense.ts SenseChoice). */
export const senseChoiceSchema = {
  type: 'object',
  properties: {
    word: { type: 'string' },
    synset_id: { type: 'string' },
    method: { type: 'string', enum: ['context', 'most_frequent_sense', 'only_sense'] },
    reason: { type: 'string' },
    context_words: { type: 'array', items: { type: 'string' } },
    candidates: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          synset_id: { type: 'string' },
          rank: { type: 'integer' },
          lemmas: { type: 'array', items: { type: 'string' } },
          gloss: { type: 'string' },
          embedding: { type: ['number', 'null'] },
          overlap: { type: 'number' },
          matched: { type: 'array', items: { type: 'string' } },
          score: { type: 'number' },
        },
      },
    },
  },
} as const;
