import { flattenPages } from './async-iter.js';
import type { Analogy, ContextInfo, JsonObject, Workflow, WorkflowStatus } from '../core/records.js';
import type { AnalogyFilter } from '../core/schemas.js';
import { assertContextName, DEFAULT_CONTEXT } from '../core/names.js';
import { isSoftlogicError, SoftlogicError } from '../core/errors.js';
import { backupsDirOf, embeddedStoreOf, initBackend, openBackend, restoreBackup, workDirOf, type EmbeddedStore } from './open-backend.js';
import type { Backend } from '../backend/backend.js';
import type { AuditEntry, AuditFilter } from '../backend/audit-trail.js';
import type { BackupOptions, BackupResult, CompactionReport, Leftover, RebuildOptions, RebuildReport, RestoreOptions, RestoreResult, StoreStats, VerifyReport } from '../backend/maintenance.js';
import { publicWorkflow } from '../backend/workflow-table.js';
import { WorkflowEvents, type ProgressEvent } from '../workflows/progress.js';
import type { Engine } from '../workflows/engine.js';
import { processWorkflow, type ProcessOptions } from '../workflows/process.js';
import { cancelWorkflow, type CancelOptions } from '../workflows/cancel.js';
import { rollbackWorkflow } from '../methods/workflows/rollback.js';
import { resumeWorkflows } from '../workflows/resume.js';
// Registers the knowledge_import item applier, so any process can resume such a workflow.
import '../methods/knowledge/import-applier.js';
// Registers the concept_batch, frame_expansion and cluster_update item appliers.
import '../methods/knowledge-appliers.js';
import '../methods/analogies/analogy-appliers.js';
import { addConcept, deleteConcept, findConcept, getConcept, listConcepts, restoreConcept, searchConcepts, type AddConceptOptions, type AddedConcept, type SearchOptions } from '../methods/concepts/single.js';
import { linkConcept } from '../methods/concepts/concept-links.js';
import { sensesInContext, type SensesOptions } from '../methods/concepts/sense-context.js';
import type { SenseChoice } from '../reasoning/word-sense.js';
import type { ConceptInput, ConceptRecord } from '../methods/concepts/concept-record.js';
import { importConcepts, type ConceptImportOptions, type ConceptImportResult } from '../methods/concepts/batch.js';
import { completeAnalogy, evalAnalogies, similarConcepts, similarity, type ReasoningStore, type Scope, type SimilarityMethod } from '../methods/embeddings/reasoning.js';
import { exportEmbeddings, importEmbeddings, writeStoreNpz } from '../methods/embeddings/npz-io.js';
import { effectiveSettings } from '../methods/embeddings/settings.js';
import { indexBuildFinished, indexInfo, rebuildIndexes, syncIndex } from '../methods/embeddings/index-store.js';
import { addFrames, frameInstances, getFrame, listFrames, queryInstances, type FrameInstanceRecord, type FrameRecord, type FrameRelationRecord } from '../methods/frames/frames.js';
import { projectConcepts, type Projection } from '../methods/fields/projection.js';
import { crossDomain, discoverFields, listFields, type CrossDomainCommandOptions, type DiscoverOptions, type StoredCluster, type StoredField } from '../methods/fields/fields.js';
import { deleteEntityById, restoreEntityById } from '../methods/entities/single.js';
import { importAnalogies, stageAnalogyFile, type ImportOptions, type ImportResult } from '../methods/analogies/import.js';
import { getAnalogy, analogyHistory } from '../methods/analogies/get.js';
import { deleteAnalogy, restoreDeletedAnalogy, saveAnalogy } from '../methods/analogies/single.js';
import { countAnalogies, queryAnalogies, queryAnalogyJson } from '../methods/analogies/query.js';
import { streamAnalogyPages } from '../methods/analogies/stream.js';
import { exportKnowledge, type ExportOptions, type ExportResult } from '../methods/knowledge/export.js';
import { importKnowledge, type KnowledgeImportOptions, type KnowledgeImportResult } from '../methods/knowledge/import.js';
import { importLegacy, type LegacyOptions, type LegacyResult } from '../methods/knowledge/legacy.js';
import { streamEntityJson } from '../methods/entities/stream.js';
import { deleteMatchingAnalogies, type DeleteMatchingOptions, type DeleteMatchingResult } from '../methods/analogies/delete-matching.js';
import { bulkLoadMinRows } from '../core/bulk-load-threshold.js';

