import type { ContextInfo } from '../core/records.js';

/** The contexts of a store: a tree, each record lives in one, lookups fall back to the parents. */
export interface ContextTable {
  /** every context, by name */
  list(): Promise<ContextInfo[]>;
  get(name: string): Promise<ContextInfo | undefined>;
  /** CONTEXT_NOT_FOUND when missing */
  require(name: string): Promise<ContextInfo>;
  /** the context and its ancestors, nearest first (CONTEXT_NOT_FOUND when missing) */
  chain(name: string): Promise<ContextInfo[]>;
  /** creates it unless it exists (CONTEXT_NOT_FOUND for a missing parent) */
  ensure(name: string, options?: { parent?: string | null; description?: string | null }): Promise<ContextInfo>;
}
