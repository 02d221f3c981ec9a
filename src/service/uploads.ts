import { randomUUID } from 'node:crypto';
import { close, mkdirSync, open, readdirSync, rmSync, writev } from 'node:fs';
import { join } from 'node:path';
import { Transform, Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Ajv } from 'ajv';
import { pidAlive } from '../core/pid-alive.js';
import { arrivingFile, fileBroken, fileComplete, linesWritten, type ArrivingFile } from '../core/arriving-file.js';
import { SoftlogicError, type Store } from '../api/index.js';
import type { ServiceContext } from './context.js';
import type { ActivityRouteConfig } from './activity.js';

/**
 * Uploaded bodies (batch of analogies, workflow items, knowledge imports) are streamed to a
 * temporary file under the store, `<store>/tmp/upload-<uuid>.<ext>`, which the core then reads
 * like any input file (JSON lines or one JSON array, gzip'd or not: detected from the bytes), and
 * removed afterwards. Memory stays flat whatever the body size; the upload limit is enforced
 * while streaming (413). An import may also read the file while it arrives (startUpload's
 * `arriving`, see ImportOptions.arriving): it commits nothing before the whole body is in.
 */

/** Content types the upload routes accept; the body is passed through as a stream. */
export const UPLOAD_CONTENT_TYPES = ['application/json', 'application/x-ndjson', 'application/jsonl', 'application/gzip', 'application/octet-stream', 'text/plain'];

export const DEFAULT_UPLOAD_LIMIT = 256 * 1024 * 1024;

/** Under the store's work directory: the store's own for the embedded backend, ./softlogic-work for a database (never its URL). */
export function uploadDir(store: Store): string {
  return join(store.workDir, 'tmp');
}

/**
 * A temporary path under the store for a file the service writes (uploads, exports), named with
 * this process's pid: replicas of a database store on one machine share the directory.
 */
export function tempPath(store: Store, prefix: string, ext: string): string {
  const dir = uploadDir(store);
  mkdirSync(dir, { recursive: true });
  return join(dir, `${prefix}-${process.pid}-${randomUUID()}.${ext}`);
}

/** Removes temporary files a previous server left behind (it died mid-request), never those of a server still running. */
export function removeStaleTemporaries(store: Store): void {
  const dir = uploadDir(store);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const m = /^(?:upload|export)-(?:(\d+)-)?[0-9a-f-]{36}\./.exec(name);
    if (m && (m[1] === undefined || !pidAlive(Number(m[1])))) rmSync(join(dir, name), { force: true });
  }
}

function tooLarge(limit: number): SoftlogicError {
  return new SoftlogicError('PAYLOAD_TOO_LARGE', `Request body too large: at most ${limit} bytes`, { limit });
}

export interface UploadOptions {
  /** extension of the temporary file (the core reads some formats off it); default jsonl */
  ext?: string;
  /** what the body should hold, for the message of an absent body */
  expected?: string;
}

/** An upload being written to its temporary file (see startUpload). */
export interface Upload {
  path: string;
  /** The file as it arrives, for an import that reads it meanwhile; null without a declared content-length. */
  arriving: ArrivingFile | null;
  /** Settles once the file holds its first HEAD_BYTES (or all of a shorter body): its form can be told. */
  head: Promise<void>;
  /** Settles once the whole body is in the file; rejects as receiveUpload does. */
  done: Promise<void>;
}

/** What an upload's file must hold before its form (lines, array, gzip) is told from it. */
export const HEAD_BYTES = 64 * 1024;

/**
 * Starts streaming the request body to a temporary file (the caller removes it, once `done` has
 * settled). An absent body is refused at once (400 EMPTY_INPUT), as is a declared length over
 * the limit (413); an empty body, one over the limit or interrupted rejects `done`.
 */
export function startUpload(ctx: ServiceContext, request: FastifyRequest, reply: FastifyReply, options: UploadOptions = {}): Upload {
  const body = request.body as Readable | undefined;
  const limit = ctx.uploadLimit;
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    reply.header('connection', 'close');
    throw tooLarge(limit);
  }
  if (!body || typeof (body as Partial<Readable>).pipe !== 'function') {
    throw new SoftlogicError('EMPTY_INPUT', `the request has no body: send ${options.expected ?? 'analogies as JSON lines (application/x-ndjson) or a JSON array'}`, { field: 'body' });
  }
  const path = tempPath(ctx.store, 'upload', options.ext ?? 'jsonl');
  const arriving = Number.isSafeInteger(declared) && declared > 0 ? arrivingFile(declared) : null;
  let bytes = 0;
  let headReached: () => void = () => {};
  const head = new Promise<void>((resolve) => (headReached = resolve));
  const counter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      bytes += chunk.length;
      if (bytes > limit) done(tooLarge(limit));
      else done(null, chunk);
    },
  });
  // The body is piped by hand (not part of the pipeline) so that an oversized one is left
  // unread rather than destroyed: the 413 then reaches the client before the connection closes.
  body.on('error', (err) => counter.destroy(err));
  body.pipe(counter);
  const file = appendingFile(path, (written, linesEnd) => {
    if (arriving && linesEnd > 0) linesWritten(arriving, linesEnd);
    if (written >= HEAD_BYTES) headReached();
  });
  const done = (async () => {
    try {
      await pipeline(counter, file);
    } catch (err) {
      body.unpipe(counter);
      if (err instanceof SoftlogicError) {
        reply.header('connection', 'close');
        throw err;
      }
      throw new SoftlogicError('INVALID_INPUT', `the upload was interrupted: ${(err as Error).message}`, { field: 'body' });
    }
    if (bytes === 0) throw new SoftlogicError('EMPTY_INPUT', 'the request body is empty', { field: 'body' });
  })();
  done.then(
    () => arriving && fileComplete(arriving, bytes),
    () => arriving && fileBroken(arriving),
  );
  void done.finally(headReached).catch(() => {});
  return { path, arriving, head, done };
}

