import { mintId } from '../../core/id-hash.js';
import type { Analogy } from '../../core/records.js';
import { analogyIndexColumns, type AnalogyIndexColumns, type IndexedFields } from '../../store/embedded/analogy-index.js';
import { analogyInput, LIMITS, type FieldIssue, type ValidAnalogyInput } from '../../core/schemas.js';
import { compileValidator } from '../../core/validator.js';
import type { StagingTarget } from '../../workflows/create.js';

export const validateAnalogy = compileValidator(analogyInput);

/** A line of the original system's shape: {"type":"analogy",...} or {"type":"deletion",...}. */
export type StagedItem =
  | { op: 'put'; record: ValidAnalogyInput & { id: string } }
  | { op: 'delete'; id: string };

/**
 * A put of an id minted while staging is staged with the columns of its index row first:
 * `{"op":"put","fresh":true,"index":[...],"record":{...}}` holds its final record;
 * `{"op":"put","fresh":true,"index":[...],"input":{...}}` holds the input line's own text, when
 * that is the middle of the record (see holdsOnlyContentFields). Processing writes the record's
 * JSON text to the log and fills the row from the small `index` array, without parsing or
 * serialising the record again.
 */
export const FRESH_PUT_PREFIX = '{"op":"put","fresh":true,"index":';
const RECORD_KEY = '"record":';
const INPUT_KEY = '"input":';

export function encodeFreshPut(record: IndexedFields, recordJson: string): string {
  return `${FRESH_PUT_PREFIX}${JSON.stringify(analogyIndexColumns(record))},${RECORD_KEY}${recordJson}}`;
}

function encodeVerbatimPut(record: IndexedFields, inputJson: string): string {
  return `${FRESH_PUT_PREFIX}${JSON.stringify(analogyIndexColumns(record))},${INPUT_KEY}${inputJson}}`;
}

const PREFIX_BYTES = Buffer.from(FRESH_PUT_PREFIX);

/** A staged fresh put read from its bytes (decodeFreshPutBytes). */
export interface FreshPutBytes {
  columns: AnalogyIndexColumns;
  /** where the index array ends (after its `]`) */
  indexEnd: number;
  /**
   * The staged bytes data[bodyStart, bodyEnd) hold the whole record (`"record":`), or, for a
   * verbatim put (`"input":`), the members of the input object: the record is then
   * `{"id":"<id>` + afterId + those bytes + tail (verbatimParts).
   */
  verbatim: boolean;
  bodyStart: number;
  bodyEnd: number;
}

/**
 * decodeFreshPut on the staged bytes data[start, end): only the small index array is decoded;
 * the record's bulk is copied to the log as bytes. Null when the item is not a fresh put.
 */
export function decodeFreshPutBytes(data: Buffer, start: number, end: number): FreshPutBytes | null {
  if (!isFreshPutBytes(data, start)) return null;
  const close = data.indexOf(INDEX_END, start + PREFIX_BYTES.length) + 1;
  const columns = JSON.parse(data.toString('utf8', start + PREFIX_BYTES.length, close)) as AnalogyIndexColumns;
  return { columns, indexEnd: close, ...freshPutBody(data, close, end) };
}

export function isFreshPutBytes(data: Buffer, start: number): boolean {
  // A loop: for a few dozen bytes, cheaper than a call into the native compare.
  for (let k = 0; k < PREFIX_BYTES.length; k++) if (data[start + k] !== PREFIX_BYTES[k]) return false;
  return true;
}

/** Where the index array of the fresh put at data[start] begins. */
export function indexArrayStart(start: number): number {
  return start + PREFIX_BYTES.length;
}

/** The record part of a staged fresh put whose index array ends at `close` (see FreshPutBytes). */
export function freshPutBody(data: Buffer, close: number, end: number): { verbatim: boolean; bodyStart: number; bodyEnd: number } {
  const body = close + 1;
  if (data[body + 1] === 0x72 /* "record": */) return { verbatim: false, bodyStart: body + RECORD_KEY.length, bodyEnd: end - 1 };
  // "input":{...}} : the input object's braces are dropped, its members kept.
  return { verbatim: true, bodyStart: body + INPUT_KEY.length + 1, bodyEnd: end - 2 };
}

const INDEX_END = Buffer.from('],"');
export const RECORD_ID_KEY = Buffer.from('{"id":"');

/**
 * The bytes a verbatim put's record has around its id and its input's members: the same for
 * every item of one workflow, so encoded once (a one-entry cache).
 */
const parts = { context: '', workflowId: '', createdAt: NaN, afterId: Buffer.alloc(0), tail: Buffer.alloc(0) };
export function verbatimParts(context: string, workflowId: string, createdAt: number): { afterId: Buffer; tail: Buffer } {
  if (context !== parts.context || workflowId !== parts.workflowId || createdAt !== parts.createdAt) {
    const target = { context, workflowId, now: isoTime(createdAt) };
    parts.afterId = Buffer.from(verbatimHead('', target).slice(RECORD_ID_KEY.length));
    parts.tail = Buffer.from(verbatimTail(target));
    Object.assign(parts, { context, workflowId, createdAt });
  }
  return parts;
}

// Every item staged by one workflow carries the same staging time: convert it once.
let lastMs = NaN;
let lastIso = '';
function isoTime(ms: number): string {
  if (ms !== lastMs) {
    lastIso = new Date(ms).toISOString();
    lastMs = ms;
  }
  return lastIso;
}

