import type { AnalogyFilter } from '../../core/schemas.js';
import type { Backend } from '../../backend/backend.js';
import { parseFilter } from './filter.js';

/**
 * Every matching active analogy (deleted ones too with include_deleted) as JSON text, in write
 * order, from one consistent snapshot, in pages (the facade hands them out one by one). The
 * filter is checked when the iteration starts, so a bad one rejects it rather than the call.
 */
export function streamAnalogyPages(backend: Backend, filter: AnalogyFilter = {}): AsyncIterable<string[]> {
  return {
    [Symbol.asyncIterator]: () => backend.records.streamAnalogyJson(parseFilter(filter))[Symbol.asyncIterator](),
  };
}
