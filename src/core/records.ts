/**
 * Record types: the same field names on disk, on the wire and in TypeScript (the original
 * Python system's JSON names, so its files import unchanged).
 */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export interface VersionFields {
  created_at: string;
  updated_at: string;
  version: number;
  deleted_at: string | null;
}

export interface Analogy extends VersionFields {
  id: string;
  context: string;
  source_domain: string;
  target_domain: string;
  quality_score: number;
  concept_mappings: Record<string, string>;
  frame_mappings: Record<string, string>;
  tags: string[];
  metadata: JsonObject;
  workflow_id: string | null;
}

/** What a soft delete writes: the changed fields only (see methods/analogies/read.ts). */
export type AnalogyTombstone = Pick<Analogy, 'id' | 'context' | 'version' | 'updated_at' | 'deleted_at'>;

export type RecordKind = 'analogy' | 'concept' | 'frame' | 'frame_instance' | 'frame_relation' | 'cluster' | 'semantic_field';

export type LogOp = 'put' | 'delete' | 'restore';

/** A stored record of any kind but analogies: its own fields plus the version fields. */
export interface EntityRecord {
  id: string;
  version: number;
  deleted_at: string | null;
  name?: unknown;
  [field: string]: unknown;
}

export interface ContextInfo {
  name: string;
  parent: string | null;
  description: string | null;
  created_at: string;
}

export type WorkflowType = 'analogy_creation' | 'deletion_batch' | 'concept_batch' | 'frame_expansion' | 'cluster_update' | 'knowledge_import';
export type WorkflowStatus = 'pending' | 'processing' | 'interrupted' | 'completed' | 'failed' | 'cancelled' | 'rolled_back';

export interface Workflow {
  workflow_id: string;
  workflow_type: WorkflowType;
  status: WorkflowStatus;
  context: string;
  created_at: string;
  updated_at: string;
  items_total: number;
  items_processed: number;
  error_count: number;
  metadata: JsonObject;
  error_log: string[];
  error_log_omitted: number;
}