export interface OpenOptions {
  /** create the store when the directory holds none (default false) */
  create?: boolean;
  /** finish workflows a dead process left `processing` (default true) */
  resume?: boolean;
  /** open a store whose index is missing without rebuilding it (for `rebuild --salvage`) */
  repair?: boolean;
  /**
   * Publish this store's workflow progress to the other processes on the store (default true;
   * see followReplicas). The service's processing thread leaves it to the server's store, which
   * re-emits (and so publishes) its events.
   */
  publishEvents?: boolean;
}

/**
 * The environment's settings, refused at open (INVALID_INPUT) when malformed: otherwise a bad
 * value would surface only at the first import large enough to consult it.
 */
function checkSettings(): void {
  bulkLoadMinRows();
}

/**
 * The public face of a store: typed methods, each delegating to one operation module. The CLI
 * and the HTTP service call these and nothing else.
 */
export class Store {
  private engine: Engine;
  /** progress events that came from another process (emitted here, never published again) */
  private readonly fromReplicas = new WeakSet<ProgressEvent>();
  private unfollow: (() => void) | null = null;

  private constructor(
    backend: Backend,
    /** the location as given (a database URL with its password): what another thread opens */
    readonly openedAt: string,
    publishEvents = true,
  ) {
    this.engine = { backend, events: new WorkflowEvents(), workDir: workDirOf(backend), running: new Set() };
    if (publishEvents) {
      this.engine.events.on('progress', (e) => {
        if (!this.fromReplicas.has(e)) backend.channel.publish({ type: 'progress', event: e as unknown as JsonObject });
      });
    }
  }

  static async init(location: string): Promise<Store> {
    checkSettings();
    return new Store(await initBackend(location), location);
  }

  static async open(location: string, options: OpenOptions = {}): Promise<Store> {
    checkSettings();
    const store = new Store(await openBackend(location, { create: options.create, repair: options.repair }), location, options.publishEvents);
    if (options.resume ?? true) {
      try {
        await store.workflows.resume();
      } catch (err) {
        // A damaged log must not keep the store from opening: verify and rebuild need it.
        // The workflow stays as it is, to be resumed once the log is repaired.
        if (!isSoftlogicError(err) || err.code !== 'CORRUPT_LOG') {
          await store.close();
          throw err;
        }
        await store.engine.backend.audit.record({ event: 'resume_refused', code: err.code, message: err.message, details: err.details });
      }
    }
    return store;
  }

  /** which backend holds the store */
  get kind(): Backend['kind'] {
    return this.engine.backend.kind;
  }

  get root(): string {
    return this.engine.backend.location;
  }

  /**
   * A local directory for temporary files and the files an operation leaves the user (rejects):
   * the store's directory, or ./softlogic-work for a server database.
   */
  get workDir(): string {
    return this.engine.workDir;
  }

  /** Where `backup()` writes when given no file, and the service lists backups from. */
  get backupsDir(): string {
    return backupsDirOf(this.engine.backend);
  }

  get events(): WorkflowEvents {
    return this.engine.events;
  }

  /** The embedded store underneath, for embedded-only tools and tests (log bytes, SQLite); INVALID_INPUT on another backend. */
  get backend(): EmbeddedStore {
    return embeddedStoreOf(this.engine.backend);
  }

  /**
   * From now on `events` also carries the workflow progress that the other processes on this
   * store publish (service replicas on one database: a WebSocket client of one replica follows a
   * workflow another replica runs), in the order each published it. Resolves once listening.
   */
  async followReplicas(): Promise<void> {
    if (this.unfollow) return;
    this.unfollow = await this.engine.backend.channel.subscribe((message) => {
      const e = message.event as unknown as ProgressEvent | undefined;
      if (message.type !== 'progress' || typeof e !== 'object' || e === null || typeof e.workflow_id !== 'string') return;
      this.fromReplicas.add(e);
      this.engine.events.emit('progress', e);
    });
  }

  close(): Promise<void> {
    this.unfollow?.();
    this.unfollow = null;
    return this.engine.backend.close();
  }

  /** Readiness: resolves when the store can serve now; STORE_UNAVAILABLE (its database cannot be reached) within about `timeoutMs`. */
  ping(timeoutMs?: number): Promise<void> {
    return this.engine.backend.ping(timeoutMs);
  }

