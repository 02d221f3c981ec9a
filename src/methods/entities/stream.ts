import { SoftlogicError } from '../../core/errors.js';
import { DEFAULT_CONTEXT } from '../../core/names.js';
import type { RecordKind } from '../../core/records.js';
import type { EmbeddedStore } from '../../backend/embedded/embedded-store.js';
import { LogWindow } from '../../backend/embedded/log-window.js';
import { corruptRecordError } from '../../backend/embedded/context-log.js';
import { recordJsonOf } from '../../backend/embedded/log-format.js';
import { CONTEXT_ROWS, contextKeyRange, SEQ_SPAN } from '../../backend/embedded/sqlite-schema.js';

export const ENTITY_KINDS: readonly RecordKind[] = ['concept', 'frame', 'frame_instance', 'frame_relation', 'cluster', 'semantic_field'];

export function assertEntityKind(kind: string): RecordKind {
  if ((ENTITY_KINDS as readonly string[]).includes(kind)) return kind as RecordKind;
  throw new SoftlogicError('INVALID_INPUT', `unknown kind '${kind}': one of ${ENTITY_KINDS.join(', ')} (analogies: analogies stream)`, { field: 'kind' });
}

/**
 * Every active record of one kind in one context as JSON text, in log order, from one snapshot
 * (its own read connection) in constant memory: the same windowed log scan as analogy streams.
 */
export function* streamEntityJson(store: EmbeddedStore, kind: string, context = DEFAULT_CONTEXT): Generator<string> {
  const k = assertEntityKind(kind);
  const ctx = store.requireContext(context);
  const log = new LogWindow(store.layout.log(context));
  const reader = store.openReader();
  try {
    const rows = reader
      .prepare(`SELECT key, off, len FROM entities NOT INDEXED WHERE ${CONTEXT_ROWS} AND kind = ? AND deleted_at IS NULL ORDER BY key`)
      .raw(true)
      .iterate(...contextKeyRange(ctx.ctx), k) as IterableIterator<[number, number, number]>;
    for (const [key, off, len] of rows) {
      const start = log.locate(off, len);
      if (!log.lineOk(start, len)) throw corruptRecordError(log.path, off, key % SEQ_SPAN, 'the line fails its checksum');
      if (log.seqAt(start) !== key % SEQ_SPAN) {
        throw new SoftlogicError('CONFLICT', `the log of '${context}' was compacted during this stream; run it again`, { context });
      }
      yield recordJsonOf(log.buf.toString('utf8', start, start + len - 1));
    }
  } finally {
    reader.close();
    log.close();
  }
}
