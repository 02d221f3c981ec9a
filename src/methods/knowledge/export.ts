import { createWriteStream, existsSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { createGzip } from 'node:zlib';
import type { Writable } from 'node:stream';
import { SoftlogicError } from '../../core/errors.js';
import { assertContextName } from '../../core/names.js';
import type { ContextInfo, RecordKind } from '../../core/records.js';
import { trackPartialOutput } from '../../core/partial-output.js';
import { killPoint } from '../../core/kill-point.js';
import type { Backend } from '../../backend/backend.js';
import type { Engine } from '../../workflows/engine.js';

/**
 * `export`: every active record of a context (or of all) as JSON lines
 *   {"kind":"context","context":"c","record":{"name":"c","parent":null,"description":null}}
 *   {"kind":"analogy","context":"c","record":{...}}
 *   {"kind":"concept","context":"c","record":{...}}
 * or as one JSON document
 *   {"format":"softlogic-export","version":1,"exported_at":"...","contexts":{
 *   "c":{"parent":null,"description":null,"records":[
 *   {"kind":"analogy","context":"c","record":{...}},
 *   ...
 *   ]}},"counts":{"c":{"analogy":N}}}
 * with one record per line, so `import` reads either form line by line. Records are written as
 * the store holds them (their JSON text is never re-serialised), analogies first, then each other
 * kind (ENTITY_KINDS order), each in write order, through a bounded
 * buffer with backpressure: memory does not grow with the size of the store. The file appears
 * under its name only when complete (written to a temporary name, then renamed).
 */
export type ExportFormat = 'json' | 'jsonl';

export interface ExportOptions {
  out: string;
  context?: string;
  format?: ExportFormat;
  gzip?: boolean;
}

export interface ExportResult {
  file: string;
  format: ExportFormat;
  gzip: boolean;
  bytes: number;
  seconds: number;
  records: number;
  counts: Record<string, Record<string, number>>;
}

const FLUSH_BYTES = 1 << 20;

class Sink {
  private parts: string[] = [];
  private size = 0;
  private readonly file: Writable;
  private readonly head: Writable;
  private failed: Error | null = null;

  constructor(path: string, gzip: boolean) {
    this.file = createWriteStream(path, { flags: 'wx' });
    this.head = gzip ? createGzip({ level: 6 }) : this.file;
    if (gzip) this.head.pipe(this.file);
    for (const s of [this.file, this.head]) s.on('error', (e: Error) => (this.failed ??= e));
  }

  /** Buffers text; returns a promise only when the buffer was handed on (await it then). */
  push(text: string): Promise<void> | undefined {
    this.parts.push(text);
    this.size += text.length;
    return this.size >= FLUSH_BYTES ? this.flush() : undefined;
  }

  private async flush(): Promise<void> {
    if (this.failed) throw this.failed;
    if (this.parts.length === 0) return;
    const ok = this.head.write(this.parts.join(''));
    this.parts = [];
    this.size = 0;
    if (!ok) await new Promise<void>((r) => this.head.once('drain', () => r()));
  }

  async end(): Promise<void> {
    await this.flush();
    await new Promise<void>((resolveEnd, reject) => {
      this.file.once('close', () => (this.failed ? reject(this.failed) : resolveEnd()));
      this.file.once('error', reject);
      this.head.end();
    });
  }

  destroy(): void {
    this.head.destroy();
    this.file.destroy();
  }
}

/** The kinds of record exported after a context's analogies, in this order. */
const ENTITY_KINDS: readonly RecordKind[] = ['concept', 'frame', 'frame_instance', 'frame_relation', 'cluster', 'semantic_field'];

/** Contexts parents first, so an import can create each with its parent. */
async function orderedContexts(backend: Backend, only?: string): Promise<ContextInfo[]> {
  if (only !== undefined) return [await backend.contexts.require(assertContextName(only))];
  const rows = await backend.contexts.list();
  const byName = new Map(rows.map((r) => [r.name, r]));
  const out: ContextInfo[] = [];
  const seen = new Set<string>();
  const visit = (r: ContextInfo, depth: number) => {
    if (seen.has(r.name) || depth > 64) return;
    const parent = r.parent ? byName.get(r.parent) : undefined;
    if (parent) visit(parent, depth + 1);
    seen.add(r.name);
    out.push(r);
  };
  for (const r of [...rows].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) visit(r, 0);
  return out;
}

export async function exportKnowledge(engine: Engine, options: ExportOptions): Promise<ExportResult> {
  const t0 = performance.now();
  const format = options.format ?? 'jsonl';
  if (format !== 'json' && format !== 'jsonl') throw new SoftlogicError('INVALID_INPUT', `format must be json or jsonl, got '${String(format)}'`, { field: 'format' });
  if (!options.out) throw new SoftlogicError('INVALID_INPUT', 'export needs an output file', { field: 'out' });
  const out = resolve(options.out);
  if (existsSync(out)) throw new SoftlogicError('INVALID_INPUT', `${out} already exists; choose another output file`, { path: out });
  if (!existsSync(dirname(out))) throw new SoftlogicError('FILE_NOT_FOUND', `directory ${dirname(out)} does not exist`, { path: out });
  const { backend } = engine;
  const contexts = await orderedContexts(backend, options.context);
  const tmp = `${out}.partial-${process.pid}`;
  // Named in the work directory while written, so a killed export's partial file is found and removed.
  const untrack = trackPartialOutput(engine.workDir, tmp);
  const sink = new Sink(tmp, options.gzip === true);
  const counts: Record<string, Record<string, number>> = {};
  let records = 0;
  try {
    const json = format === 'json';
    if (json) await sink.push(`{"format":"softlogic-export","version":1,"exported_at":${JSON.stringify(new Date().toISOString())},"contexts":{\n`);
    let firstContext = true;
    for (const row of contexts) {
      const c = JSON.stringify(row.name);
      const perKind: Record<string, number> = {};
      counts[row.name] = perKind;
      let first = true;
      // In the document, records are joined by ",\n"; the separator goes before each record.
      const sep = () => {
        const s = json && !first ? ',\n' : '';
        first = false;
        return s;
      };
      if (json) {
        await sink.push(`${firstContext ? '' : ','}${c}:{"parent":${JSON.stringify(row.parent)},"description":${JSON.stringify(row.description)},"records":[\n`);
      } else {
        await sink.push(`{"kind":"context","context":${c},"record":${JSON.stringify({ name: row.name, parent: row.parent, description: row.description })}}\n`);
      }
      firstContext = false;
      const end = json ? '' : '\n';
      for (const kind of ['analogy' as const, ...ENTITY_KINDS]) {
        const pages = kind === 'analogy' ? backend.records.streamAnalogyJson({ context: row.name }) : backend.records.streamEntityJson(row.name, kind);
        const k = JSON.stringify(kind);
        let n = 0;
        for await (const page of pages) {
          for (const text of page) {
            const pending = sink.push(`${sep()}{"kind":${k},"context":${c},"record":${text}}${end}`);
            if (pending) await pending;
          }
          n += page.length;
        }
        if (n > 0) perKind[kind] = n;
        records += n;
      }
      if (json) await sink.push(`${first ? '' : '\n'}]}\n`);
      killPoint('export-after-context');
    }
    if (json) await sink.push(`},"counts":${JSON.stringify(counts)}}\n`);
    await sink.end();
    renameSync(tmp, out);
  } catch (err) {
    sink.destroy();
    rmSync(tmp, { force: true });
    throw err;
  } finally {
    untrack();
  }
  return { file: out, format, gzip: options.gzip === true, bytes: statSync(out).size, seconds: (performance.now() - t0) / 1000, records, counts };
}
