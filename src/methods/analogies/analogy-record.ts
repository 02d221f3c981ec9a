import { mintId } from '../../core/id-hash.js';
import type { Analogy } from '../../core/records.js';
import { analogyInput, LIMITS, type FieldIssue, type ValidAnalogyInput } from '../../core/schemas.js';
import { compileValidator } from '../../core/validator.js';
import type { StagingTarget } from '../../core/staged-put.js';
import { legacyAnalogyRecord } from './legacy-record.js';
import { encodeFreshPut, encodeVerbatimPut, StagedPutKind, verbatimHead, verbatimRecordJson, verbatimTail } from '../../core/staged-put.js';

export const validateAnalogy = compileValidator(analogyInput);

/** A line of the original system's shape: {"type":"analogy",...} or {"type":"deletion",...}. */
export type StagedItem =
  | { op: 'put'; record: ValidAnalogyInput & { id: string } }
  | { op: 'delete'; id: string };

const CONTENT_FIELDS = ['source_domain', 'target_domain', 'quality_score', 'concept_mappings', 'frame_mappings', 'tags', 'metadata'];
const CONTENT = new Set(CONTENT_FIELDS);

/**
 * Whether a value holds exactly the analogy's content fields (every one, and nothing the store
 * sets itself: no id, context, times, version or workflow). Such a line's own JSON text, once
 * validated, is the middle of its stored record: it is embedded as it is instead of being
 * parsed into an object and serialised again, which costs more than all the rest of staging.
 */
function holdsOnlyContentFields(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  let n = 0;
  for (const key in value) {
    if (!CONTENT.has(key)) return false;
    n += 1;
  }
  return n === CONTENT_FIELDS.length;
}

/**
 * The original system wrote `{"type":"analogy", ...}` lines, often without domains or quality
 * (source_pair / target_pair, relation, reasoning...): such a line becomes a record the way
 * `import --from-legacy` makes it (legacy-record.ts): fields outside our schema, the free-text
 * `context` and the original `workflow_id` kept under metadata.legacy, missing domains
 * 'unknown' and quality 0 (flagged there), concept_mappings derived from the pairs.
 * `{"type":"deletion","target_id":X}` becomes a delete of X.
 */
export function normaliseLegacyShape(value: unknown): { deletion: string } | { record: unknown } {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || !('type' in value)) return { record: value };
  const { type, ...rest } = value as Record<string, unknown>;
  if (type === 'deletion') {
    const target = rest.target_id ?? rest.id;
    return { deletion: typeof target === 'string' ? target : '' };
  }
  if (type !== 'analogy') return { record: value };
  // The importing workflow becomes the record's workflow; the original one is kept.
  const { workflow_id: originalWorkflow, ...line } = rest;
  const record = legacyAnalogyRecord(line, null);
  if (originalWorkflow !== undefined) {
    const metadata = (record.metadata ?? {}) as Record<string, unknown>;
    record.metadata = { ...metadata, legacy: { ...((metadata.legacy as Record<string, unknown> | undefined) ?? {}), workflow_id: originalWorkflow } };
  }
  delete record.workflow_id;
  // A line without an id gets the store's own (a UUIDv7, as any line without one), not the
  // random one the migration of a whole legacy store assigns.
  if (line.id === undefined) {
    const { id: _assigned, ...withoutId } = record;
    return { record: withoutId };
  }
  return { record };
}

function sizeIssue(line: number, json: string): { issues: FieldIssue[] } {
  return { issues: [{ line, field: '(record)', reason: `serialises to ${json.length} bytes, over the ${LIMITS.recordBytes}-byte limit` }] };
}

/**
 * Validates one input value into a staged item, or the issues that refuse it. With a target,
 * an item without an id gets one and is returned as its final record, serialised (`json`).
 */
