import type { ContextInfo } from '../../core/records.js';
import type { ContextTable } from '../contexts.js';
import type { VectorBackend } from '../vector-table.js';
import { EmbeddedContextFiles } from './embedded-context-files.js';
import type { ContextRow, EmbeddedStore } from './embedded-store.js';
import { EmbeddedVectorTable } from './embedded-vector-table.js';

/**
 * The vector parts of the embedded backend for callers that still hold an EmbeddedStore, one set
 * per store. Transitional: once EmbeddedBackend carries `vectors` and `files`, callers pass it.
 */
export interface EmbeddedVectorParts extends VectorBackend {
  readonly vectors: EmbeddedVectorTable;
  /** whether `id` is a concept of the context (deleted ones too) */
  isConcept(context: string, id: string): Promise<boolean>;
}

const parts = new WeakMap<EmbeddedStore, EmbeddedVectorParts>();

function info(row: ContextRow): ContextInfo {
  return { name: row.name, parent: row.parent, description: row.description, created_at: row.created_at };
}

export function embeddedVectorParts(store: EmbeddedStore): EmbeddedVectorParts {
  let p = parts.get(store);
  if (!p) {
    const contexts: ContextTable = {
      list: async () => store.listContexts().map(info),
      get: async (name) => {
        const row = store.context(name);
        return row && info(row);
      },
      require: async (name) => info(store.requireContext(name)),
      chain: async (name) => store.contextChain(name).map(info),
      ensure: async (name, options) => info(store.ensureContext(name, options)),
    };
    const isConcept = async (context: string, id: string): Promise<boolean> => {
      const row = store.context(context);
      return row !== undefined && store.entities.get(row.ctx, 'concept', id) !== undefined;
    };
    p = { contexts, vectors: new EmbeddedVectorTable(store), files: new EmbeddedContextFiles(store), isConcept };
    parts.set(store, p);
  }
  return p;
}
