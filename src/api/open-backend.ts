/**
 * The one module above the backends that knows them: it opens the backend a location names and
 * wires its parts. Everything else reaches a store through the Store facade and the backend
 * interface (scripts/check-imports.mjs holds every other file to that).
 */
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

export function openEmbedded(dir: string, options: { create?: boolean; repair?: boolean }): EmbeddedStore {
  return EmbeddedStore.open(dir, options);
}

export function initEmbedded(dir: string): EmbeddedStore {
  return EmbeddedStore.init(dir);
}

/** The maintenance and audit parts over a store that a rebuild may replace (`replace` gets the new one). */
export function embeddedParts(current: () => EmbeddedStore, replace: (store: EmbeddedStore) => void): EmbeddedParts {
  return { maintenance: new EmbeddedMaintenance(current, replace), audit: new EmbeddedAuditTrail(current) };
}

/** Restores a backup into a location (only directories, the embedded backend, for now). */
export const restoreBackup: RestoreBackup = (file, location, options) => restoreEmbedded(file, location, options);
