import type { Analogy, ContextInfo, Workflow, WorkflowStatus } from '../core/records.js';
import type { AnalogyFilter } from '../core/schemas.js';
import { assertContextName, DEFAULT_CONTEXT } from '../core/names.js';
import { EmbeddedStore } from './embedded/embedded-store.js';
import { compactContext, type CompactionReport } from './embedded/compact.js';
import { verifyStore, type VerifyReport } from './embedded/verify.js';
import { rebuildStore, type RebuildReport } from './embedded/rebuild.js';
import { storeStats, type StoreStats } from './embedded/stats.js';
import { WorkflowRepo } from '../workflows/workflow-repo.js';
import { WorkflowEvents } from '../workflows/progress.js';
import type { Engine } from '../workflows/engine.js';
import { processWorkflow, type ProcessOptions } from '../workflows/process.js';
import { cancelWorkflow } from '../workflows/cancel.js';
import { rollbackWorkflow } from '../workflows/rollback.js';
import { resumeWorkflows } from '../workflows/resume.js';
// Registers the knowledge_import item applier, so any process can resume such a workflow.
import '../methods/knowledge/import-applier.js';
import { importAnalogies, stageAnalogyFile, type ImportOptions, type ImportResult } from '../methods/analogies/import.js';
import { getAnalogy, analogyHistory } from '../methods/analogies/get.js';
import { deleteAnalogy, restoreDeletedAnalogy, saveAnalogy } from '../methods/analogies/single.js';
import { countAnalogies, queryAnalogies } from '../methods/analogies/query.js';
import { streamAnalogies, streamAnalogyJson } from '../methods/analogies/stream.js';
import { deleteMatchingAnalogies, type DeleteMatchingOptions, type DeleteMatchingResult } from '../methods/analogies/delete-matching.js';

export interface OpenOptions {
  /** create the store when the directory holds none (default false) */
  create?: boolean;
  /** finish workflows a dead process left `processing` (default true) */
  resume?: boolean;
}

/**
 * The public face of a store: typed methods, each delegating to one operation module. The CLI
 * and the HTTP service call these and nothing else.
 */
export class Store {
  private engine: Engine;

  private constructor(embedded: EmbeddedStore) {
    this.engine = { store: embedded, workflows: new WorkflowRepo(embedded.db), events: new WorkflowEvents() };
  }

  static init(dir: string): Store {
    return new Store(EmbeddedStore.init(dir));
  }

  static async open(dir: string, options: OpenOptions = {}): Promise<Store> {
    const store = new Store(EmbeddedStore.open(dir, { create: options.create }));
    if (options.resume ?? true) await store.workflows.resume();
    return store;
  }

  get root(): string {
    return this.engine.store.layout.root;
  }

  get events(): WorkflowEvents {
    return this.engine.events;
  }

  /** For modules built on the store (embeddings, knowledge, service): the embedded backend. */
  get backend(): EmbeddedStore {
    return this.engine.store;
  }

  close(): void {
    this.engine.store.close();
  }

  readonly contexts = {
    create: (name: string, options: { parent?: string; description?: string } = {}): ContextInfo => {
      const row = this.engine.store.ensureContext(assertContextName(name), options);
      return { name: row.name, parent: row.parent, description: row.description, created_at: row.created_at };
    },
    list: (): ContextInfo[] =>
      this.engine.store.listContexts().map((r) => ({ name: r.name, parent: r.parent, description: r.description, created_at: r.created_at })),
  };

  readonly analogies = {
    import: (file: string, options?: ImportOptions): Promise<ImportResult> => importAnalogies(this.engine, file, options),
    save: (input: unknown, context?: string): Analogy => saveAnalogy(this.engine.store, input, context),
    get: (id: string, context = DEFAULT_CONTEXT): Analogy => getAnalogy(this.engine.store, id, context),
    history: (id: string, context = DEFAULT_CONTEXT) => analogyHistory(this.engine.store, id, context),
    delete: (id: string, context = DEFAULT_CONTEXT): Analogy => deleteAnalogy(this.engine.store, id, context),
    restore: (id: string, context = DEFAULT_CONTEXT): Analogy => restoreDeletedAnalogy(this.engine.store, id, context),
    query: (filter: AnalogyFilter = {}): Analogy[] => queryAnalogies(this.engine.store, filter),
    count: (filter: AnalogyFilter = {}): number => countAnalogies(this.engine.store, filter),
    stream: (filter: AnalogyFilter = {}): Generator<Analogy> => streamAnalogies(this.engine.store, filter),
    streamJson: (filter: AnalogyFilter = {}): Generator<string> => streamAnalogyJson(this.engine.store, filter),
    deleteMatching: (filter: AnalogyFilter, options?: DeleteMatchingOptions): Promise<DeleteMatchingResult> => deleteMatchingAnalogies(this.engine, filter, options),
  };

  readonly workflows = {
    createFromFile: (file: string, options: ImportOptions = {}): Promise<Workflow> => stageAnalogyFile(this.engine, file, options).then((s) => s.workflow),
    process: (id: string, options?: ProcessOptions): Promise<Workflow> => processWorkflow(this.engine, id, options),
    cancel: (id: string): Workflow => cancelWorkflow(this.engine, id),
    rollback: (id: string) => rollbackWorkflow(this.engine, id),
    resume: (options?: ProcessOptions): Promise<Workflow[]> => resumeWorkflows(this.engine, options),
    get: (id: string): Workflow => {
      const { staged_crc: _s, cancel_requested: _c, owner_pid: _o, ...wf } = this.engine.workflows.get(id);
      return wf;
    },
    list: (status?: WorkflowStatus): Workflow[] => this.engine.workflows.list(status),
  };

  compact(context?: string): CompactionReport[] {
    const names = context ? [assertContextName(context)] : this.engine.store.listContexts().map((c) => c.name);
    if (context) this.engine.store.requireContext(context);
    return names.map((n) => compactContext(this.engine.store, n));
  }

  verify(): VerifyReport {
    return verifyStore(this.engine.store);
  }

  rebuild(): RebuildReport {
    const { store, report } = rebuildStore(this.engine.store);
    this.engine = { store, workflows: new WorkflowRepo(store.db), events: this.engine.events };
    return report;
  }

  stats(): StoreStats {
    return storeStats(this.engine.store);
  }
}
