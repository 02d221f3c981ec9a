/**
 * Worker thread of a pipelined analogy_creation workflow (prepared-chunks.ts): reads the staged
 * items, and for each chunk of fresh puts encodes the batch's log lines (seq, CRC, commit line)
 * and the columns of its index rows, while the main thread commits the chunk before it.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { StagedProgress, StagedSpanReader, type StagedSpan } from './embedded-staging.js';
import { LineBuffer } from './log-format.js';
import { isSoftlogicError } from '../../core/errors.js';
import { ByteBuilder } from '../../core/byte-builder.js';
import { decodeFreshPutBytes, freshPutBody, indexArrayStart, isoTime, RECORD_ID_KEY, StagedPutKind, stagedPutKind, verbatimParts, type FreshPutBytes } from '../../core/staged-put.js';
import { IdDirectory, type ExistingContext, type KnownVersion, type StagedIdPlace, type StagedIdReader, type StagedText } from './id-directory.js';
import { timeMs } from './analogy-index.js';
import { BytesInterner, readIndexArray } from './index-array.js';
import type { PipelineArgs } from './chunk-pipelines.js';

export interface PrepareWorkerData extends Omit<PipelineArgs, 'store'> {
  /** chunks prepared ahead of the one being committed */
  ahead: number;
  /** where ids older than the import are looked up; null: the context held no analogies */
  existing: ExistingContext | null;
}

/** A chunk of fresh puts ready to commit, or the signal that the pipeline cannot go on. */
export type PreparedMessage =
  | {
      type: 'chunk';
      start: number;
      count: number;
      baseSeq: number;
      baseOff: number;
      data: Uint8Array;
      lens: Int32Array;
      /** the ids' UTF-8 bytes, one after the other; item i's end at idEnds[i] */
      idBytes: Uint8Array;
      idEnds: Int32Array;
      versions: Float64Array;
      qualities: Float64Array;
      created: Float64Array;
      /**
       * The text columns as indexes into `texts` (-1: null): a chunk holds few distinct domains,
       * workflows, tag and frame lists, and one string per distinct value crosses threads.
       */
      texts: string[];
      sources: Int32Array;
      targets: Int32Array;
      workflows: Int32Array;
      tags: Int32Array;
      frames: Int32Array;
      /** per item, the row its row replaces (IdDirectory's KnownVersion.replaces; 0: none) */
      replaces: Float64Array;
      /** per item, 1 when a later item of the same chunk is its next version (it gets no row) */
      skip: Uint8Array;
    }
  | { type: 'not_fresh'; start: number }
  | { type: 'end' }
  | { type: 'error'; code: string | null; message: string };

/** The end of a stored record, from workflow_id on (buildAnalogy's key order). */
interface RecordTail {
  workflow_id: string | null;
  created_at: string;
  updated_at: string;
  version: number;
  deleted_at: null;
}
const WORKFLOW_KEY = Buffer.from(',"workflow_id":');
const CREATED_KEY = Buffer.from(',"created_at":"');

/** Builds one chunk's lines and row columns as its items stream in (nothing is kept per item). */
class ChunkBuilder {
  private lines: LineBuffer;
  private readonly lens: Int32Array;
  private readonly idBytes = new ByteBuilder(64 * 1024);
  private readonly idEnds: Int32Array;
  /** the current item's id: its bytes in the staged line, or its text when JSON.parse read it */
  private idStart = 0;
  private idEnd = 0;
  private idFallback: string | null = null;
  private readonly versions: Float64Array;
  private readonly qualities: Float64Array;
  private readonly created: Float64Array;
  private readonly texts: string[] = [];
  private readonly textIndex = new Map<string, number>();
  private readonly interner = new BytesInterner(this.texts);
  private readonly sources: Int32Array;
  private readonly targets: Int32Array;
  private readonly workflows: Int32Array;
  private readonly tags: Int32Array;
  private readonly frames: Int32Array;
  private readonly replaces: Float64Array;
  private readonly skip: Uint8Array;
  count = 0;
  private seq: number;
  /** where the next line starts in the log */
  private off: number;

