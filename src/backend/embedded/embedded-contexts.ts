import type { ContextInfo } from '../../core/records.js';
import type { ContextTable } from '../contexts.js';
import type { ContextRow, EmbeddedStore } from './embedded-store.js';

/** What the interface shows of a context row (its key and watermarks stay inside). */
export function contextInfo(row: ContextRow): ContextInfo {
  return { name: row.name, parent: row.parent, description: row.description, created_at: row.created_at };
}

/** The contexts table of knowledge.sqlite (each context also has its directory and log). */
export class EmbeddedContexts implements ContextTable {
  constructor(private readonly store: EmbeddedStore) {}

  async list(): Promise<ContextInfo[]> {
    return this.store.listContexts().map(contextInfo);
  }

  async get(name: string): Promise<ContextInfo | undefined> {
    const row = this.store.context(name);
    return row && contextInfo(row);
  }

  async require(name: string): Promise<ContextInfo> {
    return contextInfo(this.store.requireContext(name));
  }

  async chain(name: string): Promise<ContextInfo[]> {
    return this.store.contextChain(name).map(contextInfo);
  }

  async ensure(name: string, options?: { parent?: string | null; description?: string | null }): Promise<ContextInfo> {
    return contextInfo(this.store.ensureContext(name, options));
  }
}
