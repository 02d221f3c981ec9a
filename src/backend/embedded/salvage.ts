import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { fsyncDir } from './fs-durable.js';
import { checksumOk, encodeCommitLine, encodeRecordLine, type RecordLine } from './log-format.js';
import { readPlainLines } from './log-reader.js';
import { parseLogLine } from './replay.js';
import { setAside } from './set-aside.js';
import { contextsWithLogs, type EmbeddedStore } from './embedded-store.js';
import type { SalvageReport } from '../maintenance.js';
export type { SalvageReport } from '../maintenance.js';

const BLOCK_HEADER = /^\{"op":"block","v":(\d+),"n":(\d+),"zlen":\d+,"z":"/;
const MAX_LOST_IDS = 100;
const WRITE_BUFFER = 1 << 20;

/** Buffered writer of the salvaged log. */
class Out {
  private parts: string[] = [];
  private size = 0;
  offset = 0;
  constructor(private readonly fd: number) {}
  write(line: string): number {
    const at = this.offset;
    this.parts.push(line);
    const n = Buffer.byteLength(line);
    this.offset += n;
    this.size += n;
    if (this.size >= WRITE_BUFFER) this.flush();
    return at;
  }
  flush(): void {
    if (this.parts.length > 0) writeSync(this.fd, this.parts.join(''));
    this.parts = [];
    this.size = 0;
  }
}

interface PendingLine {
  line: RecordLine;
  text: string;
  /** virtual offset in the old log */
  off: number;
  /** physical piece, for setting an uncommitted tail aside */
  phys: number | null;
  length: number;
}

/**
 * Rewrites a context's log keeping every line whose checksum passes: damaged lines (and
 * compressed blocks that fail) are copied aside into salvaged/ and left out; a batch whose
 * commit line was lost is closed with a new one; `prev` pointers are moved to the lines' new
 * offsets (or dropped when the older version was lost). Only a last batch with no commit line
 * that the old index had not counted as committed is treated as torn. The new log replaces the
 * old by rename; a log with nothing damaged is left untouched (null).
 */
function salvageLog(store: EmbeddedStore, context: string, committedUpTo: number): SalvageReport | null {
  const layout = store.layout;
  const path = layout.log(context);
  const tmp = `${path}.salvage`;
  const report: SalvageReport = {
    context,
    kept_records: 0,
    damaged_lines: 0,
    damaged_records: 0,
    lost_ids: [],
    lines_in_damaged_blocks: 0,
    uncommitted_records: 0,
    batches_recommitted: 0,
    bytes_set_aside: 0,
    aside: null,
    pieces: [],
  };
  const src = openSync(path, 'r');
  const fd = openSync(tmp, 'w');
  const out = new Out(fd);
  const moved = new Map<number, number>();
  let pending: PendingLine[] = [];
  let lastSeq = 0;
  let rewritten = false;
  /** kind and id of every record kept so far (a deletion of anything else cannot be applied) */
  const held = new Set<string>();

  const emitPending = (commit: string | null): void => {
    if (pending.length === 0) return;
    for (const p of pending) {
      const prev = p.line.prev === null ? null : (moved.get(p.line.prev) ?? null);
      const text = prev === p.line.prev ? `${p.text}\n` : encodeRecordLine(p.line.seq, p.line.op, p.line.kind, p.line.recordJson, prev);
      moved.set(p.off, out.write(text));
    }
    report.kept_records += pending.length;
    if (commit === null) report.batches_recommitted += 1;
    out.write(commit ?? encodeCommitLine(pending[pending.length - 1].line.seq, pending.length, null));
    pending = [];
  };
  const aside = (offset: number, length: number, reason: string, text: string): void => {
    report.pieces.push({ offset, length, reason });
    report.damaged_lines += 1;
    if (text.startsWith('{"seq":')) {
      report.damaged_records += 1;
      const id = /"record":\{"id":"([^"\\]{1,200})"/.exec(text)?.[1];
      if (id && report.lost_ids.length < MAX_LOST_IDS) report.lost_ids.push(id);
    }
    // What came before it was followed by more lines, so it had been committed.
    emitPending(null);
  };
  const handle = (text: string, off: number, phys: number | null, length: number): void => {
    const parsed = parseLogLine(text);
    if (typeof parsed === 'string') {
      rewritten = true;
      // A damaged line inside a block that passed its checksum cannot happen; count it anyway.
      if (phys === null) report.damaged_lines += 1;
      else aside(phys, length, parsed, text);
      return;
    }
    const { line, record } = parsed;
    if (line.type === 'record') {
      const id = `${line.kind}\0${record?.id ?? ''}`;
      if (line.kind === 'analogy' && record !== null && !('source_domain' in record) && !held.has(id)) {
        rewritten = true;
        if (phys !== null) aside(phys, length, 'deletes a record the log does not hold', text);
        return;
      }
      if (line.seq > lastSeq) {
        held.add(id);
        pending.push({ line, text, off, phys, length });
        lastSeq = line.seq;
      } else if (phys !== null) {
        rewritten = true;
        aside(phys, length, `seq ${line.seq} does not follow ${lastSeq}`, text);
      }
      return;
    }
    const batchLast = pending.length > 0 ? pending[pending.length - 1].line.seq : null;
    if (line.n === pending.length && (batchLast === null ? line.last >= lastSeq : line.last === batchLast)) {
      if (pending.length === 0) out.write(`${text}\n`);
      else emitPending(`${text}\n`);
      lastSeq = Math.max(lastSeq, line.last);
      return;
    }
    rewritten = true;
    if (phys !== null) aside(phys, length, `commit line for ${line.n} records (last ${line.last}) does not match the batch of ${pending.length}`, text);
  };

  try {
    let virtual = 0;
    let torn: { offset: number; length: number } | null = null;
    for (const raw of readPlainLines(src, 0, 0, (t) => (torn = t))) {
      if (!raw.text.startsWith('{"op":"block",')) {
        handle(raw.text, virtual, raw.offset, raw.length);
        virtual += raw.length;
        continue;
      }
      const header = BLOCK_HEADER.exec(raw.text);
      const inner = header && checksumOk(raw.text) ? inflateBlockText(raw.text, Number(header[1])) : null;
      if (inner === null) {
        rewritten = true;
        aside(raw.offset, raw.length, 'compressed block fails its checksum or does not inflate', '');
        if (header) report.lines_in_damaged_blocks += Number(header[2]);
        virtual += header ? Number(header[1]) : raw.length;
        continue;
      }
      for (let start = 0; start < inner.length; ) {
        const nl = inner.indexOf(10, start);
        const end = nl < 0 ? inner.length : nl;
        handle(inner.toString('utf8', start, end), virtual + start, null, end - start + 1);
        start = end + 1;
      }
      virtual += Number(header![1]);
      // Block lines are rewritten as plain lines.
      rewritten = true;
    }
    const tail = torn as { offset: number; length: number } | null;
    if (pending.length > 0) {
      if (pending[pending.length - 1].off < committedUpTo) emitPending(null);
      else {
        rewritten = true;
        report.uncommitted_records = pending.length;
        for (const p of pending) if (p.phys !== null) report.pieces.push({ offset: p.phys, length: p.length, reason: 'batch without commit line' });
        pending = [];
      }
    }
    if (tail) {
      rewritten = true;
      report.pieces.push({ offset: tail.offset, length: tail.length, reason: 'incomplete last line' });
      report.damaged_lines += 1;
    }
    out.flush();
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    closeSync(src);
    rmSync(tmp, { force: true });
    throw err;
  }
  closeSync(fd);
  closeSync(src);
  if (!rewritten) {
    rmSync(tmp, { force: true });
    return null;
  }
  report.aside = setAside(layout, context, path, report.pieces);
  report.bytes_set_aside = report.aside?.bytes ?? 0;
  store.log(context).close();
  renameSync(tmp, path);
  fsyncDir(dirname(path));
  return report;
}

/** The lines a block line holds, or null when it does not inflate to its stated size. */
function inflateBlockText(text: string, size: number): Buffer | null {
  const z = text.slice(text.indexOf('"z":"') + 5, text.lastIndexOf('","crc":"'));
  try {
    const raw = inflateRawSync(Buffer.from(z, 'base64'));
    return raw.length === size ? raw : null;
  } catch {
    return null;
  }
}

/**
 * Salvages every context's log (see salvageLog); each one that changed is recorded in the audit
 * log with what was set aside and lost. The index must be rebuilt afterwards.
 */
export function salvageLogs(store: EmbeddedStore): SalvageReport[] {
  const reports: SalvageReport[] = [];
  // Every context directory with a log, indexed or not (the index may be gone).
  const committed = new Map(store.listContexts().map((row) => [row.name, row.applied_off]));
  for (const name of contextsWithLogs(store.layout)) {
    const report = salvageLog(store, name, committed.get(name) ?? 0);
    if (!report) continue;
    store.audit.record({ event: 'log_salvaged', ...report });
    reports.push(report);
  }
  return reports;
}
