/**
 * The workflow conformance suite (test/conformance/workflows.ts) on PostgreSQL: each case opens
 * the public Store on a fresh schema of this run's database (pg-helpers.ts), as
 * `openStore('postgres://…?schema=…')` does.
 */
import { describe } from 'node:test';
import { workflowConformance } from './conformance/workflows.js';
import { freshPostgresStore, inScratchDirectory, usePostgres } from './pg-helpers.js';

const db = await usePostgres();
inScratchDirectory();

if ('skip' in db) describe('workflows conformance: postgres', { skip: db.skip }, () => undefined);
else
  workflowConformance('postgres', () => freshPostgresStore(db));
