import type { Analogy } from '../../core/records.js';
import type { EmbeddedStore, WriteBatch } from '../../backend/embedded/embedded-store.js';
import { readAnalogy } from '../../backend/embedded/record-lines.js';
import { decodeFreshPut, StagedPutKind } from './staged-put.js';

/**
 * Applies one staged put of an id the input gave (GIVEN_PUT_PREFIX), item by item: a new id is
 * inserted as a fresh put; an existing one becomes its next version (version + 1, `prev` to the
 * current line, created_at kept unless the input set it), as putAnalogy does. The pipelined
 * path (prepare-worker.ts) makes the same records in bulk.
 */
export function applyGivenPut(store: EmbeddedStore, batch: WriteBatch, json: string, kind: StagedPutKind): void {
  const ctx = batch.context;
  const { columns, recordJson } = decodeFreshPut(json, ctx.name);
  const previous = store.analogies.get(ctx.ctx, columns[0]);
  if (!previous) {
    batch.appendLine('analogy', 'put', recordJson, null, (key, off, len) => store.analogies.insert(ctx.ctx, key, off, len, columns));
    return;
  }
  const record = JSON.parse(recordJson) as Analogy;
  record.version = previous.version + 1;
  if (kind !== StagedPutKind.GivenDated) record.created_at = readAnalogy(store, ctx.name, previous).created_at;
  batch.append('analogy', 'put', record, previous.off);
}
