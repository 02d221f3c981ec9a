/**
 * Where a store is decides its backend: a directory is the embedded backend; a postgres:// URL
 * will be the PostgreSQL backend (issue 15). The one place that chooses.
 */
import { resolve } from 'node:path';
import { SoftlogicError } from '../core/errors.js';
import { Store, type OpenOptions } from './store.js';

const POSTGRES_URL = /^postgres(ql)?:\/\//i;

function embeddedDir(location: string): string {
  if (POSTGRES_URL.test(location)) {
    throw new SoftlogicError('INVALID_INPUT', 'the PostgreSQL backend is not available yet: give a store directory', { location: location.replace(/\/\/[^@/]*@/, '//***@') });
  }
  return location;
}

/** The store the CLI and the service use when none is named: $SOFTLOGIC_STORE, else ./softlogic-data. */
export function defaultStoreLocation(): string {
  const location = process.env.SOFTLOGIC_STORE ?? './softlogic-data';
  return POSTGRES_URL.test(location) ? location : resolve(location);
}

/** Opens the store at `location` (a directory; `{ create: true }` creates it when absent). */
export function openStore(location: string, options?: OpenOptions): Promise<Store> {
  return Store.open(embeddedDir(location), options);
}

/** Creates a store at `location` (STORE_EXISTS when one is there). */
export function initStore(location: string): Promise<Store> {
  return Store.init(embeddedDir(location));
}