/**
 * Splits a staged fresh put of a workflow in `context`. The index array is flat and holds only
 * numbers, null and JSON strings (in which a quote is always escaped), so the first `],"` ends it.
 */
export function decodeFreshPut(json: string, context: string): { columns: AnalogyIndexColumns; recordJson: string } {
  const end = json.indexOf('],"', FRESH_PUT_PREFIX.length) + 1;
  const columns = JSON.parse(json.slice(FRESH_PUT_PREFIX.length, end)) as AnalogyIndexColumns;
  const body = end + 1;
  if (json.startsWith(RECORD_KEY, body)) return { columns, recordJson: json.slice(body + RECORD_KEY.length, -1) };
  const [id, , , , , createdAt, workflowId] = columns;
  const target = { context, workflowId: workflowId ?? '', now: isoTime(createdAt) };
  return { columns, recordJson: verbatimRecordJson(id, target, json.slice(body + INPUT_KEY.length, -1)) };
}

const KNOWN = new Set(Object.keys(analogyInput.shape));
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
 * The stored record of a fresh put from its input line's text (see holdsOnlyContentFields):
 * head + the text between the input object's braces + tail.
 */
function verbatimRecordJson(id: string, target: StagingTarget, raw: string): string {
  const body = raw.trim();
  return verbatimHead(id, target) + body.slice(1, -1) + verbatimTail(target);
}

// The parts every record of one workflow shares are built once (a one-entry cache each).
let headContext = '';
let headPart = '';
let tailKey = '';
let tailPart = '';

export function verbatimHead(id: string, target: StagingTarget): string {
  if (target.context !== headContext) {
    headPart = `","context":${JSON.stringify(target.context)},`;
    headContext = target.context;
  }
  return `{"id":"${id}${headPart}`;
}

export function verbatimTail(target: StagingTarget): string {
  const key = `${target.workflowId}\0${target.now}`;
  if (key !== tailKey) {
    tailPart = `,"workflow_id":${JSON.stringify(target.workflowId)},"created_at":"${target.now}","updated_at":"${target.now}","version":1,"deleted_at":null}`;
    tailKey = key;
  }
  return tailPart;
}

/**
 * The original system wrote `{"type":"analogy", ...}` lines whose fields outside our schema
 * (source_pair, reasoning, relation...) are kept under metadata.legacy rather than refused.
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
  const record: Record<string, unknown> = {};
  const legacy: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(rest)) (KNOWN.has(k) ? record : legacy)[k] = v;
  if (Object.keys(legacy).length > 0) {
    const meta = typeof record.metadata === 'object' && record.metadata !== null ? (record.metadata as Record<string, unknown>) : {};
    record.metadata = { ...meta, legacy };
  }
  // The original used `context` for free text ("fantasy character-tool relationships"), not a scope.
  if (typeof record.context === 'string' && !/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/.test(record.context)) {
    legacy.context = record.context;
    delete record.context;
  }
  return { record };
}

/**
 * Validates one input value into a staged item, or the issues that refuse it. With a target,
 * an item without an id gets one and is returned as its final record, serialised (`json`).
 */
export function stageAnalogyValue(value: unknown, line: number, target?: StagingTarget, raw?: string): { item: StagedItem } | { json: string } | { issues: FieldIssue[] } {
  // Decided before validation, which fills in defaults in place.
  const verbatim = raw !== undefined && target !== undefined && holdsOnlyContentFields(value);
  const shaped = normaliseLegacyShape(value);
  if ('deletion' in shaped) {
    if (!shaped.deletion) return { issues: [{ line, field: 'target_id', reason: 'a deletion needs a target_id' }] };
    return { item: { op: 'delete', id: shaped.deletion } };
  }
  const result = validateAnalogy(shaped.record, line);
  if (!result.ok) return { issues: result.issues };
  const input = result.value as ValidAnalogyInput;
  const tooBig = (json: string) => json.length > LIMITS.recordBytes;
  const sizeIssue = (json: string): FieldIssue[] => [{ line, field: '(record)', reason: `serialises to ${json.length} bytes, over the ${LIMITS.recordBytes}-byte limit` }];
  // A uuid we assign cannot exist yet: such an item skips the existence lookup when applied.
  if (input.id === undefined && target && verbatim) {
    const id = mintId();
    // The record's length without building it: head + the input between its braces + tail.
    const length = verbatimHead(id, target).length + raw.trim().length - 2 + verbatimTail(target).length;
    if (length > LIMITS.recordBytes) return { issues: sizeIssue(verbatimRecordJson(id, target, raw)) };
    const { source_domain, target_domain, quality_score, tags, frame_mappings } = input;
    const fields = { id, version: 1, source_domain, target_domain, quality_score, created_at: target.now, workflow_id: target.workflowId, tags, frame_mappings };
    return { json: encodeVerbatimPut(fields, raw.trim()) };
  }
  if (input.id === undefined && target) {
    const record = buildAnalogy({ ...input, id: mintId() }, target.context, target.now, undefined, target.workflowId);
    const json = JSON.stringify(record);
    if (tooBig(json)) return { issues: sizeIssue(json) };
    return { json: encodeFreshPut(record, json) };
  }
  const check = JSON.stringify(input);
  if (tooBig(check)) return { issues: sizeIssue(check) };
  if (input.id === undefined) input.id = mintId();
  return { item: { op: 'put', record: input as ValidAnalogyInput & { id: string } } };
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