  constructor(
    readonly start: number,
    size: number,
    private readonly base: { seq: number; off: number },
    expectedBytes: number,
    spare?: ArrayBuffer,
  ) {
    this.lines = new LineBuffer(expectedBytes, spare);
    this.lens = new Int32Array(size);
    this.idEnds = new Int32Array(size);
    this.versions = new Float64Array(size);
    this.qualities = new Float64Array(size);
    this.created = new Float64Array(size);
    this.sources = new Int32Array(size);
    this.targets = new Int32Array(size);
    this.workflows = new Int32Array(size);
    this.tags = new Int32Array(size);
    this.frames = new Int32Array(size);
    this.replaces = new Float64Array(size);
    this.skip = new Uint8Array(size);
    this.seq = base.seq;
    this.off = base.off;
  }

  private text(value: string | null): number {
    if (value === null) return -1;
    let at = this.textIndex.get(value);
    if (at === undefined) {
      at = this.texts.push(value) - 1;
      this.textIndex.set(value, at);
    }
    return at;
  }

  /**
   * False when the item is not a put this encoder makes (a deletion, or a new version of a
   * deleted record): the pipeline stops there.
   */
  add(span: StagedSpan, context: string, ids: IdDirectory): boolean {
    const { data, start, end } = span;
    const kind = stagedPutKind(data, start);
    if (kind === StagedPutKind.Other) return false;
    const i = this.count;
    const close = this.readColumns(i, data, start, end);
    const { verbatim, bodyStart, bodyEnd } = freshPutBody(data, close, end);
    const seq = this.seq + 1;
    // An id the input gave: a new record, or the next version of its current one.
    let previous: ReturnType<IdDirectory['find']> = null;
    let id = '';
    if (kind !== StagedPutKind.Fresh) {
      id = this.idFallback ?? data.toString('latin1', this.idStart, this.idEnd);
      previous = ids.find(id);
      // A knowledge import's record is written here only when its id is new: merging is the applier's.
      if (previous === undefined || (previous !== null && kind === StagedPutKind.Exported)) return false;
    }
    this.count++;
    this.seq = seq;
    const lines = this.lines;
    const at = lines.beginRecord(seq, 'put', 'analogy', bodyEnd - bodyStart + 256, previous ? previous.off : null);
    const workflow = this.workflows[i] < 0 ? '' : this.texts[this.workflows[i]];
    if (verbatim) {
      const { afterId, tail } = verbatimParts(context, workflow, this.created[i]);
      lines.putBytes(RECORD_ID_KEY, 0, RECORD_ID_KEY.length);
      if (this.idFallback === null) lines.putBytes(data, this.idStart, this.idEnd);
      else lines.putText(this.idFallback);
      lines.putBytes(afterId, 0, afterId.length);
      lines.putBytes(data, bodyStart, bodyEnd);
      if (previous) lines.putText(this.nextVersionTail(i, previous, kind, null));
      else lines.putBytes(tail, 0, tail.length);
    } else if (previous) {
      // The record's own tail (workflow_id to deleted_at, last at its top level) is rewritten.
      const tailAt = data.lastIndexOf(WORKFLOW_KEY, bodyEnd);
      lines.putBytes(data, bodyStart, tailAt);
      lines.putText(this.nextVersionTail(i, previous, kind, JSON.parse('{' + data.toString('utf8', tailAt + 1, bodyEnd)) as RecordTail));
    } else {
      lines.putBytes(data, bodyStart, bodyEnd);
    }
    const length = lines.endRecord(at);
    this.lens[i] = length;
    if (kind !== StagedPutKind.Fresh) {
      let replaces = previous ? previous.replaces : 0;
      if (previous && previous.seq > this.base.seq) {
        // Its current version is an earlier item of this chunk: that one gets no row.
        const earlier = previous.seq - this.base.seq - 1;
        this.skip[earlier] = 1;
        replaces = this.replaces[earlier];
      } else if (previous && previous.seq > 0) {
        replaces = -previous.seq;
      }
      this.replaces[i] = replaces;
      const place: StagedIdPlace = this.idFallback === null ? { pos: span.base + this.idStart, text: null } : { pos: -1, text: this.idFallback };
      ids.remember(id, place, seq, this.off, this.versions[i], previous && kind !== StagedPutKind.GivenDated ? previous.created : kind === StagedPutKind.Exported ? isoTime(this.created[i]) : this.createdText(i, data, span.base, bodyStart, bodyEnd, verbatim));
    }
    this.off += length;
    return true;
  }

