import type { Analogy } from '../../core/records.js';
import type { AnalogyFilter } from '../../core/schemas.js';
import { DEFAULT_CONTEXT } from '../../core/names.js';
import type { EmbeddedStore } from '../../backend/embedded/embedded-store.js';
import { countAnalogyRows, queryAnalogyRows } from '../../backend/embedded/analogy-queries.js';
import { parseFilter } from './filter.js';

export function queryAnalogies(store: EmbeddedStore, filter: AnalogyFilter = {}): Analogy[] {
  const f = parseFilter(filter);
  return queryAnalogyRows(store, store.requireContext(f.context ?? DEFAULT_CONTEXT), f);
}

export function countAnalogies(store: EmbeddedStore, filter: AnalogyFilter = {}): number {
  const f = parseFilter(filter);
  return countAnalogyRows(store, store.requireContext(f.context ?? DEFAULT_CONTEXT), f);
}
