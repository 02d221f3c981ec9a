/**
 * softlogic's library API. `openStore(dir)` opens (or with `{ create: true }` creates) a store;
 * every capability of the CLI and the service is a typed method of the returned Store.
 */
export { Store, type OpenOptions } from './api/store.js';
export { openStore, initStore } from './api/open-store.js';
export { collect } from './api/async-iter.js';
export { SoftlogicError, ERROR_CATALOG, type ErrorCode, isSoftlogicError } from './core/errors.js';
export type * from './core/records.js';
export type { AnalogyFilter, AnalogyInput, FieldIssue } from './core/schemas.js';
export type { VerifyReport, VerifyIssue } from './backend/embedded/verify.js';
export type { CompactionReport } from './backend/embedded/compact.js';
export type { StoreStats } from './backend/embedded/stats.js';
export type { RebuildReport } from './backend/embedded/rebuild.js';
export type { ProgressEvent } from './workflows/progress.js';
export type { AuditEntry, AuditFilter } from './backend/embedded/audit.js';
export type { ImportOptions, ImportResult } from './methods/analogies/import.js';
export type { DeleteMatchingOptions, DeleteMatchingResult } from './methods/analogies/delete-matching.js';
export type { ConceptInput, ConceptRecord } from './methods/concepts/concept-record.js';
export type { ConceptImportOptions, ConceptImportResult } from './methods/concepts/batch.js';
export type { Scope, SimilarityMethod } from './methods/embeddings/reasoning.js';
export type { FrameRecord, FrameRelationRecord, FrameInstanceRecord } from './methods/frames/frames.js';
export type { StoredCluster, StoredField, DiscoverOptions, CrossDomainCommandOptions } from './methods/fields/fields.js';
export type { ProcessOptions } from './workflows/process.js';
export { wordnet, WordNet, type Synset } from './reasoning/wordnet.js';
export { buildServer } from './service/server.js';
export { startService } from './service/start.js';