  readonly contexts = {
    /** Creates a context; creating an existing one is a no-op unless it names another parent. */
    create: async (name: string, options: { parent?: string; description?: string } = {}): Promise<ContextInfo> => {
      const existing = await this.engine.backend.contexts.get(assertContextName(name));
      if (existing && existing.parent !== (options.parent ?? null)) {
        throw new SoftlogicError('CONFLICT', `context '${name}' already exists with parent ${JSON.stringify(existing.parent)}, not ${JSON.stringify(options.parent ?? null)}`, {
          context: name,
          parent: existing.parent,
        });
      }
      return existing ?? this.engine.backend.contexts.ensure(name, options);
    },
    /** The context (CONTEXT_NOT_FOUND when there is none of that name). */
    require: (name: string): Promise<ContextInfo> => this.engine.backend.contexts.require(name),
    list: (): Promise<ContextInfo[]> => this.engine.backend.contexts.list(),
  };

  readonly analogies = {
    import: (file: string, options?: ImportOptions): Promise<ImportResult> => importAnalogies(this.engine, file, options),
    /** Stages a file as an analogy_creation workflow without processing it; says what was refused. */
    stage: (file: string, options: ImportOptions = {}) => stageAnalogyFile(this.engine, file, options),
    save: async (input: unknown, context?: string): Promise<Analogy> => saveAnalogy(this.engine.backend, input, context),
    get: async (id: string, context = DEFAULT_CONTEXT): Promise<Analogy> => getAnalogy(this.engine.backend, id, context),
    history: async (id: string, context = DEFAULT_CONTEXT) => analogyHistory(this.engine.backend, id, context),
    delete: async (id: string, context = DEFAULT_CONTEXT): Promise<Analogy> => deleteAnalogy(this.engine.backend, id, context),
    restore: async (id: string, context = DEFAULT_CONTEXT): Promise<Analogy> => restoreDeletedAnalogy(this.engine.backend, id, context),
    query: async (filter: AnalogyFilter = {}): Promise<Analogy[]> => queryAnalogies(this.engine.backend, filter),
    /** query's records as JSON text, each as stored where that is the same record (for answers sent as JSON) */
    queryJson: async (filter: AnalogyFilter = {}): Promise<string[]> => queryAnalogyJson(this.engine.backend, filter),
    count: async (filter: AnalogyFilter = {}): Promise<number> => countAnalogies(this.engine.backend, filter),
    stream: (filter: AnalogyFilter = {}): AsyncIterableIterator<Analogy> => flattenPages(streamAnalogyPages(this.engine.backend, filter), (json) => JSON.parse(json) as Analogy),
    streamJson: (filter: AnalogyFilter = {}): AsyncIterableIterator<string> => flattenPages(streamAnalogyPages(this.engine.backend, filter)),
    deleteMatching: (filter: AnalogyFilter, options?: DeleteMatchingOptions): Promise<DeleteMatchingResult> => deleteMatchingAnalogies(this.engine, filter, options),
  };

  /** audit.jsonl read back: what was rejected, rolled back, deleted, compacted, rebuilt (newest first). */
  readonly audit = {
    list: (filter: AuditFilter = {}): Promise<AuditEntry[]> => this.engine.backend.audit.list(filter),
  };

  readonly workflows = {
    createFromFile: (file: string, options: ImportOptions = {}): Promise<Workflow> => stageAnalogyFile(this.engine, file, options).then((s) => s.workflow),
    process: (id: string, options?: ProcessOptions): Promise<Workflow> => processWorkflow(this.engine, id, options),
    cancel: (id: string, options?: CancelOptions): Promise<Workflow> => cancelWorkflow(this.engine, id, options),
    rollback: async (id: string) => rollbackWorkflow(this.engine, id),
    /** Finishes every workflow a dead process left processing (never an interrupted or failed one: process those by id). */
    resume: (options?: ProcessOptions): Promise<Workflow[]> => resumeWorkflows(this.engine, options),
    /**
     * Claims and finishes the workflows whose owner is gone (a dead process, a replica whose lease
     * ran out), leaving this process's own alone: what a service replica runs every few seconds.
     */
    takeOver: (options?: ProcessOptions): Promise<Workflow[]> => resumeWorkflows(this.engine, options, 'expired'),
    /** The workflows takeOver would take now (their owner is gone), without taking them. */
    expired: async (): Promise<Workflow[]> => (await this.engine.backend.workflows.expired()).map(publicWorkflow),
    /** How long a claim on a workflow lasts without a heartbeat (seconds; 0: as long as the owner's process runs). */
    leaseSeconds: (): number => this.engine.backend.workflows.leaseSeconds,
    /** Marks `interrupted` the pending or processing workflows this process owns (a user quitting at once). */
    interruptOwned: async (): Promise<Workflow[]> => {
      const marked = await this.engine.backend.workflows.interruptOwnedBy(process.pid);
      for (const wf of marked) await this.engine.backend.audit.record({ event: 'workflow_interrupted', workflow_id: wf.workflow_id, items_processed: wf.items_processed, items_total: wf.items_total });
      return marked.map(publicWorkflow);
    },
    get: async (id: string): Promise<Workflow> => publicWorkflow(await this.engine.backend.workflows.get(id)),
    list: (status?: WorkflowStatus): Promise<Workflow[]> => this.engine.backend.workflows.list(status),
  };