  /**
   * The tail of an existing record's next version: version + 1, created_at kept unless the
   * input set it, updated_at the staging time (`tail`: the staged record's own, if not verbatim).
   */
  private nextVersionTail(i: number, previous: KnownVersion, kind: StagedPutKind, tail: RecordTail | null): string {
    const version = previous.version + 1;
    this.versions[i] = version;
    const own = tail ?? { workflow_id: this.workflows[i] < 0 ? null : this.texts[this.workflows[i]], created_at: '', updated_at: isoTime(this.created[i]), version, deleted_at: null };
    if (kind !== StagedPutKind.GivenDated) {
      own.created_at = previous.created;
      this.created[i] = timeMs(previous.created);
    }
    own.version = version;
    return ',' + JSON.stringify(own).slice(1);
  }

  /** The created_at of a new record just encoded: its text, or where the staged file holds it (`base`: the file offset of `data`). */
  private createdText(i: number, data: Buffer, base: number, bodyStart: number, bodyEnd: number, verbatim: boolean): string | StagedText {
    if (verbatim) return isoTime(this.created[i]);
    const at = data.lastIndexOf(CREATED_KEY, bodyEnd) + CREATED_KEY.length;
    return { pos: base + at, len: data.indexOf(0x22, at) - at };
  }

  /** Fills item i's columns from its index array; returns where the array ends. */
  private readColumns(i: number, data: Buffer, start: number, end: number): number {
    const fields = readIndexArray(data, indexArrayStart(start), end);
    if (fields) {
      // The id's bytes (plain ASCII): its text is made by the main thread, which binds it.
      this.idBytes.putBytes(data, fields.idStart, fields.idEnd);
      this.idEnds[i] = this.idBytes.length;
      this.idStart = fields.idStart;
      this.idEnd = fields.idEnd;
      this.idFallback = null;
      this.versions[i] = fields.version;
      this.sources[i] = this.interner.intern(data, fields.source);
      this.targets[i] = this.interner.intern(data, fields.target);
      this.qualities[i] = fields.quality;
      this.created[i] = fields.created;
      this.workflows[i] = this.interner.intern(data, fields.workflow);
      this.tags[i] = this.interner.intern(data, fields.tags);
      this.frames[i] = this.interner.intern(data, fields.frames);
      return fields.end;
    }
    // Not in JSON.stringify's form: decoded by JSON.parse.
    const decoded = decodeFreshPutBytes(data, start, end) as FreshPutBytes;
    const columns = decoded.columns;
    this.idBytes.putText(columns[0]);
    this.idEnds[i] = this.idBytes.length;
    this.idFallback = columns[0];
    this.versions[i] = columns[1];
    this.sources[i] = this.text(columns[2]);
    this.targets[i] = this.text(columns[3]);
    this.qualities[i] = columns[4];
    this.created[i] = columns[5];
    this.workflows[i] = this.text(columns[6]);
    this.tags[i] = this.text(columns[7]);
    this.frames[i] = this.text(columns[8]);
    return decoded.indexEnd;
  }

