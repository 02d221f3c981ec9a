import type { Analogy } from '../../core/records.js';
import type { AnalogyFilter } from '../../core/schemas.js';
import { flattenPages } from '../../core/pages.js';
import type { Backend } from '../../backend/backend.js';
import { parseFilter } from './filter.js';

/**
 * Every matching active analogy (deleted ones too with include_deleted) as JSON text, in write
 * order, from one consistent snapshot, in pages. The filter is checked at the first page.
 */
export function streamAnalogyPages(backend: Backend, filter: AnalogyFilter = {}): AsyncIterable<string[]> {
  return {
    [Symbol.asyncIterator]: () => backend.records.streamAnalogyJson(parseFilter(filter))[Symbol.asyncIterator](),
  };
}

export function streamAnalogyJson(backend: Backend, filter: AnalogyFilter = {}): AsyncIterableIterator<string> {
  return flattenPages(streamAnalogyPages(backend, filter));
}

export function streamAnalogies(backend: Backend, filter: AnalogyFilter = {}): AsyncIterableIterator<Analogy> {
  return flattenPages(streamAnalogyPages(backend, filter), (json) => JSON.parse(json) as Analogy);
}
