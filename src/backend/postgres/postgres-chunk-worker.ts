/**
 * The chunk encoder's thread (postgres-chunk-encoder.ts): a prepared import's chunk from the bytes
 * of its staged pages to the COPY lines of its versions, off the thread that sends them.
 */
import { parentPort } from 'node:worker_threads';
import { chunkItems, encodeChunkRows, movable } from './postgres-chunk-rows.js';
import { stagedPagesOfCopy } from './postgres-staging.js';

export interface EncodeRequest {
  job: number;
  /** readStagedPageBytes' answer */
  pages: Uint8Array;
  start: number;
  end: number;
  context: string;
}

export type EncodeAnswer =
  | { job: number; ids: string[]; lines: Uint8Array; ends: Int32Array }
  | { job: number; none: true }
  | { job: number; error: string };

const port = parentPort;
port?.on('message', (req: EncodeRequest) => {
  let answer: EncodeAnswer;
  try {
    const pages = stagedPagesOfCopy(Buffer.from(req.pages.buffer, req.pages.byteOffset, req.pages.byteLength));
    const items = chunkItems(pages, req.start, req.end);
    const rows = items.length === req.end - req.start ? encodeChunkRows(items, req.context) : null;
    if (rows === null) answer = { job: req.job, none: true };
    else {
      answer = { job: req.job, ids: rows.ids, lines: rows.lines, ends: rows.ends };
      // Buffer.from of a long string owns its memory: it moves to the other thread uncopied.
      port.postMessage(answer, [...movable(rows.lines), ...movable(new Uint8Array(rows.ends.buffer))]);
      return;
    }
  } catch (err) {
    answer = { job: req.job, error: err instanceof Error ? (err.stack ?? err.message) : String(err) };
  }
  port.postMessage(answer);
});