  finish(workflowId: string): PreparedMessage {
    const n = this.count;
    this.lines.addCommit(this.seq, n, { workflowId, processedUpTo: this.start + n });
    const encoded = this.lines.transferable();
    const message: PreparedMessage = {
      type: 'chunk',
      start: this.start,
      count: n,
      baseSeq: this.base.seq,
      baseOff: this.base.off,
      data: encoded,
      lens: this.lens.subarray(0, n),
      idBytes: this.idBytes.transferable(),
      idEnds: this.idEnds.subarray(0, n),
      versions: this.versions.subarray(0, n),
      qualities: this.qualities.subarray(0, n),
      created: this.created.subarray(0, n),
      texts: this.texts,
      sources: this.sources.subarray(0, n),
      targets: this.targets.subarray(0, n),
      workflows: this.workflows.subarray(0, n),
      tags: this.tags.subarray(0, n),
      frames: this.frames.subarray(0, n),
      replaces: this.replaces.subarray(0, n),
      skip: this.skip.subarray(0, n),
    };
    this.base.seq = this.seq;
    this.base.off += encoded.length;
    this.off = this.base.off;
    return message;
  }
}

/** Reads ids of earlier items back from the staged file (IdDirectory's exact check on a hash match). */
function stagedIdReader(path: string): { read: StagedIdReader; close(): void } {
  let fd = -1;
  const bytes = Buffer.alloc(512);
  return {
    read: (pos, len) => {
      // The file exists: the item was read from it.
      if (fd < 0) fd = openSync(path, 'r');
      const n = readSync(fd, bytes, 0, len, pos);
      return bytes.toString('latin1', 0, n);
    },
    close: () => {
      if (fd >= 0) closeSync(fd);
    },
  };
}

if (parentPort) {
  const port = parentPort;
  const data = workerData as PrepareWorkerData;
  let credits = data.ahead;
  let wake: (() => void) | null = null;
  const spares: ArrayBuffer[] = [];
  port.on('message', (credit: { spare: ArrayBuffer | null }) => {
    credits += 1;
    if (credit.spare) spares.push(credit.spare);
    wake?.();
  });
  const send = async (message: PreparedMessage) => {
    while (credits === 0) await new Promise<void>((resolve) => (wake = resolve));
    wake = null;
    credits -= 1;
    const transfer = message.type === 'chunk' ? [message.data, message.lens, message.idBytes, message.idEnds, message.versions, message.qualities, message.created, message.sources, message.targets, message.workflows, message.tags, message.frames, message.replaces, message.skip].map((a) => a.buffer as ArrayBuffer) : [];
    port.postMessage(message, transfer);
  };
  const run = async () => {
    const base = { seq: data.seq, off: data.off };
    // Sized from the first chunk's bytes, so the line buffer of the next ones rarely grows.
    let expectedBytes = 1 << 20;
    let chunk = new ChunkBuilder(data.from, data.batchSize, base, expectedBytes);
    const reader = new StagedSpanReader(data.path, data.from, undefined, data.growing ? new StagedProgress(data.growing) : null);
    const staged = stagedIdReader(data.path);
    const ids = new IdDirectory(data.existing, staged.read, data.seq);
    try {
      for (let span = reader.next(); span; span = reader.next()) {
        if (!chunk.add(span, data.context, ids)) {
          await send({ type: 'not_fresh', start: data.from });
          return;
        }
        if (chunk.count === data.batchSize) {
          const next = chunk.start + chunk.count;
          const message = chunk.finish(data.workflowId);
          if (message.type === 'chunk') expectedBytes = Math.max(expectedBytes, Math.ceil(message.data.length * 1.05));
          await send(message);
          chunk = new ChunkBuilder(next, data.batchSize, base, expectedBytes, spares.pop());
        }
      }
    } finally {
      reader.close();
      ids.close();
      staged.close();
    }
    if (chunk.count > 0) await send(chunk.finish(data.workflowId));
    await send({ type: 'end' });
  };
  run().then(
    () => port.close(),
    (err: unknown) => {
      port.postMessage({ type: 'error', code: isSoftlogicError(err) ? err.code : null, message: (err as Error).message });
      port.close();
    },
  );
}
