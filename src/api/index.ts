/**
 * The public API in one module: the Store facade, how to open one, and the types its methods take
 * and return. The library entry (src/index.ts) and the faces (CLI, service) import this.
 */
export { Store, type OpenOptions } from '../api/store.js';
export { openStore, initStore } from '../api/open-store.js';
export { collect } from '../api/async-iter.js';
export { SoftlogicError, ERROR_CATALOG, type ErrorCode, isSoftlogicError } from '../core/errors.js';
export type * from '../core/records.js';
export type { AnalogyFilter, AnalogyInput, FieldIssue } from '../core/schemas.js';
export type { BackupOptions, BackupResult, CompactionReport, Leftover, RebuildOptions, RebuildReport, RestoreOptions, RestoreResult, StoreStats, VerifyIssue, VerifyReport } from '../backend/maintenance.js';
export type { ProgressEvent } from '../workflows/progress.js';
export { AUDIT_DEFAULT_LIMIT, AUDIT_MAX_LIMIT, type AuditEntry, type AuditFilter } from '../backend/audit-trail.js';
export type { ImportOptions, ImportResult } from '../methods/analogies/import.js';
export type { DeleteMatchingOptions, DeleteMatchingResult } from '../methods/analogies/delete-matching.js';
export type { ConceptInput, ConceptRecord } from '../methods/concepts/concept-record.js';
export type { ConceptImportOptions, ConceptImportResult } from '../methods/concepts/batch.js';
export type { Scope, SimilarityMethod } from '../methods/embeddings/reasoning.js';
export type { FrameRecord, FrameRelationRecord, FrameInstanceRecord } from '../methods/frames/frames.js';
export type { StoredCluster, StoredField, DiscoverOptions, CrossDomainCommandOptions } from '../methods/fields/fields.js';
export type { ProcessOptions } from '../workflows/process.js';
export { Pacer, type PacerOptions, type ForegroundLatency } from '../workflows/pacer.js';
export { wordnet, WordNet, type Synset } from '../reasoning/wordnet.js';
