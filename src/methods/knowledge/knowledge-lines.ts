import { randomUUID } from 'node:crypto';
import { toSoftlogicError } from '../../core/errors.js';
import { assertContextName, DEFAULT_CONTEXT, isValidId } from '../../core/names.js';
import { duplicateKeyIn, recordLimitIssue } from '../../core/json-limits.js';
import type { RecordKind } from '../../core/records.js';
import { LIMITS, type FieldIssue } from '../../core/schemas.js';
import { encodeExportedPut, EXPORTED_ABSENT } from '../../core/staged-put.js';
import type { IndexedFields } from '../../core/analogy-columns.js';
import { validateAnalogy } from '../analogies/analogy-record.js';
import type { KnowledgeItem, MergeStrategy } from './import-applier.js';

/*
 * The lines of an export read, validated and staged: what the main thread does line by line and
 * the staging workers (knowledge-block.ts) do for the analogy lines of a JSON-lines export. Kept
 * free of the workflow and backend modules, which a worker need not load.
 */

const KINDS = new Set<RecordKind>(['analogy', 'concept', 'frame', 'frame_instance', 'frame_relation', 'cluster', 'semantic_field']);

/** A record line of an export: its kind, the context it names, its record. */
export interface RecordLine {
  line: number;
  kind: RecordKind;
  contextName: string | null;
  record: unknown;
}

export type ExportLine = { line: number; context: { name: string; parent: string | null; description: string | null } } | RecordLine | { line: number; error: string };

/** A line of a JSON-lines export (or a line of a document holding one record); null for a blank line. */
export function exportLine(text: string, lineNo: number): ExportLine | null {
  const line = text.trim();
  if (line.length === 0) return null;
  if (line.length > LIMITS.recordBytes + 1024) return { line: lineNo, error: `line is ${line.length} characters, over the record size limit` };
  return parseRecordLine(line, lineNo);
}

export function parseRecordLine(text: string, line: number): ExportLine {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { line, error: `malformed JSON: ${(err as Error).message}` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { line, error: 'expected a JSON object' };
  const duplicate = duplicateKeyIn(text);
  if (duplicate !== null) return { line, error: `duplicate key ${duplicate}` };
  const v = value as Record<string, unknown>;
  if (!('kind' in v)) return { line, kind: 'analogy', contextName: null, record: v };
  const contextName = typeof v.context === 'string' ? v.context : null;
  if (v.kind === 'context') {
    const r = v.record as Record<string, unknown> | undefined;
    if (!r || typeof r.name !== 'string') return { line, error: 'a context line needs record.name' };
    return { line, context: { name: r.name, parent: typeof r.parent === 'string' ? r.parent : null, description: typeof r.description === 'string' ? r.description : null } };
  }
  if (typeof v.kind !== 'string' || !KINDS.has(v.kind as RecordKind)) return { line, error: `unknown kind ${JSON.stringify(v.kind)}` };
  return { line, kind: v.kind as RecordKind, contextName, record: v.record };
}

/** Validates one exported record into a staged item, or the reasons it is refused. */
export function stageKnowledgeRecord(kind: RecordKind, record: unknown, merge: MergeStrategy, line: number): { item: KnowledgeItem } | { issues: FieldIssue[] } {
  if (typeof record !== 'object' || record === null || Array.isArray(record)) return { issues: [{ line, field: 'record', reason: 'must be a JSON object' }] };
  if (kind === 'analogy') {
    const { context: _c, ...rest } = record as Record<string, unknown>;
    const result = validateAnalogy(rest, line);
    if (!result.ok) return { issues: result.issues };
    const limit = recordLimitIssue(result.value, line);
    if (limit) return { issues: [limit] };
    const v = result.value as Record<string, unknown>;
    v.id ??= randomUUID();
    v.workflow_id ??= null;
    v.deleted_at ??= null;
    return { item: { op: 'put', kind, merge, record: v as Record<string, unknown> & { id: string } } };
  }
  const r = record as Record<string, unknown>;
  if (typeof r.id !== 'string' || !isValidId(r.id)) return { issues: [{ line, field: 'record.id', reason: 'an entity record needs an id of [A-Za-z0-9_.:-]' }] };
  if (r.version !== undefined && (!Number.isInteger(r.version) || (r.version as number) < 1)) return { issues: [{ line, field: 'record.version', reason: 'must be an integer >= 1' }] };
  const limit = recordLimitIssue(r, line);
  if (limit) return { issues: [{ ...limit, field: limit.field === '(record)' ? 'record' : `record.${limit.field}` }] };
  return { item: { op: 'put', kind, merge, record: { ...r, id: r.id, deleted_at: r.deleted_at ?? null } } };
}

/**
 * A record line of an export as the item it stages and its target context (`override`, else the
 * line's context, the record's, or the default), or the reasons it is refused.
 */
export function stageRecordLine(l: RecordLine, override: string | undefined, merge: MergeStrategy): { context: string; item: KnowledgeItem } | { issues: FieldIssue[] } {
  let context: string;
  try {
    const fromRecord = typeof (l.record as { context?: unknown } | null)?.context === 'string' ? (l.record as { context: string }).context : null;
    context = override ?? assertContextName(l.contextName ?? fromRecord ?? DEFAULT_CONTEXT);
  } catch (err) {
    return { issues: [{ line: l.line, field: 'context', reason: toSoftlogicError(err).message }] };
  }
  const staged = stageKnowledgeRecord(l.kind, l.record, merge, l.line);
  return 'issues' in staged ? staged : { context, item: staged.item };
}

/** The record as the target context stores it (context field set for analogies). */
export function shaped(kind: RecordKind, record: Record<string, unknown>, context: string): Record<string, unknown> {
  return kind === 'analogy' ? { ...record, context } : { ...record };
}

/**
 * The staged text of an item: an analogy put that is not a tombstone in the exported put's form
 * (staged-put.ts), which the embedded backend's prepared import writes as it is when its id is
 * new to the context: the record applyKnowledgeItem would store for a new id, with `now` (the
 * staging time) for the times the record lacks. Anything else as its JSON.
 */
export function stagedKnowledgeJson(item: KnowledgeItem, context: string, now: string): string {
  if (item.op !== 'put' || item.kind !== 'analogy' || item.record.deleted_at !== null) return JSON.stringify(item);
  const incoming = shaped(item.kind, item.record, context);
  let absent = 0;
  if (!('version' in incoming)) absent |= EXPORTED_ABSENT.version;
  if (!('created_at' in incoming)) absent |= EXPORTED_ABSENT.created_at;
  if (!('updated_at' in incoming)) absent |= EXPORTED_ABSENT.updated_at;
  // A field present but replaced in place (a null time, a version that is not a number), or a
  // context of its own: the applier applies the item itself.
  const replaced = ('version' in incoming && typeof incoming.version !== 'number') || ('created_at' in incoming && incoming.created_at == null) || ('updated_at' in incoming && incoming.updated_at == null);
  if (replaced || 'context' in item.record) return JSON.stringify(item);
  const record = { ...incoming, version: typeof incoming.version === 'number' ? incoming.version : 1, created_at: incoming.created_at ?? now, updated_at: incoming.updated_at ?? now };
  return encodeExportedPut(record as unknown as IndexedFields, JSON.stringify(record), item.merge, absent);
}
