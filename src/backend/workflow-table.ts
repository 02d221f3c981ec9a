/**
 * The workflow table and the staged items of each workflow (embedded: files under pending/;
 * PostgreSQL: rows, so any replica can take a workflow over). Owner: define from
 * src/workflows/workflow-repo.ts and staging.ts as they move.
 */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- placeholder until its owner defines it
export interface WorkflowTable {}
