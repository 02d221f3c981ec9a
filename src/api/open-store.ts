/**
 * Opening a store by its location: a directory is the embedded backend; a postgres:// or
 * postgresql:// URL (optionally `?schema=NAME`) is the PostgreSQL backend. open-backend.ts makes
 * the choice.
 */
import { resolve } from 'node:path';
import { Store, type OpenOptions } from './store.js';
import { isDatabaseUrl } from './open-backend.js';

/** The store the CLI and the service use when none is named: $SOFTLOGIC_STORE, else ./softlogic-data. */
export function defaultStoreLocation(): string {
  const location = process.env.SOFTLOGIC_STORE ?? './softlogic-data';
  return isDatabaseUrl(location) ? location : resolve(location);
}

/** Opens the store at `location` (a directory or a database URL; `{ create: true }` creates it when absent). */
export function openStore(location: string, options?: OpenOptions): Promise<Store> {
  return Store.open(location, options);
}

/** Creates a store at `location` (STORE_EXISTS when one is there). */
export function initStore(location: string): Promise<Store> {
  return Store.init(location);
}
