import { z } from 'zod';
import { ID_PATTERN } from './names.js';

import { LIMITS } from './limits.js';

/** One schema per entity: the seed's "contracts" (preconditions on every input) live here. */
export { LIMITS };

const shortText = z.string().min(1, 'must not be empty').max(LIMITS.shortText, `must be at most ${LIMITS.shortText} characters`);
const idText = z.string().regex(ID_PATTERN, "must be 1-256 of [A-Za-z0-9_.:-], not starting with . : or -");
const contextText = z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/, 'must be 1-64 of [A-Za-z0-9_.-], not starting with . or -');
const isoTime = z.iso.datetime({ offset: true, local: true });
/** What the schema accepts as a time, as one regular expression (its JSON Schema's pattern, which the validator checks). */
export function isoTimePattern(): RegExp {
  return new RegExp((z.toJSONSchema(isoTime) as { pattern: string }).pattern);
}

const stringMap = z.record(shortText, shortText);

/**
 * Free-form metadata. Its size is bounded where the record is serialised (LIMITS.recordBytes),
 * which is cheaper than stringifying it twice here.
 */
export const jsonObject = z.record(z.string(), z.unknown());

/** What a user may hand us for one analogy; the store fills ids, times and versions. */
export const analogyInput = z.strictObject({
  id: idText.optional(),
  context: contextText.optional(),
  source_domain: shortText,
  target_domain: shortText,
  quality_score: z.number().min(0, 'must be in [0,1]').max(1, 'must be in [0,1]'),
  concept_mappings: stringMap.default({}),
  frame_mappings: stringMap.default({}),
  tags: z.array(z.string().min(1).max(LIMITS.tagLength)).max(LIMITS.tags).default([]),
  metadata: jsonObject.default({}),
  workflow_id: idText.nullable().optional(),
  created_at: isoTime.optional(),
  updated_at: isoTime.optional(),
  version: z.number().int().min(1).optional(),
  deleted_at: isoTime.nullable().optional(),
});
export type AnalogyInput = z.input<typeof analogyInput>;
export type ValidAnalogyInput = z.output<typeof analogyInput>;

export const analogyFilter = z.strictObject({
  context: contextText.optional(),
  domain: shortText.optional(),
  min_quality: z.number().min(0).max(1).optional(),
  max_quality: z.number().min(0).max(1).optional(),
  tag: z.string().min(1).max(LIMITS.tagLength).optional(),
  frame_type: shortText.optional(),
  created_after: isoTime.optional(),
  created_before: isoTime.optional(),
  limit: z.number().int().min(1).max(1_000_000).optional(),
  /** matches to skip (in result order) before the first one returned: paging */
  offset: z.number().int().min(0).max(1_000_000_000).optional(),
  include_deleted: z.boolean().optional(),
});
export type AnalogyFilter = z.input<typeof analogyFilter>;

export interface FieldIssue {
  line?: number;
  field: string;
  reason: string;
}

/** Flattens zod issues into "field: reason" entries, the shape every error report uses. */
export function fieldIssues(error: z.ZodError, line?: number): FieldIssue[] {
  return error.issues.map((issue) => {
    const keys = issue.code === 'unrecognized_keys' ? (issue as { keys?: string[] }).keys ?? [] : [];
    const path = issue.path.map(String).join('.');
    const field = keys.length > 0 ? [path, ...keys].filter(Boolean).join('.') : path || '(record)';
    return line === undefined ? { field, reason: issue.message } : { line, field, reason: issue.message };
  });
}
