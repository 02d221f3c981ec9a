/**
 * The shapes of the REST answers the console reads (see /openapi.json). Records are the server's
 * own types (type-only imports: nothing of the server is bundled).
 */
import type { Analogy as StoredAnalogy, ContextInfo, Workflow, WorkflowStatus } from '../../src/core/records.js';

export type { ContextInfo, Workflow, WorkflowStatus };

/** An analogy, or one version of it in a history (`op` says what wrote it). */
export type Analogy = StoredAnalogy & { op?: string };

export interface AnalogyPage {
  count: number;
  analogies: Analogy[];
  total?: number;
  offset?: number;
  next_cursor?: string | null;
}

export const WORKFLOW_STATUSES: readonly WorkflowStatus[] = ['pending', 'processing', 'interrupted', 'completed', 'failed', 'cancelled', 'rolled_back'];

export interface ProgressMessage {
  type: 'state' | 'progress' | 'error';
  final?: boolean;
  workflow?: Workflow;
  workflow_id?: string;
  status?: string;
  items_processed?: number;
  items_total?: number;
  error?: { code: string; message: string };
}

/** One line of the audit log (GET /api/audit): time, event, and the fields recorded with it. */
export interface AuditEntry {
  time: string;
  event: string;
  workflow_id?: string;
  [field: string]: unknown;
}
