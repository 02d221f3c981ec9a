import { Command } from 'commander';
import { createRequire } from 'node:module';
import { toSoftlogicError, SoftlogicError } from '../core/errors.js';
import { defaultStoreLocation, openStore } from '../api/open-store.js';
import type { Store } from '../api/store.js';
import type { ProgressEvent } from '../workflows/progress.js';
import { humanText, STREAM_COLUMNS, streamRow } from './format.js';

/** Options every command takes. */
export interface GlobalOptions {
  store?: string;
  json?: boolean;
}

export function globals(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals<GlobalOptions>();
}

export function storeDir(cmd: Command): string {
  return globals(cmd).store ?? defaultStoreLocation();
}

export async function withStore<T>(cmd: Command, fn: (store: Store) => Promise<T> | T): Promise<T> {
  const store = await openStore(storeDir(cmd));
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

/**
 * Prints a result on stdout: one JSON document with --json; otherwise the command's own summary
 * line when it has one, else the result as tables and `key: value` lines by its shape.
 */
export function print(cmd: Command, value: unknown, human?: string): void {
  if (globals(cmd).json) process.stdout.write(JSON.stringify(value) + '\n');
  else process.stdout.write((human ?? humanText(value)) + '\n');
}

/** A note for the person at the terminal (never part of the result): stderr, not with --json. */
export function note(cmd: Command, text: string): void {
  if (!globals(cmd).json) process.stderr.write(text + '\n');
}

/** A progress bar on stderr, only on a terminal and never with --json. */
export function progressBar(cmd: Command): ((e: ProgressEvent) => void) | undefined {
  if (globals(cmd).json || !process.stderr.isTTY) return undefined;
  // Loaded here, on a terminal only: scripts and tests never pay for it.
  const cliProgress = createRequire(import.meta.url)('cli-progress') as typeof import('cli-progress');
  const bar = new cliProgress.SingleBar(
    { stream: process.stderr, format: ' {bar} {percentage}% | {value}/{total} | {rate}/s | ETA {eta_s}s', hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return (e) => {
    if (!started) {
      bar.start(e.items_total, e.items_processed, { rate: e.rate, eta_s: e.eta_seconds ?? '?' });
      started = true;
    }
    bar.update(e.items_processed, { rate: e.rate, eta_s: e.eta_seconds ?? '?' });
    if (e.final) bar.stop();
  };
}

/**
 * A stream of records (JSON texts) on stdout: JSON lines with --json, otherwise a table written
 * row by row (fixed-width columns of the record kind), either way in constant memory.
 */
export async function writeRecords(cmd: Command, kind: string, json: AsyncIterable<string>): Promise<void> {
  if (globals(cmd).json) return writeJsonLines(json);
  const columns = STREAM_COLUMNS[kind] ?? ['id'];
  let count = 0;
  async function* rows(): AsyncGenerator<string> {
    yield streamRow(columns, null);
    for await (const text of json) {
      count++;
      yield streamRow(columns, JSON.parse(text) as Record<string, unknown>);
    }
  }
  await writeJsonLines(rows());
  note(cmd, `${count} record(s)`);
}

/** Writes lines to stdout in blocks, waiting for 'drain' so memory stays flat. */
export async function writeJsonLines(lines: Iterable<string> | AsyncIterable<string>): Promise<void> {
  let buffer: string[] = [];
  const flush = async () => {
    if (buffer.length === 0) return;
    const ok = process.stdout.write(buffer.join('\n') + '\n');
    buffer = [];
    if (!ok) await new Promise<void>((resolve) => process.stdout.once('drain', () => resolve()));
  };
  for await (const line of lines) {
    buffer.push(line);
    if (buffer.length >= 1000) await flush();
  }
  await flush();
}

/**
 * The core's messages name no CLI flags (the HTTP service shows them too); the CLI adds the
 * flag to use: from `details.option` ({scope: 'vocabulary'} -> --scope vocabulary) or the code.
 */
function cliHint(e: SoftlogicError): string | undefined {
  const option = e.details.option;
  if (option && typeof option === 'object') {
    return 'use ' + Object.entries(option as Record<string, unknown>).map(([k, v]) => `--${k.replace(/_/g, '-')} ${String(v)}`).join(' ');
  }
  if (e.code === 'IMPORT_REJECTED') return 'pass --lenient to import the valid lines and write the others to a rejects file';
  return undefined;
}

export function reportError(err: unknown, json: boolean): number {
  const e = toSoftlogicError(err);
  if (json) process.stdout.write(JSON.stringify({ error: e.toJSON() }) + '\n');
  else {
    process.stderr.write(`softlogic: ${e.message} [${e.code}]\n`);
    const hint = cliHint(e);
    if (hint) process.stderr.write(`hint: ${hint}\n`);
    const issues = (e.details as { issues?: Array<{ line?: number; field: string; reason: string }> }).issues;
    if (Array.isArray(issues)) {
      for (const i of issues.slice(0, 50)) process.stderr.write(`  ${i.line !== undefined ? `line ${i.line}: ` : ''}${i.field}: ${i.reason}\n`);
      if (issues.length > 50) process.stderr.write(`  ... ${issues.length - 50} more (use --json for all)\n`);
    }
  }
  return e.exitCode;
}

export function parseNumber(name: string, min: number, max: number, integer = false): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
      throw new SoftlogicError('INVALID_INPUT', `--${name} must be ${integer ? 'an integer' : 'a number'} in [${min}, ${max}], got '${value}'`, { field: name });
    }
    return n;
  };
}

/**
 * A reader that stops early (`softlogic ... | head`) closes the pipe: the command has nothing
 * left to say to anyone, so it ends quietly with status 0 rather than an EPIPE stack trace.
 */
export function exitQuietlyOnClosedPipe(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(0);
      throw err;
    });
  }
}
