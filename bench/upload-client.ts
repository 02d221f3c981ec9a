/**
 * The uploading client of `ingest --via http`, in a process of its own as a real client is
 * (bench/ingest.ts starts it): POSTs FILE to URL as one streamed body with its content-length and
 * prints one JSON line: the answer's status and `imported`, the seconds from the request to the
 * parsed answer (the process's start-up is not timed), and the client's own CPU and peak RSS.
 *
 *   node dist/bench/upload-client.js URL FILE CONTENT_TYPE
 */
import { createReadStream, statSync } from 'node:fs';
import { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';

export interface UploadAnswer {
  status: number;
  imported: number | null;
  /** the answer's body, cut short, when it is not a 201 */
  error: string | null;
  seconds: number;
}

/** One streamed POST of `file`, timed from the request to the parsed answer. */
export async function postFile(url: string, file: string, contentType: string): Promise<UploadAnswer> {
  const t0 = performance.now();
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': contentType, 'content-length': String(statSync(file).size) },
    body: Readable.toWeb(createReadStream(file)) as ReadableStream,
    duplex: 'half',
  } as RequestInit);
  const body = (await response.json()) as { imported?: number };
  const seconds = (performance.now() - t0) / 1000;
  return { status: response.status, imported: body.imported ?? null, error: response.status === 201 ? null : JSON.stringify(body).slice(0, 300), seconds };
}

async function main(): Promise<void> {
  const [url, file, contentType] = process.argv.slice(2);
  const answer = await postFile(url, file, contentType);
  const cpu = process.cpuUsage();
  const usage = process.resourceUsage();
  process.stdout.write(
    JSON.stringify({ ...answer, cpu_seconds: +((cpu.user + cpu.system) / 1e6).toFixed(2), peak_rss_mb: Math.round(usage.maxRSS / 1024) }) + '\n',
  );
}

// Run as a script (the bench's child), not when imported for postFile.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
