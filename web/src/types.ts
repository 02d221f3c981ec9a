/** The shapes of the REST answers the console reads (see /openapi.json). */
export interface Analogy {
  id: string;
  context: string;
  source_domain: string;
  target_domain: string;
  quality_score: number;
  concept_mappings: Record<string, string>;
  frame_mappings: Record<string, string>;
  tags: string[];
  metadata: Record<string, unknown>;
  workflow_id: string | null;
  created_at: string;
  updated_at: string;
  version: number;
  deleted_at: string | null;
  op?: string;
}

export interface AnalogyPage {
  count: number;
  analogies: Analogy[];
  total?: number;
  offset?: number;
  next_cursor?: string | null;
}

export interface Workflow {
  workflow_id: string;
  workflow_type: string;
  status: 'pending' | 'processing' | 'completed' | 'failed' | 'cancelled' | 'rolled_back';
  context: string;
  created_at: string;
  updated_at: string;
  items_total: number;
  items_processed: number;
  error_count: number;
  metadata: Record<string, unknown>;
  error_log?: string[];
  error_log_omitted?: number;
}

export const WORKFLOW_STATUSES = ['pending', 'processing', 'completed', 'failed', 'cancelled', 'rolled_back'] as const;

export interface ContextInfo {
  name: string;
  parent: string | null;
  description: string | null;
  created_at: string;
}

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
