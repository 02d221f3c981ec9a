import { crc32 } from 'node:zlib';
import { crc32Hex } from '../../core/checksum.js';
import { ByteBuilder } from '../../core/byte-builder.js';
import type { LogOp, RecordKind } from '../../core/records.js';

/**
 * One change-log line:
 *   {"seq":N,"op":"put","kind":"analogy","prev":O,"record":{...},"crc":"xxxxxxxx"}
 * and after every batch one commit line:
 *   {"op":"commit","last":N,"n":K,"crc":"xxxxxxxx"}
 * The CRC-32 covers every byte before `,"crc":`, so a line is checked without parsing it, and
 * the record's JSON text can be sliced out without re-serialising it. `prev` is the byte offset
 * of the line holding the previous version of the same record: history follows that chain.
 * A batch counts only once its commit line is on disk: a crash mid-append leaves a tail
 * without one, which the next writer truncates.
 */
const CRC_SUFFIX_LENGTH = ',"crc":"xxxxxxxx"}'.length;
const RECORD_KEY = ',"record":';
const SEQ_KEY = Buffer.from('{"seq":');
const CRC_KEY = Buffer.from(',"crc":"');

// `,"op":"put","kind":"analogy","record":` and the like, as bytes, built once per (op, kind).
const lineHeads = new Map<string, Buffer>();
function lineHead(op: LogOp, kind: RecordKind): Buffer {
  const key = `${op} ${kind}`;
  let head = lineHeads.get(key);
  if (!head) {
    head = Buffer.from(`,"op":"${op}","kind":"${kind}"${RECORD_KEY}`);
    lineHeads.set(key, head);
  }
  return head;
}

export interface RecordLine {
  type: 'record';
  seq: number;
  op: LogOp;
  kind: RecordKind;
  prev: number | null;
  recordJson: string;
}

export interface CommitLine {
  type: 'commit';
  last: number;
  n: number;
  /** workflow progress committed with this batch */
  wf: string | null;
  upto: number | null;
}

export type LogLine = RecordLine | CommitLine;

function seal(body: string): string {
  return `${body},"crc":"${crc32Hex(body)}"}\n`;
}

export function encodeRecordLine(seq: number, op: LogOp, kind: RecordKind, recordJson: string, prev: number | null): string {
  const prevPart = prev === null ? '' : `,"prev":${prev}`;
  return seal(`{"seq":${seq},"op":"${op}","kind":"${kind}"${prevPart}${RECORD_KEY}${recordJson}`);
}

/** A batch's lines, encoded once into one Buffer, each line's CRC taken over its bytes. */
export class LineBuffer extends ByteBuilder {
  lines = 0;

  private seal(start: number): void {
    const crc = crc32(this.buf.subarray(start, this.length)).toString(16).padStart(8, '0');
    this.length += this.buf.write(`,"crc":"${crc}"}\n`, this.length, 'latin1');
    this.lines += 1;
  }

  /** Appends a record line; returns its byte length (newline included). */
  addRecord(seq: number, op: LogOp, kind: RecordKind, recordJson: string, prev: number | null): number {
    const start = this.length;
    const head = `{"seq":${seq},"op":"${op}","kind":"${kind}"${prev === null ? '' : `,"prev":${prev}`}${RECORD_KEY}`;
    this.reserve(head.length + recordJson.length * 3 + CRC_SUFFIX_LENGTH + 1);
    this.length += this.buf.write(head, this.length, 'latin1');
    this.length += this.buf.write(recordJson, this.length, 'utf8');
    this.seal(start);
    return this.length - start;
  }

  /**
   * Starts a record line whose record the caller then appends as bytes and text (putBytes,
   * putText): JSON already encoded as UTF-8 is copied, never decoded and encoded again.
   * endRecord seals it. Returns where the line starts.
   */
  beginRecord(seq: number, op: LogOp, kind: RecordKind, reserve: number, prev: number | null = null): number {
    const start = this.length;
    this.reserve(48 + reserve + CRC_SUFFIX_LENGTH + 1);
    this.putBytes(SEQ_KEY, 0, SEQ_KEY.length);
    this.putDecimal(seq);
    if (prev === null) {
      const head = lineHead(op, kind);
      this.putBytes(head, 0, head.length);
      return start;
    }
    // `prev` is the offset of the version this line supersedes (see encodeRecordLine).
    this.length += this.buf.write(`,"op":"${op}","kind":"${kind}","prev":`, this.length, 'latin1');
    this.putDecimal(prev);
    this.length += this.buf.write(RECORD_KEY, this.length, 'latin1');
    return start;
  }