  /**
   * Every active record of one kind (concept, frame, frame_instance, frame_relation, cluster,
   * semantic_field) in a context, in log order and constant memory.
   */
  stream<T = Record<string, unknown>>(kind: string, context = DEFAULT_CONTEXT): AsyncIterableIterator<T> {
    return flattenPages(streamEntityJson(this.engine.backend, kind, context), (json) => JSON.parse(json) as T);
  }

  streamJson(kind: string, context = DEFAULT_CONTEXT): AsyncIterableIterator<string> {
    return flattenPages(streamEntityJson(this.engine.backend, kind, context));
  }

  /** One file holding a consistent snapshot of the store (safe while writers run). */
  backup(options?: BackupOptions): Promise<BackupResult> {
    return this.engine.backend.maintenance.backup(options);
  }

  /** Restores a backup into `dir` (empty or absent, or replaced with `force`). */
  static restore(file: string, dir: string, options?: RestoreOptions): Promise<RestoreResult> {
    return restoreBackup(file, dir, options);
  }

  /** The knowledge base of a context (or all) as JSON lines or one JSON document, streamed. */
  export(options: ExportOptions): Promise<ExportResult> {
    return exportKnowledge(this.engine, options);
  }

  /** Imports an export with a merge strategy, as a resumable workflow. */
  import(file: string, options?: KnowledgeImportOptions): Promise<KnowledgeImportResult> {
    return importKnowledge(this.engine, file, options);
  }

  /** Migrates a storage directory of the original Python system. */
  importLegacy(dir: string, options?: LegacyOptions): Promise<LegacyResult> {
    return importLegacy(this.engine, dir, options);
  }

  async compact(context?: string): Promise<CompactionReport[]> {
    const names = context ? [(await this.engine.backend.contexts.require(context)).name] : (await this.engine.backend.contexts.list()).map((c) => c.name);
    const reports: CompactionReport[] = [];
    for (const n of names) reports.push(await this.engine.backend.maintenance.compact(n));
    return reports;
  }

  verify(): Promise<VerifyReport> {
    return this.engine.backend.maintenance.verify();
  }

  async rebuild(options?: RebuildOptions): Promise<RebuildReport> {
    const report = await this.engine.backend.maintenance.rebuild(options);
    await this.rebuildVectorIndexes();
    return report;
  }

  /** Rebuilds every context's concept vector index and embeddings.npz from the concept records. */
  async rebuildVectorIndexes(): Promise<Array<{ context: string; kind: string; size: number }>> {
    const out = await rebuildIndexes(this.vectorStore);
    for (const r of out) await writeStoreNpz(this.vectorStore, r.context);
    return out;
  }

  /** The backend's vector parts and the concept lookup, for the embedding methods. */
  private get vectorStore(): ReasoningStore {
    const backend = this.engine.backend;
    return {
      contexts: backend.contexts,
      vectors: backend.vectors,
      files: backend.files,
      findConcept: (nameOrId: string, context: string) => findConcept(backend, nameOrId, context),
    };
  }

  readonly concepts = {
    add: async (input: ConceptInput, options?: AddConceptOptions): Promise<AddedConcept> => addConcept(this.engine.backend, input, options),
    /** The WordNet senses of a word scored against a context (what `--synset auto` would choose, and why). */
    senses: async (word: string, options?: SensesOptions): Promise<SenseChoice> => sensesInContext(this.engine.backend, word, options),
    get: async (id: string, context?: string): Promise<ConceptRecord> => getConcept(this.engine.backend, id, context),
    find: async (nameOrId: string, context = DEFAULT_CONTEXT): Promise<ConceptRecord | undefined> => {
      const found = await findConcept(this.engine.backend, nameOrId, context);
      return found && linkConcept(this.engine.backend, found);
    },
    search: async (text: string, options?: SearchOptions): Promise<ConceptRecord[]> => searchConcepts(this.engine.backend, text, options),
    list: async (context = DEFAULT_CONTEXT, options?: { includeDeleted?: boolean; limit?: number }): Promise<ConceptRecord[]> => listConcepts(this.engine.backend, context, options),
    delete: async (id: string, context?: string): Promise<ConceptRecord> => deleteConcept(this.engine.backend, id, context),
    restore: async (id: string, context?: string): Promise<ConceptRecord> => restoreConcept(this.engine.backend, id, context),
    import: (file: string, options?: ConceptImportOptions): Promise<ConceptImportResult> => importConcepts(this.engine, file, options),
    similar: async (term: string, options?: { context?: string; k?: number; scope?: Scope }) => similarConcepts(this.vectorStore, term, options),
  };

