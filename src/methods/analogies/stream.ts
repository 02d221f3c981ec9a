import type { Analogy } from '../../core/records.js';
import type { AnalogyFilter } from '../../core/schemas.js';
import { DEFAULT_CONTEXT } from '../../core/names.js';
import type { EmbeddedStore } from '../../backend/embedded/embedded-store.js';
import { analogyJsonPages } from '../../backend/embedded/record-streams.js';
import { parseFilter } from './filter.js';

export function* streamAnalogyJson(store: EmbeddedStore, filter: AnalogyFilter = {}): Generator<string> {
  const f = parseFilter(filter);
  for (const page of analogyJsonPages(store, store.requireContext(f.context ?? DEFAULT_CONTEXT), f)) yield* page;
}

export function* streamAnalogies(store: EmbeddedStore, filter: AnalogyFilter = {}): Generator<Analogy> {
  for (const json of streamAnalogyJson(store, filter)) yield JSON.parse(json) as Analogy;
}
