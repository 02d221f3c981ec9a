/**
 * The workflow table and the staged items of each workflow (embedded: files under pending/;
 * PostgreSQL: rows, so any replica can take a workflow over). Owner: define from
 * src/workflows/workflow-repo.ts and staging.ts as they move.
 */
export interface WorkflowTable {}
