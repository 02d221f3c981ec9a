/**
 * The chunk encoder's thread (postgres-chunk-encoder.ts): a prepared import's chunk from the bytes
 * of its staged pages to the COPY lines of its versions, off the thread that sends them.
 */
import { parentPort } from 'node:worker_threads';
import { encodeChunkRows, movable } from './postgres-chunk-rows.js';
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
  | { job: number; ids: string[]; lines: Uint8Array; starts: Int32Array }
  | { job: number; none: true }
  | { job: number; error: string };

const port = parentPort;
port?.on('message', (req: EncodeRequest) => {
  let answer: EncodeAnswer;
  try {
    const pages = stagedPagesOfCopy(Buffer.from(req.pages.buffer, req.pages.byteOffset, req.pages.byteLength));
    const rows = encodeChunkRows(pages, req.start, req.end, req.context);
    if (rows !== null) {
      // The lines are the start of a buffer of their own (ByteBuilder's): it moves to the other thread uncopied.
      const lines = new Uint8Array(rows.lines.buffer, rows.lines.byteOffset, rows.lines.byteLength);
      port.postMessage({ job: req.job, ids: rows.ids, lines, starts: rows.starts } satisfies EncodeAnswer, [...movable(new Uint8Array(lines.buffer)), ...movable(new Uint8Array(rows.starts.buffer))]);
      return;
    }
    answer = { job: req.job, none: true };
  } catch (err) {
    answer = { job: req.job, error: err instanceof Error ? (err.stack ?? err.message) : String(err) };
  }
  port.postMessage(answer);
});
