import { join, resolve } from 'node:path';
import { insideDir } from '../../core/paths.js';

/** Where each part of an embedded store lives (see DESIGN.md, "The store on disk"). */
export interface StoreLayout {
  root: string;
  storeJson: string;
  sqlite: string;
  audit: string;
  contextsDir: string;
  pendingDir: string;
  backupsDir: string;
  /** bytes that rebuild --truncate-damaged-tail / --salvage took out of a log */
  salvagedDir: string;
  contextDir(context: string): string;
  log(context: string): string;
  compactingLog(context: string): string;
  contextMetadata(context: string): string;
  embeddings(context: string): string;
  pending(workflowId: string): string;
}

export const STORE_FORMAT_VERSION = 1;

export function defaultStoreDir(): string {
  return resolve(process.env.SOFTLOGIC_STORE ?? './softlogic-data');
}

export function storeLayout(dir: string): StoreLayout {
  const root = resolve(dir);
  const contextsDir = join(root, 'contexts');
  // Context names and workflow ids come from data (the index, a backup): never outside the store.
  const contextDir = (context: string) => insideDir(contextsDir, context);
  return {
    root,
    storeJson: join(root, 'store.json'),
    sqlite: join(root, 'knowledge.sqlite'),
    audit: join(root, 'audit.jsonl'),
    contextsDir,
    pendingDir: join(root, 'workflows', 'pending'),
    backupsDir: join(root, 'backups'),
    salvagedDir: join(root, 'salvaged'),
    contextDir,
    log: (context) => join(contextDir(context), 'log.jsonl'),
    compactingLog: (context) => join(contextDir(context), 'log.jsonl.compacting'),
    contextMetadata: (context) => join(contextDir(context), 'metadata.json'),
    embeddings: (context) => join(contextDir(context), 'embeddings.npz'),
    pending: (workflowId) => insideDir(join(root, 'workflows', 'pending'), `${workflowId}.jsonl`),
  };
}
