import type { Analogy } from '../../core/records.js';
import type { AnalogyFilter } from '../../core/schemas.js';
import type { Backend } from '../../backend/backend.js';
import { parseFilter } from './filter.js';

/** Matching analogies, best quality first, `limit` (default 100) after `offset`. */
export async function queryAnalogies(backend: Backend, filter: AnalogyFilter = {}): Promise<Analogy[]> {
  return backend.records.queryAnalogies(parseFilter(filter));
}

/** The same records as queryAnalogies, each as JSON text (see RecordReader.queryAnalogyJson). */
export async function queryAnalogyJson(backend: Backend, filter: AnalogyFilter = {}): Promise<string[]> {
  return backend.records.queryAnalogyJson(parseFilter(filter));
}

export async function countAnalogies(backend: Backend, filter: AnalogyFilter = {}): Promise<number> {
  return backend.records.countAnalogies(parseFilter(filter));
}
