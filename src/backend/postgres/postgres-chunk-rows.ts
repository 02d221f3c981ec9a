import type pg from 'pg';
import { decodeFreshPut, StagedPutKind, stagedPutKindOfText } from '../../core/staged-put.js';
import { copyBytes, copyField, copyTextArray } from './postgres-copy.js';
import { pageItems, type StagedPage } from './postgres-staging.js';

/**
 * A prepared import's chunk as the version rows it inserts, encoded here from its staged items
 * (the same columns versionCopyLine computes from a record), so that its transaction is one COPY
 * of final rows: the server parses each row's fields and checks the body as json, as the bare
 * COPY of the baseline does, instead of cutting and parsing the staged text in SQL (measured:
 * that statement cost twice the COPY of the same rows). The pages are read as bytes and the rows
 * encoded on a thread of their own (postgres-chunk-encoder.ts): this thread only gives each line
 * its ctx and seq and sends them.
 */

/** COPY of a chunk's versions: ctx and seq first, known only in the chunk's transaction. */
export const COPY_CHUNK = 'COPY analogies(ctx, seq, id, version, op, prev, current, source_domain, target_domain, quality, created_ms, deleted_at, workflow_id, tags, frames, body)';

export interface ChunkRows {
  /** the records' ids, in item order */
  ids: string[];
  /** each version's columns from id to body, COPY-escaped, without ctx and seq, a line each */
  lines: Buffer;
  /** where each line ends in `lines` (after its newline) */
  ends: Int32Array;
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

/**
 * The version rows of a chunk's staged items, or null when one of them is not a put of the index
 * form (the chunk then goes the generic way). `context`: the workflow's context (a verbatim put's
 * record names it). Runs on the chunk encoder's thread (postgres-chunk-worker.ts).
 */
export function encodeChunkRows(items: readonly string[], context: string): ChunkRows | null {
  const ids: string[] = new Array<string>(items.length);
  const rows: string[] = new Array<string>(items.length);
  for (let i = 0; i < items.length; i++) {
    const json = items[i] as string;
    if (!PREPARED_KINDS.has(stagedPutKindOfText(json))) return null;
    const { columns, recordJson } = decodeFreshPut(json, context);
    const [id, version, source, target, quality, createdMs, workflowId, tags, frames] = columns;
    ids[i] = id;
    // A put of a new record is never deleted: deleted_at is NULL, as the record says.
    rows[i] = `${copyField(id)}\t${version}\tput\t\\N\tt\t${copyField(source)}\t${copyField(target)}\t${quality}\t${createdMs}\t\\N\t${copyField(workflowId)}\t${arrayField(tags)}\t${arrayField(frames)}\t${copyField(recordJson)}\n`;
  }
  const lines = Buffer.from(rows.join(''));
  // A COPY line holds no raw newline (copyField escapes them): each ends at the next one.
  const ends = new Int32Array(rows.length);
  for (let i = 0, at = 0; i < rows.length; i++) ends[i] = at = lines.indexOf(NEWLINE, at) + 1;
  return { ids, lines, ends };
}

const NEWLINE = 10;

/** The memory of `view` when it is all of it (a large Buffer's own), to move to another thread uncopied; otherwise none (it is copied). */
export function movable(view: Uint8Array): ArrayBuffer[] {
  const memory = view.buffer;
  return memory instanceof ArrayBuffer && view.byteOffset === 0 && view.byteLength === memory.byteLength ? [memory] : [];
}

/**
 * The staged items [start, end) of the pages readStagedPageBytes read, in item order (fewer when
 * some are missing: a page that starts after the next item leaves a gap, and reading stops there).
 */
export function chunkItems(pages: readonly StagedPage[], start: number, end: number): string[] {
  const items: string[] = [];
  for (const page of pages) {
    if (page.first > start + items.length) break;
    for (const json of pageItems(page, start + items.length, end)) items.push(json);
  }
  return items;
}

/**
 * Inserts a chunk's versions in the caller's transaction: seqs drawn in item order (one
 * statement), the rows by one COPY (each line given its ctx and seq, by copying bytes), and the
 * workflow's journal row for them.
 */
export async function insertChunkRows(client: pg.ClientBase, ctx: number, workflowId: string, chunk: ChunkRows): Promise<void> {
  const n = chunk.ends.length;
  const { rows } = await client.query<{ seqs: string }>(`SELECT string_agg(nextval('change_seq')::text, ',') AS seqs FROM generate_series(1, $1)`, [n]);
  const seqs = (rows[0]?.seqs ?? '').split(',').map(Number).sort((a, b) => a - b);
  const head = `${ctx}\t`;
  // ctx, a tab, a seq of at most 20 digits and a tab before each line.
  const out = Buffer.allocUnsafe(chunk.lines.length + n * (head.length + 21));
  let o = 0;
  for (let i = 0, from = 0; i < n; i++) {
    o += out.write(`${head}${seqs[i] as number}\t`, o, 'latin1');
    const to = chunk.ends[i] as number;
    o += chunk.lines.copy(out, o, from, to);
    from = to;
  }
  await copyBytes(client, COPY_CHUNK, out.subarray(0, o));
  await client.query(`INSERT INTO workflow_changes(workflow_id, ctx, kind, ids, seqs) VALUES ($1, $2, 'analogy', $3, $4)`, [workflowId, ctx, chunk.ids, seqs]);
}
