/**
 * The one module above the backends that knows them: it opens the backend a location names and
 * wires its parts. Everything else reaches a store through the Store facade and the backend
 * interface (scripts/check-imports.mjs holds every other file to that).
 */
import { SoftlogicError } from '../core/errors.js';
import { join } from 'node:path';
import type { Backend } from '../backend/backend.js';
import type { RestoreBackup } from '../backend/maintenance.js';
import { EmbeddedBackend } from '../backend/embedded/embedded-backend.js';
import type { EmbeddedStore } from '../backend/embedded/embedded-store.js';
import { restoreEmbedded } from '../backend/embedded/embedded-maintenance.js';

export type { EmbeddedStore };

const POSTGRES_URL = /^postgres(ql)?:\/\//i;

/** The directory of an embedded store; a postgres:// URL is refused until that backend exists (issue 15). */
export function embeddedLocation(location: string): string {
  if (POSTGRES_URL.test(location)) {
    throw new SoftlogicError('INVALID_INPUT', 'the PostgreSQL backend is not available yet: give a store directory', { location: location.replace(/\/\/[^@/]*@/, '//***@') });
  }
  return location;
}

/** Whether a location names a server database rather than a directory. */
export function isDatabaseUrl(location: string): boolean {
  return POSTGRES_URL.test(location);
}

export function openBackend(location: string, options: { create?: boolean; repair?: boolean }): Backend {
  return EmbeddedBackend.open(embeddedLocation(location), options);
}

export function initBackend(location: string): Backend {
  return EmbeddedBackend.init(embeddedLocation(location));
}

/** The embedded store under a backend, for embedded-only tools and tests (log bytes, SQLite). */
export function embeddedStoreOf(backend: Backend): EmbeddedStore {
  if (!(backend instanceof EmbeddedBackend)) throw new SoftlogicError('INVALID_INPUT', `the ${backend.kind} backend has no embedded store`);
  return backend.store;
}

/** Where backups go by default: the store's backups/ directory, or ./backups for a server database. */
export function backupsDirOf(backend: Backend): string {
  return backend instanceof EmbeddedBackend ? backend.store.layout.backupsDir : join(process.cwd(), 'backups');
}

/** Restores a backup into a location (only directories, the embedded backend, for now). */
export const restoreBackup: RestoreBackup = async (file, location, options) => restoreEmbedded(file, embeddedLocation(location), options);
