/**
 * The one module above the backends that knows them: it opens the backend a location names and
 * wires its parts. Everything else reaches a store through the Store facade and the backend
 * interface (scripts/check-imports.mjs holds every other file to that).
 */
import { SoftlogicError } from '../core/errors.js';
import type { AuditTrail } from '../backend/audit-trail.js';
import type { Maintenance, RestoreBackup } from '../backend/maintenance.js';
import { EmbeddedStore } from '../backend/embedded/embedded-store.js';
import { EmbeddedMaintenance, restoreEmbedded } from '../backend/embedded/embedded-maintenance.js';
import { EmbeddedAuditTrail } from '../backend/embedded/embedded-audit-trail.js';

export type { EmbeddedStore };

export interface EmbeddedParts {
  maintenance: Maintenance;
  audit: AuditTrail;
}

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

export function openEmbedded(dir: string, options: { create?: boolean; repair?: boolean }): EmbeddedStore {
  return EmbeddedStore.open(embeddedLocation(dir), options);
}

export function initEmbedded(dir: string): EmbeddedStore {
  return EmbeddedStore.init(embeddedLocation(dir));
}

/** The maintenance and audit parts over a store that a rebuild may replace (`replace` gets the new one). */
export function embeddedParts(current: () => EmbeddedStore, replace: (store: EmbeddedStore) => void): EmbeddedParts {
  return { maintenance: new EmbeddedMaintenance(current, replace), audit: new EmbeddedAuditTrail(current) };
}

/** Restores a backup into a location (only directories, the embedded backend, for now). */
export const restoreBackup: RestoreBackup = async (file, location, options) => restoreEmbedded(file, embeddedLocation(location), options);