  /** Seals the line begun at `start`; returns its byte length (newline included). */
  endRecord(start: number): number {
    this.reserve(CRC_SUFFIX_LENGTH + 1);
    const crc = crc32(this.buf.subarray(start, this.length));
    this.buf.set(CRC_KEY, this.length);
    let at = this.length + CRC_KEY.length;
    this.putHex8(crc, at);
    at += 8;
    this.buf[at++] = 0x22;
    this.buf[at++] = 0x7d;
    this.buf[at++] = 10;
    this.length = at;
    this.lines += 1;
    return this.length - start;
  }

  addCommit(last: number, n: number, progress: { workflowId: string; processedUpTo: number } | null): void {
    const line = encodeCommitLine(last, n, progress);
    this.reserve(Buffer.byteLength(line));
    this.length += this.buf.write(line, this.length, 'utf8');
    this.lines += 1;
  }

  /** The line starting at byte `at` of the buffer, without its newline. */
  lineAt(at: number): string | undefined {
    if (at < 0 || at >= this.length) return undefined;
    const nl = this.buf.indexOf(10, at);
    return this.buf.toString('utf8', at, nl < 0 || nl > this.length ? this.length : nl);
  }
}

export function encodeCommitLine(last: number, n: number, progress: { workflowId: string; processedUpTo: number } | null): string {
  const wf = progress ? `,"wf":${JSON.stringify(progress.workflowId)},"upto":${progress.processedUpTo}` : '';
  return seal(`{"op":"commit","last":${last},"n":${n}${wf}`);
}

/** Whether the line (without its newline) carries a valid checksum. */
export function checksumOk(line: string): boolean {
  if (line.length <= CRC_SUFFIX_LENGTH || !line.endsWith('"}')) return false;
  const body = line.slice(0, line.length - CRC_SUFFIX_LENGTH);
  const suffix = line.slice(line.length - CRC_SUFFIX_LENGTH);
  return suffix.startsWith(',"crc":"') && suffix.slice(8, 16) === crc32Hex(body);
}

/** The record's JSON text, sliced out of a record line without parsing the wrapper. */
export function recordJsonOf(line: string): string {
  const start = line.indexOf(RECORD_KEY);
  return line.slice(start + RECORD_KEY.length, line.length - CRC_SUFFIX_LENGTH);
}

/** Parses a line whose checksum was verified; null when it is not a line of this format. */
export function decodeLine(line: string): LogLine | null {
  if (line.startsWith('{"op":"commit"')) {
    const parsed = JSON.parse(line) as { last?: unknown; n?: unknown; wf?: unknown; upto?: unknown };
    if (typeof parsed.last !== 'number' || typeof parsed.n !== 'number') return null;
    return {
      type: 'commit',
      last: parsed.last,
      n: parsed.n,
      wf: typeof parsed.wf === 'string' ? parsed.wf : null,
      upto: typeof parsed.upto === 'number' ? parsed.upto : null,
    };
  }
  const recordAt = line.indexOf(RECORD_KEY);
  if (!line.startsWith('{"seq":') || recordAt < 0) return null;
  const head = JSON.parse(`${line.slice(0, recordAt)}}`) as { seq?: unknown; op?: unknown; kind?: unknown; prev?: unknown };
  if (typeof head.seq !== 'number' || typeof head.op !== 'string' || typeof head.kind !== 'string') return null;
  return {
    type: 'record',
    seq: head.seq,
    op: head.op as LogOp,
    kind: head.kind as RecordKind,
    prev: typeof head.prev === 'number' ? head.prev : null,
    recordJson: recordJsonOf(line),
  };
}

/** Reads the seq of a record line cheaply (for checking a pread landed on the right line). */
export function seqOf(line: string): number {
  if (!line.startsWith('{"seq":')) return -1;
  const end = line.indexOf(',', 7);
  return Number(line.slice(7, end));
}