  readonly embeddings = {
    similarity: async (a: string, b: string, options?: { context?: string; method?: SimilarityMethod }) => similarity(this.vectorStore, a, b, options),
    complete: async (a: string, b: string, c: string, options?: { context?: string; k?: number; method?: string; scope?: Scope; postprocess?: string }) => completeAnalogy(this.vectorStore, a, b, c, options),
    evaluate: async (file: string, options?: { top?: number; method?: string; postprocess?: string }) => evalAnalogies(file, options),
    export: async (out: string, context?: string) => exportEmbeddings(this.engine.backend, out, context),
    import: (file: string, context?: string, batchSize?: number) => importEmbeddings(this.engine, file, context, batchSize),
    settings: async (context = DEFAULT_CONTEXT) => (await effectiveSettings(this.vectorStore, context)) ?? null,
    index: async (context = DEFAULT_CONTEXT) => {
      await syncIndex(this.vectorStore, context);
      return (await indexInfo(this.vectorStore, context)) ?? null;
    },
    /** Resolves when this process's background HNSW build for the context (if any) has finished; the next search adopts it. */
    indexBuilt: (context = DEFAULT_CONTEXT): Promise<void> => indexBuildFinished(this.vectorStore, context),
  };

  readonly frames = {
    add: (file: string, options?: { context?: string }) => addFrames(this.engine, file, options),
    get: async (name: string, context?: string): Promise<FrameRecord & { relations: FrameRelationRecord[] }> => getFrame(this.engine.backend, name, context),
    list: async (context?: string): Promise<FrameRecord[]> => listFrames(this.engine.backend, context),
    instances: async (name: string, context?: string): Promise<FrameInstanceRecord[]> => frameInstances(this.engine.backend, name, context),
    query: async (options: { context?: string; element?: string; concept?: string; frame?: string }): Promise<FrameInstanceRecord[]> => queryInstances(this.engine.backend, options),
    delete: async (name: string, context?: string): Promise<FrameRecord> => deleteEntityById<FrameRecord>(this.engine.backend, 'frame', name, context),
    restore: async (name: string, context?: string): Promise<FrameRecord> => restoreEntityById<FrameRecord>(this.engine.backend, 'frame', name, context),
    deleteInstance: async (id: string, context?: string): Promise<FrameInstanceRecord> => deleteEntityById<FrameInstanceRecord>(this.engine.backend, 'frame_instance', id, context),
    restoreInstance: async (id: string, context?: string): Promise<FrameInstanceRecord> => restoreEntityById<FrameInstanceRecord>(this.engine.backend, 'frame_instance', id, context),
  };

  readonly fields = {
    discover: (options: DiscoverOptions) => discoverFields(this.engine, options),
    list: async (context?: string): Promise<{ clusters: StoredCluster[]; fields: StoredField[] }> => listFields(this.engine.backend, context),
    crossDomain: (options?: CrossDomainCommandOptions) => crossDomain(this.engine, options),
    /** the concept vectors of a context in 2-D (PCA), each with its field */
    project: async (context?: string): Promise<Projection> => projectConcepts(this.engine.backend, context),
    delete: async (id: string, context?: string): Promise<StoredField> => deleteEntityById<StoredField>(this.engine.backend, 'semantic_field', id, context),
    restore: async (id: string, context?: string): Promise<StoredField> => restoreEntityById<StoredField>(this.engine.backend, 'semantic_field', id, context),
  };

  /** What killed runs left (files of a store directory; staged items no workflow names), each with whether it can go now. */
  leftovers(): Promise<Leftover[]> {
    return this.engine.backend.maintenance.leftovers();
  }

  /** Removes what killed runs left (leftovers.ts) and lists what stays (owners still running). */
  async doctor(): Promise<{ removed: Leftover[]; remaining: Leftover[] }> {
    const removed = await this.engine.backend.maintenance.removeLeftovers();
    return { removed, remaining: await this.engine.backend.maintenance.leftovers() };
  }

  stats(): Promise<StoreStats> {
    return this.engine.backend.maintenance.stats();
  }
}
