import { analogyIndexColumns, type AnalogyIndexColumns, type IndexedFields } from './analogy-columns.js';

/** What staging writes items for. */
export interface StagingTarget {
  workflowId: string;
  context: string;
  /** the staging time: records minted while staging carry it as created_at */
  now: string;
}

/*
 * The staged form of a fresh put, written by staging (analogy-record.ts, stage-fast.ts) and read
 * by processing (item-appliers.ts, and prepare-worker.ts on its own thread). Kept free of the
 * schema and validator modules, which a worker that only reads staged items need not load.
 */

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

/**
 * A put of an id the input gave has the same form (as if the id were new: version and created_at
 * the input's or the first version's) under its own prefix, of the same length: processing
 * decides whether it is a new record or a new version of an existing one (prepare-worker.ts,
 * item-appliers.ts). GIVEN_DATED: the input set created_at itself, which a new version keeps
 * (otherwise it keeps its previous version's).
 */
export const GIVEN_PUT_PREFIX = '{"op":"put","given":true,"index":';
export const GIVEN_DATED_PUT_PREFIX = '{"op":"put","given":"ct","index":';

/**
 * An analogy of a knowledge import (an export's record, kept as exported when new to the
 * context), under a prefix of the same length: `"given":"<merge><absent>"`, the merge strategy's
 * initial (o, m, s) and a digit whose bits say which of version (1), created_at (2) and
 * updated_at (4) the incoming record lacked. The staged record is the one a new record is stored
 * as (the incoming record, its context after its own fields, then the fields it lacked): the
 * prepared import writes it as it is when its id is new; otherwise the knowledge applier takes
 * the incoming record back from it (without context and the fields it lacked) and merges.
 */
export const EXPORTED_ABSENT = { version: 1, created_at: 2, updated_at: 4 } as const;
export type ExportedMerge = 'overwrite' | 'merge' | 'skip';

export function exportedPutPrefix(merge: ExportedMerge, absent: number): string {
  return `{"op":"put","given":"${merge[0]}${absent}","index":`;
}

/** What a staged item is, by its prefix. */
export const enum StagedPutKind {
  Other = 0,
  Fresh = 1,
  Given = 2,
  GivenDated = 3,
  Exported = 4,
}

function prefixOf(kind: StagedPutKind): string {
  return kind === StagedPutKind.Given ? GIVEN_PUT_PREFIX : kind === StagedPutKind.GivenDated ? GIVEN_DATED_PUT_PREFIX : FRESH_PUT_PREFIX;
}

export function encodeFreshPut(record: IndexedFields, recordJson: string, kind: StagedPutKind = StagedPutKind.Fresh): string {
  return `${prefixOf(kind)}${JSON.stringify(analogyIndexColumns(record))},${RECORD_KEY}${recordJson}}`;
}

export function encodeVerbatimPut(record: IndexedFields, inputJson: string, kind: StagedPutKind = StagedPutKind.Fresh): string {
  return `${prefixOf(kind)}${JSON.stringify(analogyIndexColumns(record))},${INPUT_KEY}${inputJson}}`;
}

const PREFIX_BYTES = Buffer.from(FRESH_PUT_PREFIX);
const GIVEN_BYTES = Buffer.from(GIVEN_PUT_PREFIX);
const GIVEN_DATED_BYTES = Buffer.from(GIVEN_DATED_PUT_PREFIX);
/** Where the three prefixes differ: `{"op":"put","` is shared. */
const DIFFER_AT = '{"op":"put","'.length;

/** The kind of the staged item at data[start]. */
export function stagedPutKind(data: Uint8Array, start: number): StagedPutKind {
  const c = data[start + DIFFER_AT];
  if (c === 0x66 /* f */) return isFreshPutBytes(data, start) ? StagedPutKind.Fresh : StagedPutKind.Other;
  if (c !== 0x67 /* g */) return StagedPutKind.Other;
  if (samePrefix(data, start, GIVEN_BYTES)) return StagedPutKind.Given;
  if (samePrefix(data, start, GIVEN_DATED_BYTES)) return StagedPutKind.GivenDated;
  return isExportedPut(data, start) ? StagedPutKind.Exported : StagedPutKind.Other;
}

const EXPORTED_HEAD = Buffer.from('{"op":"put","given":"');
const EXPORTED_TAIL = Buffer.from('","index":');
const MERGE_INITIALS = new Map<number, ExportedMerge>([
  [0x6f, 'overwrite'],
  [0x6d, 'merge'],
  [0x73, 'skip'],
]);

function isExportedPut(data: Uint8Array, start: number): boolean {
  const at = start + EXPORTED_HEAD.length;
  if (!samePrefix(data, start, EXPORTED_HEAD) || !MERGE_INITIALS.has(data[at]) || data[at + 1] < 0x30 || data[at + 1] > 0x37) return false;
  for (let k = 0; k < EXPORTED_TAIL.length; k++) if (data[at + 2 + k] !== EXPORTED_TAIL[k]) return false;
  return true;
}

/** The kind of a staged item's text. */
export function stagedPutKindOfText(json: string): StagedPutKind {
  if (json.startsWith(FRESH_PUT_PREFIX)) return StagedPutKind.Fresh;
  if (json.startsWith(GIVEN_PUT_PREFIX)) return StagedPutKind.Given;
  if (json.startsWith(GIVEN_DATED_PUT_PREFIX)) return StagedPutKind.GivenDated;
  return json.length > GIVEN_PUT_PREFIX.length && isExportedPut(Buffer.from(json.slice(0, GIVEN_PUT_PREFIX.length), 'latin1'), 0) ? StagedPutKind.Exported : StagedPutKind.Other;
}

/** An exported put's merge strategy and the fields its incoming record lacked (see exportedPutPrefix). */
export function exportedPutFlags(json: string): { merge: ExportedMerge; absent: number } {
  const at = EXPORTED_HEAD.length;
  return { merge: MERGE_INITIALS.get(json.charCodeAt(at)) as ExportedMerge, absent: json.charCodeAt(at + 1) - 0x30 };
}

/** An exported put's staged text: its index columns, then the record a new record is stored as. */
export function encodeExportedPut(record: IndexedFields, recordJson: string, merge: ExportedMerge, absent: number): string {
  return `${exportedPutPrefix(merge, absent)}${JSON.stringify(analogyIndexColumns(record))},${RECORD_KEY}${recordJson}}`;
}

function samePrefix(data: Uint8Array, start: number, prefix: Buffer): boolean {
  for (let k = 0; k < prefix.length; k++) if (data[start + k] !== prefix[k]) return false;
  return true;
}

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
  if (stagedPutKind(data, start) === StagedPutKind.Other) return null;
  const close = data.indexOf(INDEX_END, start + PREFIX_BYTES.length) + 1;
  const columns = JSON.parse(data.toString('utf8', start + PREFIX_BYTES.length, close)) as AnalogyIndexColumns;
  return { columns, indexEnd: close, ...freshPutBody(data, close, end) };
}

export function isFreshPutBytes(data: Uint8Array, start: number): boolean {
  // A loop: for a few dozen bytes, cheaper than a call into the native compare.
  return samePrefix(data, start, PREFIX_BYTES);
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
export function isoTime(ms: number): string {
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

/**
 * The stored record of a fresh put from its input line's text (see holdsOnlyContentFields):
 * head + the text between the input object's braces + tail.
 */
export function verbatimRecordJson(id: string, target: StagingTarget, raw: string): string {
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

