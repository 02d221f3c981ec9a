import type pg from 'pg';
import { ByteBuilder } from '../../core/byte-builder.js';
import { decodeFreshPutBytes, RECORD_ID_KEY, StagedPutKind, stagedPutKind, verbatimParts } from '../../core/staged-put.js';
import { copyBytes, copyField, copyTextArray } from './postgres-copy.js';
import type { StagedPageBytes } from './postgres-staging.js';

/**
 * A prepared import's chunk as the version rows it inserts, encoded here from its staged items
 * (the same columns versionCopyLine computes from a record), so that its transaction is one COPY
 * of final rows: the server parses each row's fields and checks the body as json, as the bare
 * COPY of the baseline does, instead of cutting and parsing the staged text in SQL (measured:
 * that statement cost twice the COPY of the same rows). The pages are read as bytes and the rows
 * encoded from them, bytes to bytes, on a thread of their own (postgres-chunk-encoder.ts): the
 * thread that sends them only writes each line's ctx and seq into the room left for them.
 */

/** COPY of a chunk's versions: ctx and seq first, known only in the chunk's transaction. */
export const COPY_CHUNK = 'COPY analogies(ctx, seq, id, version, op, prev, current, source_domain, target_domain, quality, created_ms, deleted_at, workflow_id, tags, frames, body)';

/**
 * The room each line starts with for its ctx and seq, zero-padded to their widest (int4: 10
 * digits, bigint: 19; the server reads leading zeros as any other digits), so that they are
 * written in place once the chunk's transaction knows them: no line is copied again.
 */
const CTX_DIGITS = 10;
const SEQ_DIGITS = 19;
const SLOTS = Buffer.from(`${'0'.repeat(CTX_DIGITS)}\t${'0'.repeat(SEQ_DIGITS)}\t`);

export interface ChunkRows {
  /** the records' ids, in item order */
  ids: string[];
  /** each version's row, COPY text, a line each, its ctx and seq zeros (SLOTS) until insertChunkRows fills them */
  lines: Buffer;
  /** where each line starts in `lines` */
  starts: Int32Array;
}

/** The kinds of staged item a chunk may hold: puts of the index form (a new record, or a given id the key will check). */
const PREPARED_KINDS = new Set([StagedPutKind.Fresh, StagedPutKind.Given, StagedPutKind.GivenDated]);

/**
 * A JSON array of strings (tags, frame names) as the text[] COPY field; none is '{}'. Without a
 * backslash the JSON text is the array literal but for its brackets (a quoted element reads the
 * same in both); otherwise its elements are decoded and quoted again.
 */
function arrayField(json: string | null): string {
  if (json === null) return '{}';
  return json.includes('\\') ? copyTextArray(JSON.parse(json) as string[]) : `{${json.slice(1, -1)}}`;
}

/** copyField's escapes by byte: backslash, newline, carriage return and tab become `\\`, `\n`, `\r`, `\t`. */
const ESCAPED = new Uint8Array(256);
ESCAPED[0x5c] = 0x5c;
ESCAPED[0x0a] = 0x6e;
ESCAPED[0x0d] = 0x72;
ESCAPED[0x09] = 0x74;

/**
 * Where the next byte copyField escapes is in a page, from a position on: the page is searched
 * for each of them (natively) once, as its items are encoded in order. A newline only ends items.
 */
class PageEscapes {
  private readonly next = [-1, -1, -1];

  constructor(private readonly data: Buffer) {}

  from(at: number): number {
    let first = this.data.length;
    for (let k = 0; k < 3; k++) {
      let next = this.next[k] as number;
      if (next < at) this.next[k] = next = this.data.indexOf(ESCAPABLE[k] as number, at) >>> 0;
      if (next < first) first = next;
    }
    return first;
  }
}

/** The bytes PageEscapes looks for (`indexOf`'s -1 becomes 2^32 - 1 by `>>> 0`: beyond any page). */
const ESCAPABLE = [0x5c, 0x09, 0x0d];

class CopyLines extends ByteBuilder {
  /** data[from, to) as (part of) a COPY text field: runs without an escape copied as they are. */
  putEscaped(data: Buffer, from: number, to: number, escapes: PageEscapes): void {
    let run = from;
    for (let i = escapes.from(from); i < to; i = escapes.from(i + 1)) {
      this.putBytes(data, run, i);
      this.putByte(0x5c);
      this.putByte(ESCAPED[data[i] as number] as number);
      run = i + 1;
    }
    this.putBytes(data, run, to);
  }
}

/** A verbatim record's fixed parts, COPY-escaped once (verbatimParts gives the same buffers for one workflow). */
const escapedParts = new WeakMap<Buffer, Buffer>();
function escapedPart(part: Buffer): Buffer {
  let escaped = escapedParts.get(part);
  if (escaped === undefined) {
    const out = new CopyLines(2 * part.length);
    out.putEscaped(part, 0, part.length, new PageEscapes(part));
    escaped = Buffer.from(out.bytes());
    escapedParts.set(part, escaped);
  }
  return escaped;
}

