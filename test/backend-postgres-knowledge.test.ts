/**
 * The knowledge conformance suite (test/conformance/knowledge.ts) on PostgreSQL: each scenario runs
 * on a fresh schema of this run's database and on a fresh embedded store, and what the user sees
 * of the results must be the same.
 */
import { describe } from 'node:test';
import { Store } from '../src/api/store.js';
import { freshEmbeddedStore, knowledgeConformance, type KnowledgeStore } from './conformance/knowledge.js';
import { inScratchDirectory, usePostgres } from './pg-helpers.js';

const db = await usePostgres();
inScratchDirectory();

async function postgresStore(): Promise<KnowledgeStore> {
  if ('skip' in db) throw new Error(db.skip);
  const store = await Store.init(db.freshStoreUrl());
  return { store, close: () => store.close() };
}

if ('skip' in db) describe('knowledge conformance: postgres', { skip: db.skip }, () => undefined);
else knowledgeConformance('postgres', postgresStore, { name: 'embedded', open: freshEmbeddedStore });