export function stageAnalogyValue(value: unknown, line: number, target?: StagingTarget, raw?: string): { item: StagedItem } | { json: string } | { issues: FieldIssue[] } {
  // Decided before validation, which fills in defaults in place.
  const verbatim = raw !== undefined && target !== undefined && holdsOnlyContentFields(value);
  const givenMembers = target !== undefined ? membersAfterId(value, raw) : null;
  const shaped = normaliseLegacyShape(value);
  if ('deletion' in shaped) {
    if (!shaped.deletion) return { issues: [{ line, field: 'target_id', reason: 'a deletion needs a target_id' }] };
    return { item: { op: 'delete', id: shaped.deletion } };
  }
  const result = validateAnalogy(shaped.record, line);
  if (!result.ok) return { issues: result.issues };
  const input = result.value as ValidAnalogyInput;
  // A line's own context must be the one it is imported into: never silently moved elsewhere.
  if (target && input.context !== undefined && input.context !== target.context) {
    return { issues: [{ line, field: 'context', reason: `is '${input.context}' but the import goes into context '${target.context}' (pass --context ${input.context}, or drop the field)` }] };
  }
  const tooBig = (json: string) => json.length > LIMITS.recordBytes;
  // A uuid we assign cannot exist yet: such an item skips the existence lookup when applied.
  if (input.id === undefined && target && verbatim) {
    const id = mintId();
    // The record's length without building it: head + the input between its braces + tail.
    const length = verbatimHead(id, target).length + raw.trim().length - 2 + verbatimTail(target).length;
    if (length > LIMITS.recordBytes) return sizeIssue(line, verbatimRecordJson(id, target, raw));
    const { source_domain, target_domain, quality_score, tags, frame_mappings } = input;
    const fields = { id, version: 1, source_domain, target_domain, quality_score, created_at: target.now, workflow_id: target.workflowId, tags, frame_mappings };
    return { json: encodeVerbatimPut(fields, raw.trim()) };
  }
  if (input.id === undefined && target) {
    const record = buildAnalogy({ ...input, id: mintId() }, target.context, target.now, undefined, target.workflowId);
    const json = JSON.stringify(record);
    if (tooBig(json)) return sizeIssue(line, json);
    return { json: encodeFreshPut(record, json) };
  }
  if (input.id !== undefined && target) return stageGivenId(input as ValidAnalogyInput & { id: string }, givenMembers, line, target);
  const check = JSON.stringify(input);
  if (tooBig(check)) return sizeIssue(line, check);
  if (input.id === undefined) input.id = mintId();
  return { item: { op: 'put', record: input as ValidAnalogyInput & { id: string } } };
}

/**
 * The members of a line holding its id first, written `{"id":"<id>",` exactly, then exactly the
 * content fields: `{` + the rest of the line, which is then embedded as it is (the same rule as
 * stage-fast.ts's). Decided before validation, which fills in defaults. Null for any other line.
 */
function membersAfterId(value: unknown, raw: string | undefined): string | null {
  if (raw === undefined || typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const id = (value as { id?: unknown }).id;
  if (typeof id !== 'string') return null;
  let n = 0;
  for (const key in value as object) {
    if (key !== 'id' && !CONTENT.has(key)) return null;
    n += 1;
  }
  if (n !== CONTENT_FIELDS.length + 1) return null;
  const text = raw.trim();
  const head = `{"id":${JSON.stringify(id)},`;
  return text.startsWith(head) ? '{' + text.slice(head.length) : null;
}

/**
 * A put of an id the input gave, staged in the fresh put's form under the given-id prefix (see
 * GIVEN_PUT_PREFIX): processing decides whether it is a new record or a new version.
 */
function stageGivenId(input: ValidAnalogyInput & { id: string }, members: string | null, line: number, target: StagingTarget): { json: string } | { issues: FieldIssue[] } {
  if (members !== null) {
    const length = verbatimHead(input.id, target).length + members.length - 2 + verbatimTail(target).length;
    if (length > LIMITS.recordBytes) return sizeIssue(line, verbatimRecordJson(input.id, target, members));
    const { id, source_domain, target_domain, quality_score, tags, frame_mappings } = input;
    const fields = { id, version: 1, source_domain, target_domain, quality_score, created_at: target.now, workflow_id: target.workflowId, tags, frame_mappings };
    return { json: encodeVerbatimPut(fields, members, StagedPutKind.Given) };
  }
  const record = buildAnalogy(input, target.context, target.now, undefined, target.workflowId);
  const json = JSON.stringify(record);
  if (json.length > LIMITS.recordBytes) return sizeIssue(line, json);
  return { json: encodeFreshPut(record, json, input.created_at === undefined ? StagedPutKind.Given : StagedPutKind.GivenDated) };
}

/** The stored record for an input, given the version it supersedes (if any). */
export function buildAnalogy(input: ValidAnalogyInput & { id: string }, context: string, now: string, previous: { version: number } | undefined, workflowId: string | null): Analogy {
  const record: Analogy = {
    id: input.id,
    context,
    source_domain: input.source_domain,
    target_domain: input.target_domain,
    quality_score: input.quality_score,
    concept_mappings: input.concept_mappings,
    frame_mappings: input.frame_mappings,
    tags: input.tags,
    metadata: input.metadata as Analogy['metadata'],
    workflow_id: workflowId ?? input.workflow_id ?? null,
    created_at: input.created_at ?? now,
    updated_at: now,
    version: previous ? previous.version + 1 : (input.version ?? 1),
    deleted_at: null,
  };
  return record;
}

