import type { Analogy, RecordKind } from '../../core/records.js';
import type { AnalogyFilter } from '../../core/schemas.js';
import { DEFAULT_CONTEXT } from '../../core/names.js';
import type { EntityQuery, HistoryEntry, MatchedRecord, RecordReader } from '../record-reader.js';
import type { StoredVersion } from '../write-batch.js';
import type { EmbeddedStore } from './embedded-store.js';
import { countAnalogyRows, queryAnalogyJsonRows, queryAnalogyRows } from './analogy-queries.js';
import { changeMarkOf, queryEntityLines } from './entity-queries.js';
import { analogyJsonPages, entityJsonPages, matchPages } from './record-streams.js';
import { readAnalogy, readEntity, recordOfLine } from './record-lines.js';
import { currentVersion, refOf } from './embedded-write-batch.js';
import { seqOfKey } from './sqlite-schema.js';

/**
 * Pages of a synchronous generator as an async iterable: the embedded backend reads synchronously,
 * so each page is one settled promise (no async generator in between, whose machinery per page
 * costs more than it should).
 */
function asyncPages<T>(pages: () => Generator<T[]>): AsyncIterable<T[]> {
  return {
    [Symbol.asyncIterator](): AsyncIterator<T[]> {
      let source: Generator<T[]> | undefined;
      const settle = (step: () => IteratorResult<T[]>): Promise<IteratorResult<T[]>> => {
        try {
          return Promise.resolve(step());
        } catch (err) {
          return Promise.reject(err as Error);
        }
      };
      return {
        next: () => settle(() => (source ??= pages()).next()),
        // Stopped early: the generator's finally closes the snapshot and the log.
        return: () => settle(() => source?.return(undefined as never) ?? { value: undefined, done: true }),
      };
    },
  };
}

/** Reads of the embedded backend: an index row says where a record's line is, the log holds it. */
export class EmbeddedRecordReader implements RecordReader {
  constructor(private readonly store: EmbeddedStore) {}

  async getAnalogy(context: string, id: string): Promise<Analogy | undefined> {
    const ctx = this.store.requireContext(context);
    const row = this.store.analogies.get(ctx.ctx, id);
    return row && readAnalogy(this.store, ctx.name, row);
  }

  async queryAnalogies(filter: AnalogyFilter): Promise<Analogy[]> {
    return queryAnalogyRows(this.store, this.store.requireContext(filter.context ?? DEFAULT_CONTEXT), filter);
  }

  async queryAnalogyJson(filter: AnalogyFilter): Promise<string[]> {
    return queryAnalogyJsonRows(this.store, this.store.requireContext(filter.context ?? DEFAULT_CONTEXT), filter);
  }

  async countAnalogies(filter: AnalogyFilter): Promise<number> {
    return countAnalogyRows(this.store, this.store.requireContext(filter.context ?? DEFAULT_CONTEXT), filter);
  }

  streamAnalogyJson(filter: AnalogyFilter): AsyncIterable<string[]> {
    return asyncPages(() => analogyJsonPages(this.store, this.store.requireContext(filter.context ?? DEFAULT_CONTEXT), filter));
  }

  matchAnalogies(filter: AnalogyFilter): AsyncIterable<MatchedRecord[]> {
    return asyncPages(() => matchPages(this.store, this.store.requireContext(filter.context ?? DEFAULT_CONTEXT), filter));
  }

  async getEntity<T = Record<string, unknown>>(context: string, kind: RecordKind, id: string): Promise<T | undefined> {
    const ctx = this.store.requireContext(context);
    const row = this.store.entities.get(ctx.ctx, kind, id);
    return row && readEntity<T>(this.store, ctx.name, row);
  }

  async queryEntities<T = Record<string, unknown>>(context: string, kind: RecordKind, query?: EntityQuery): Promise<T[]> {
    const ctx = this.store.requireContext(context);
    return queryEntityLines(this.store, ctx, kind, query).map((line) => readEntity<T>(this.store, ctx.name, line));
  }

  streamEntityJson(context: string, kind: RecordKind): AsyncIterable<string[]> {
    return asyncPages(() => entityJsonPages(this.store, this.store.requireContext(context), kind));
  }

  async current<T = Record<string, unknown>>(context: string, kind: RecordKind, id: string): Promise<StoredVersion<T> | undefined> {
    return currentVersion<T>(this.store, this.store.requireContext(context), kind, id);
  }

  /** Follows each line's `prev` offset from the current version back to the oldest still in the log. */
  async history<T = Record<string, unknown>>(context: string, kind: RecordKind, id: string): Promise<Array<HistoryEntry<T>> | undefined> {
    const ctx = this.store.requireContext(context);
    const row = kind === 'analogy' ? this.store.analogies.get(ctx.ctx, id) : this.store.entities.get(ctx.ctx, kind, id);
    if (!row) return undefined;
    const versions: Array<HistoryEntry<T>> = [];
    let off = row.off;
    let line = this.store.readLogLine(ctx.name, row.off, row.len, seqOfKey(row.key));
    while (true) {
      const { record, op, prev } = recordOfLine<T & { version: number }>(this.store, ctx.name, line);
      versions.push({ op, record, ref: refOf(off, record.version) });
      if (prev === null) return versions;
      off = prev;
      line = this.store.readLogLineAt(ctx.name, prev);
    }
  }

  async purgedAt(context: string, kind: RecordKind, id: string): Promise<string | undefined> {
    const ctx = this.store.requireContext(context);
    return this.store.statement('SELECT purged_at FROM purged WHERE ctx = ? AND kind = ? AND id = ?').pluck().get(ctx.ctx, kind, id) as string | undefined;
  }

  async changeMark(contexts: readonly string[]): Promise<string> {
    return changeMarkOf(this.store, contexts);
  }
}
