import type pg from 'pg';
import { decodeFreshPut, StagedPutKind, stagedPutKindOfText } from '../../core/staged-put.js';
import { copyField, copyRows, copyTextArray } from './postgres-copy.js';
import { pageItems, readStagedPages } from './postgres-staging.js';

/**
 * A prepared import's chunk as the version rows it inserts, encoded here from its staged items
 * (the same columns versionCopyLine computes from a record), so that its transaction is one COPY
 * of final rows: the server parses each row's fields and checks the body as json, as the bare
 * COPY of the baseline does, instead of cutting and parsing the staged text in SQL (measured:
 * that statement cost twice the COPY of the same rows).
 */

/** COPY of a chunk's versions: ctx and seq first, known only in the chunk's transaction. */
export const COPY_CHUNK = 'COPY analogies(ctx, seq, id, version, op, prev, current, source_domain, target_domain, quality, created_ms, deleted_at, workflow_id, tags, frames, body)';

export interface ChunkRows {
  /** the records' ids, in item order */
  ids: string[];
  /** each version's columns from id to body, COPY-escaped, without ctx and seq */
  rows: string[];
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

/** Items encoded between two yields to the event loop (a service answers queries meanwhile). */
const ENCODE_SLICE = 2000;

/**
 * The version rows of a chunk's staged items, or null when one of them is not a put of the index
 * form (the chunk then goes the generic way). `context`: the workflow's context (a verbatim put's
 * record names it). Encoded a slice at a time, letting timers and requests run in between.
 */
export async function encodeChunkRows(items: readonly string[], context: string): Promise<ChunkRows | null> {
  const ids: string[] = new Array<string>(items.length);
  const rows: string[] = new Array<string>(items.length);
  for (let from = 0; from < items.length; from += ENCODE_SLICE) {
    if (from > 0) await new Promise<void>((resolve) => setImmediate(resolve));
    const to = Math.min(from + ENCODE_SLICE, items.length);
    for (let i = from; i < to; i++) {
      const json = items[i] as string;
      if (!PREPARED_KINDS.has(stagedPutKindOfText(json))) return null;
      const { columns, recordJson } = decodeFreshPut(json, context);
      const [id, version, source, target, quality, createdMs, workflowId, tags, frames] = columns;
      ids[i] = id;
      // A put of a new record is never deleted: deleted_at is NULL, as the record says.
      rows[i] = `${copyField(id)}\t${version}\tput\t\\N\tt\t${copyField(source)}\t${copyField(target)}\t${quality}\t${createdMs}\t\\N\t${copyField(workflowId)}\t${arrayField(tags)}\t${arrayField(frames)}\t${copyField(recordJson)}`;
    }
  }
  return { ids, rows };
}

/** The staged text of items [start, end) of a workflow, in item order (fewer when some are missing). */
export async function readChunkItems(pool: pg.Pool, workflowId: string, start: number, end: number): Promise<string[]> {
  const items: string[] = [];
  // Pages are written once and never changed, so reading them by several statements is safe.
  for await (const page of readStagedPages(pool, workflowId, start, end)) {
    // A page that starts after the next item would leave a gap: stop there (the count shows it).
    if (page.first > start + items.length) break;
    for (const json of pageItems(page, start + items.length, end)) items.push(json);
  }
  return items;
}

/**
 * Inserts a chunk's versions in the caller's transaction: seqs drawn in item order (one
 * statement), the rows by one COPY, and the workflow's journal row for them.
 */
export async function insertChunkRows(client: pg.ClientBase, ctx: number, workflowId: string, chunk: ChunkRows): Promise<void> {
  const { rows } = await client.query<{ seqs: string }>(`SELECT string_agg(nextval('change_seq')::text, ',') AS seqs FROM generate_series(1, $1)`, [chunk.rows.length]);
  const seqs = (rows[0]?.seqs ?? '').split(',').map(Number).sort((a, b) => a - b);
  const head = `${ctx}\t`;
  await copyRows(
    client,
    COPY_CHUNK,
    chunk.rows.map((row, i) => `${head}${seqs[i] as number}\t${row}`),
  );
  await client.query(`INSERT INTO workflow_changes(workflow_id, ctx, kind, ids, seqs) VALUES ($1, $2, 'analogy', $3, $4)`, [workflowId, ctx, chunk.ids, seqs]);
}