const NEWLINE = 10;

/**
 * The version rows of the staged items [start, end) in a chunk's pages (readStagedPageBytes, in
 * item order), or null when one is missing (a page that starts after the next item leaves a gap)
 * or is not a put of the index form (the chunk then goes the generic way). `context`: the
 * workflow's context (a verbatim put's record names it). Each row is the one decodeFreshPut's
 * columns and record give (the record's bytes copied, escaped for COPY, not decoded).
 */
export function encodeChunkRows(pages: readonly StagedPageBytes[], start: number, end: number, context: string): ChunkRows | null {
  const n = end - start;
  const ids: string[] = new Array<string>(n);
  const starts = new Int32Array(n);
  const out = new CopyLines(pages.reduce((bytes, page) => bytes + page.data.length, 0) + n * 80);
  let i = 0;
  for (const page of pages) {
    if (page.first > start + i || i === n) break;
    const data = page.data;
    const escapes = new PageEscapes(data);
    let at = 0;
    for (let item = page.first; item < page.first + page.count && i < n; item++) {
      const lineEnd = data.indexOf(NEWLINE, at);
      if (lineEnd < 0) return null;
      if (item >= start + i) {
        if (!PREPARED_KINDS.has(stagedPutKind(data, at))) return null;
        const put = decodeFreshPutBytes(data, at, lineEnd);
        if (put === null) return null;
        const [id, version, source, target, quality, createdMs, workflowId, tags, frames] = put.columns;
        ids[i] = id;
        starts[i] = out.length;
        out.putBytes(SLOTS, 0, SLOTS.length);
        // A put of a new record is never deleted: deleted_at is NULL, as the record says.
        out.putText(`${copyField(id)}\t${version}\tput\t\\N\tt\t${copyField(source)}\t${copyField(target)}\t${quality}\t${createdMs}\t\\N\t${copyField(workflowId)}\t${arrayField(tags)}\t${arrayField(frames)}\t`);
        if (put.verbatim) {
          // The record is `{"id":"<id>` + what follows the id + the input's members + the tail (verbatimParts).
          const { afterId, tail } = verbatimParts(context, workflowId ?? '', createdMs);
          const head = escapedPart(RECORD_ID_KEY);
          out.putBytes(head, 0, head.length);
          out.putText(copyField(id));
          const middle = escapedPart(afterId);
          out.putBytes(middle, 0, middle.length);
          out.putEscaped(data, put.bodyStart, put.bodyEnd, escapes);
          const end = escapedPart(tail);
          out.putBytes(end, 0, end.length);
        } else out.putEscaped(data, put.bodyStart, put.bodyEnd, escapes);
        out.putByte(NEWLINE);
        i++;
      }
      at = lineEnd + 1;
    }
  }
  return i === n ? { ids, lines: out.bytes(), starts } : null;
}

/** The memory of `view` when it is all of it (a large Buffer's own), to move to another thread uncopied; otherwise none (it is copied). */
export function movable(view: Uint8Array): ArrayBuffer[] {
  const memory = view.buffer;
  return memory instanceof ArrayBuffer && view.byteOffset === 0 && view.byteLength === memory.byteLength ? [memory] : [];
}

/** Writes `value` in decimal, zero-padded to `digits`, over out[at, at + digits). */
function putPadded(out: Buffer, at: number, value: number, digits: number): void {
  let v = value;
  for (let k = at + digits - 1; k >= at; k--) {
    out[k] = 0x30 + (v % 10);
    v = Math.floor(v / 10);
  }
}

/**
 * Inserts a chunk's versions in the caller's transaction: seqs drawn in item order (one
 * statement), each line given its ctx and seq in place, the rows by one COPY, and the workflow's
 * journal row for them.
 */
export async function insertChunkRows(client: pg.ClientBase, ctx: number, workflowId: string, chunk: ChunkRows): Promise<void> {
  const n = chunk.starts.length;
  const { rows } = await client.query<{ seqs: string }>(`SELECT string_agg(nextval('change_seq')::text, ',') AS seqs FROM generate_series(1, $1)`, [n]);
  const seqs = (rows[0]?.seqs ?? '').split(',').map(Number).sort((a, b) => a - b);
  const lines = chunk.lines;
  for (let i = 0; i < n; i++) {
    const at = chunk.starts[i] as number;
    putPadded(lines, at, ctx, CTX_DIGITS);
    putPadded(lines, at + CTX_DIGITS + 1, seqs[i] as number, SEQ_DIGITS);
  }
  await copyBytes(client, COPY_CHUNK, lines);
  await client.query(`INSERT INTO workflow_changes(workflow_id, ctx, kind, ids, seqs) VALUES ($1, $2, 'analogy', $3, $4)`, [workflowId, ctx, chunk.ids, seqs]);
}
