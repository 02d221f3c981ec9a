import { analogyIndexColumns, type AnalogyIndexColumns, type IndexedFields } from '../../store/embedded/analogy-index.js';
import type { StagingTarget } from '../../workflows/create.js';

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

export function encodeFreshPut(record: IndexedFields, recordJson: string): string {
  return `${FRESH_PUT_PREFIX}${JSON.stringify(analogyIndexColumns(record))},${RECORD_KEY}${recordJson}}`;
}

export function encodeVerbatimPut(record: IndexedFields, inputJson: string): string {
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

