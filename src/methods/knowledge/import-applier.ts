import { SoftlogicError } from '../../core/errors.js';
import type { RecordKind } from '../../core/records.js';
import type { StoredVersion, WriteBatch } from '../../backend/write-batch.js';
import { registerRawItemApplier } from '../../workflows/item-appliers.js';
import { decodeFreshPut, EXPORTED_ABSENT, exportedPutFlags, StagedPutKind, stagedPutKindOfText } from '../../core/staged-put.js';
import { shaped } from './knowledge-lines.js';
import { softDeleteAnalogy } from '../analogies/mutations.js';

/**
 * The `knowledge_import` workflow type: each staged item is one record of an export (or of a
 * legacy store) with the merge strategy to apply against what the target context holds.
 *
 * - overwrite: the incoming record replaces an existing one as its next version;
 * - skip: an existing active record is kept untouched (a tombstone counts as absent);
 * - merge: the higher version wins, then the later updated_at (a tie keeps the existing one);
 *   tags are the union of both (winner's order first). A tombstone takes part with its version:
 *   an incoming record revives it only by winning. When the existing record wins but the union
 *   adds tags, it gets a new version carrying them.
 * A record new to the context is stored as exported: its version, created_at and updated_at
 * are kept, so an export imported into an empty store reproduces it record for record.
 */
export type MergeStrategy = 'overwrite' | 'merge' | 'skip';
export const MERGE_STRATEGIES: readonly MergeStrategy[] = ['overwrite', 'merge', 'skip'];

export type KnowledgeItem =
  | { op: 'put'; kind: RecordKind; merge: MergeStrategy; record: Record<string, unknown> & { id: string } }
  | { op: 'delete'; kind: RecordKind; id: string };

export interface ImportTally {
  created: number;
  replaced: number;
  merged: number;
  tags_merged: number;
  kept: number;
  skipped: number;
  deleted: number;
}

export function emptyTally(): ImportTally {
  return { created: 0, replaced: 0, merged: 0, tags_merged: 0, kept: 0, skipped: 0, deleted: 0 };
}

/** What this process applied per workflow (for the command's report; the store holds the truth). */
export const importTallies = new Map<string, ImportTally>();

function tally(workflowId: string): ImportTally {
  let t = importTallies.get(workflowId);
  if (!t) importTallies.set(workflowId, (t = emptyTally()));
  return t;
}

function unionTags(first: unknown, second: unknown): string[] | undefined {
  if (!Array.isArray(first) && !Array.isArray(second)) return undefined;
  const out: string[] = [];
  for (const t of [...(Array.isArray(first) ? first : []), ...(Array.isArray(second) ? second : [])]) if (typeof t === 'string' && !out.includes(t)) out.push(t);
  return out;
}

function time(v: unknown): number {
  const t = typeof v === 'string' ? Date.parse(v) : NaN;
  return Number.isFinite(t) ? t : -Infinity;
}

function write(batch: WriteBatch, kind: RecordKind, record: Record<string, unknown>, prev: StoredVersion | undefined): void {
  const op = record.deleted_at === null || record.deleted_at === undefined ? 'put' : 'delete';
  if (record.deleted_at === undefined) record.deleted_at = null;
  batch.change(kind, op, record, prev);
}

export function applyKnowledgeItem(batch: WriteBatch, item: KnowledgeItem, now: string, workflowId: string): void {
  const t = tally(workflowId);
  const ctx = batch.context.name;
  if (item.op === 'delete') {
    if (item.kind === 'analogy') softDeleteAnalogy(batch, item.id, now);
    else {
      const cur = batch.current(item.kind, item.id);
      if (!cur) throw new SoftlogicError('NOT_FOUND', `${item.kind} ${item.id} not found in context '${ctx}'`, { id: item.id });
      if (cur.deleted) throw new SoftlogicError('ALREADY_DELETED', `${item.kind} ${item.id} is already deleted`, { id: item.id });
      write(batch, item.kind, { ...cur.record(), version: cur.version + 1, updated_at: now, deleted_at: now }, cur);
    }
    t.deleted += 1;
    return;
  }
  const incoming = shaped(item.kind, item.record, ctx);
  const inVersion = typeof incoming.version === 'number' ? incoming.version : 1;
  const cur = batch.current(item.kind, item.record.id);
  if (!cur) {
    write(batch, item.kind, { ...incoming, version: inVersion, created_at: incoming.created_at ?? now, updated_at: incoming.updated_at ?? now }, undefined);
    t.created += 1;
    return;
  }
  if (item.merge === 'skip' && !cur.deleted) {
    t.skipped += 1;
    return;
  }
  const existing = cur.record();
  if (item.merge === 'overwrite' || item.merge === 'skip') {
    write(batch, item.kind, { ...incoming, created_at: incoming.created_at ?? existing.created_at ?? now, version: cur.version + 1, updated_at: now }, cur);
    if (cur.deleted) t.created += 1;
    else t.replaced += 1;
    return;
  }
  // merge
  const incomingWins = inVersion > cur.version || (inVersion === cur.version && time(incoming.updated_at) > time(existing.updated_at));
  if (cur.deleted) {
    if (!incomingWins) {
      t.kept += 1;
      return;
    }
    write(batch, item.kind, { ...incoming, version: Math.max(inVersion, cur.version + 1), updated_at: inVersion > cur.version ? (incoming.updated_at ?? now) : now }, cur);
    t.merged += 1;
    return;
  }
  if (incomingWins) {
    const tags = unionTags(incoming.tags, existing.tags);
    const record: Record<string, unknown> = { ...incoming, version: Math.max(inVersion, cur.version + 1), updated_at: inVersion > cur.version ? (incoming.updated_at ?? now) : now };
    if (tags) record.tags = tags;
    record.created_at ??= existing.created_at ?? now;
    write(batch, item.kind, record, cur);
    t.merged += 1;
    return;
  }
  const tags = unionTags(existing.tags, incoming.tags);
  const existingTags = Array.isArray(existing.tags) ? existing.tags : [];
  if (tags && tags.length > existingTags.length) {
    write(batch, item.kind, { ...existing, tags, version: cur.version + 1, updated_at: now }, cur);
    t.tags_merged += 1;
    return;
  }
  t.kept += 1;
}

/** An exported put back as the item it was staged from (the incoming record, without what staging added). */
function exportedItem(json: string, context: string): KnowledgeItem {
  const { merge, absent } = exportedPutFlags(json);
  const record = JSON.parse(decodeFreshPut(json, context).recordJson) as Record<string, unknown> & { id: string };
  delete record.context;
  for (const [key, bit] of Object.entries(EXPORTED_ABSENT)) if (absent & bit) delete record[key];
  return { op: 'put', kind: 'analogy', merge, record };
}

registerRawItemApplier<KnowledgeItem>('knowledge_import', {
  parse: (json, context) => (stagedPutKindOfText(json) === StagedPutKind.Exported ? exportedItem(json, context) : (JSON.parse(json) as KnowledgeItem)),
  keys: (item) => [[item.kind, item.op === 'delete' ? item.id : item.record.id]],
  apply: applyKnowledgeItem,
});
