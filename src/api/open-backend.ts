/**
 * The one module above the backends that knows them: it opens the backend a location names (a
 * directory: the embedded store; a postgres:// or postgresql:// URL: PostgreSQL) and wires its
 * parts. Everything else reaches a store through the Store facade and the backend interface
 * (scripts/check-imports.mjs holds every other file to that).
 */
import { SoftlogicError } from '../core/errors.js';
import { join, resolve } from 'node:path';
import type { Backend } from '../backend/backend.js';
import { SERVER_WORK_DIR, type ContextCounts, type RestoreBackup } from '../backend/maintenance.js';
import type { PortableSnapshot } from '../backend/portable.js';
import { EmbeddedBackend } from '../backend/embedded/embedded-backend.js';
import type { EmbeddedStore } from '../backend/embedded/embedded-store.js';
import { restoreEmbedded } from '../backend/embedded/embedded-maintenance.js';
import { isPostgresUrl } from '../backend/postgres/postgres-url.js';
import { loadEmbedded, readEmbeddedBackup } from '../backend/embedded/embedded-portable.js';
import { backupLayout, openPortableBackup } from '../backend/portable-backup.js';
import { assertReadableFile } from '../core/input-files.js';

export type { EmbeddedStore };

/** Whether a location names a server database rather than a directory. */
export function isDatabaseUrl(location: string): boolean {
  return isPostgresUrl(location);
}

/**
 * The PostgreSQL backend, loaded when a location names a database: the driver and its modules
 * cost every command on a directory store ~0.1-0.2 s of start-up otherwise.
 */
function postgres(): Promise<typeof import('../backend/postgres/postgres-backend.js')> {
  return import('../backend/postgres/postgres-backend.js');
}

export interface OpenBackendOptions {
  create?: boolean;
  repair?: boolean;
}

export async function openBackend(location: string, options: OpenBackendOptions): Promise<Backend> {
  if (isPostgresUrl(location)) return (await postgres()).PostgresBackend.open(location, { create: options.create });
  return EmbeddedBackend.open(location, options);
}

/** Creates a store (STORE_EXISTS when one is there). */
export async function initBackend(location: string): Promise<Backend> {
  if (isPostgresUrl(location)) return (await postgres()).PostgresBackend.init(location);
  return EmbeddedBackend.init(location);
}

/** The embedded store under a backend, for embedded-only tools and tests (log bytes, SQLite). */
export function embeddedStoreOf(backend: Backend): EmbeddedStore {
  if (!(backend instanceof EmbeddedBackend)) throw new SoftlogicError('INVALID_INPUT', `the ${backend.kind} backend has no embedded store`);
  return backend.store;
}

/** Where backups go by default: the store's backups/ directory, or the work directory's for a server database. */
export function backupsDirOf(backend: Backend): string {
  return backend instanceof EmbeddedBackend ? backend.store.layout.backupsDir : join(workDirOf(backend), 'backups');
}

/**
 * A local directory for the files an operation leaves the user (an import's rejects) and its
 * temporary files: the store's own directory, or ./softlogic-work for a server database.
 */
export function workDirOf(backend: Backend): string {
  return backend instanceof EmbeddedBackend ? backend.location : join(process.cwd(), SERVER_WORK_DIR);
}

/**
 * Restores a backup (of either backend) into a location of either backend. An embedded backup
 * into a directory is the embedded restore (its files put back as they were); every other pair
 * goes through a portable snapshot (backend/portable.ts): a portable backup (PostgreSQL's) is read
 * as one, an embedded backup is restored into a scratch directory and read from there, and the
 * target backend loads it.
 */
export const restoreBackup: RestoreBackup = async (file, location, options = {}) => {
  assertReadableFile(file);
  const toPostgres = isPostgresUrl(location);
  const layout = backupLayout(file);
  if (!toPostgres && layout === 'embedded') return restoreEmbedded(file, location, options);
  let source: { snapshot: PortableSnapshot; expected: ContextCounts[]; bytes: number; members: number };
  if (layout === 'portable') {
    const opened = openPortableBackup(file);
    source = { snapshot: opened.snapshot, expected: opened.manifest.contexts, bytes: opened.bytes, members: opened.members };
  } else {
    source = await readEmbeddedBackup(file);
  }
  try {
    const load = toPostgres ? (await import('../backend/postgres/postgres-portable.js')).loadPostgres : loadEmbedded;
    return await load(source.snapshot, location, { ...options, backup: resolve(file), bytes: source.bytes, members: source.members, expected: source.expected });
  } finally {
    await source.snapshot.close();
  }
};