/**
 * Streams the request body to a temporary file and returns its path (the caller removes it).
 * An absent or empty body is a 400 EMPTY_INPUT; a body over the limit a 413.
 */
export async function receiveUpload(ctx: ServiceContext, request: FastifyRequest, reply: FastifyReply, options: UploadOptions = {}): Promise<string> {
  const upload = startUpload(ctx, request, reply, options);
  try {
    await upload.done;
  } catch (err) {
    rmSync(upload.path, { force: true });
    throw err;
  }
  return upload.path;
}

/**
 * A new file (created, never overwritten) the stream appends to; after each write, `written`
 * tells the bytes in the file and how far they are whole lines (just past the last newline).
 */
function appendingFile(path: string, written: (bytes: number, linesEnd: number) => void): Writable {
  let fd = -1;
  let bytes = 0;
  let linesEnd = 0;
  return new Writable({
    construct(done) {
      open(path, 'wx', (err, opened) => {
        fd = opened;
        done(err);
      });
    },
    writev(chunks, done) {
      const buffers = chunks.map((c) => c.chunk as Buffer);
      writeAll(fd, buffers, (err) => {
        if (err) return done(err);
        for (const b of buffers) {
          const nl = b.lastIndexOf(10);
          if (nl >= 0) linesEnd = bytes + nl + 1;
          bytes += b.length;
        }
        written(bytes, linesEnd);
        done();
      });
    },
    final(done) {
      close(fd, (err) => {
        fd = -1;
        done(err);
      });
    },
    destroy(err, done) {
      if (fd < 0) return done(err);
      close(fd, () => done(err));
      fd = -1;
    },
  });
}

/** Writes every byte of `buffers` at the file's position (a short write is continued). */
function writeAll(fd: number, buffers: Buffer[], done: (err: Error | null) => void): void {
  writev(fd, buffers, (err, n) => {
    if (err) return done(err);
    const total = buffers.reduce((sum, b) => sum + b.length, 0);
    if (n === total) return done(null);
    writeAll(fd, [Buffer.concat(buffers).subarray(n)], done);
  });
}

/**
 * The core names the file it read in its messages; for an upload that is a temporary file of the
 * server's, so the client is told about "the request body" instead.
 */
export function scrubPath<T>(work: Promise<T>, path: string): Promise<T> {
  return work.catch((err: unknown) => {
    if (!(err instanceof SoftlogicError)) throw err;
    const details = JSON.parse(JSON.stringify(err.details).split(JSON.stringify(path).slice(1, -1)).join('request body')) as Record<string, unknown>;
    throw new SoftlogicError(err.code, err.message.split(path).join('request body'), details);
  });
}

/** Replaces a temporary path in a result (e.g. a workflow's metadata.source) with "request body". */
export function scrubResult<T>(result: T, path: string): T {
  const text = JSON.stringify(result);
  if (!text.includes(path)) return result;
  return JSON.parse(text.split(JSON.stringify(path).slice(1, -1)).join('request body')) as T;
}

/** The media type of a request, lower case, without parameters ('' when absent). */
export function mediaType(request: FastifyRequest): string {
  const header = request.headers['content-type'];
  return (typeof header === 'string' ? header : '').split(';')[0].trim().toLowerCase();
}

/**
 * Registers routes whose bodies are uploaded files in their own plugin scope: each of `types` is
 * passed through as a stream (receiveUpload writes it to a temporary file) instead of being
 * parsed, and body schemas only document the payload (the core validates the file).
 */
export async function withUploadScope(app: FastifyInstance, types: readonly string[], register: (scope: FastifyInstance) => void): Promise<void> {
  await app.register(async (scope) => {
    // Uploads are not the queries an import keeps out of the way of (see activity.ts).
    scope.addHook('onRoute', (route) => {
      route.config = { ...(route.config as object | undefined), notActivity: true } satisfies ActivityRouteConfig as typeof route.config;
    });
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser([...types], (_request, payload, done) => done(null, payload));
    // Same options as the server's validator for params and querystrings; bodies are streams.
    const ajv = new Ajv({ coerceTypes: 'array', useDefaults: true, removeAdditional: false, allErrors: false, strict: false });
    scope.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? () => true : ajv.compile(schema)));
    register(scope);
  });
}

/** 415 unless the request's media type is one of `accepted`. */
export function requireMediaType(request: FastifyRequest, accepted: readonly string[]): string {
  const type = mediaType(request);
  if (!accepted.includes(type)) {
    throw new SoftlogicError('UNSUPPORTED_FORMAT', `content type ${JSON.stringify(type || '(none)')} is not accepted here: send ${accepted.join(', ')}`, { field: 'content-type', accepted });
  }
  return type;
}

/** Refuses new uploads and heavy work once the server is closing. */
export function refuseWhenClosing(ctx: ServiceContext): void {
  if (ctx.closing) throw new SoftlogicError('STORE_CLOSED', 'the server is shutting down', {});
}
