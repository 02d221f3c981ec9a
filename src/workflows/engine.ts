import type { Backend } from '../backend/backend.js';
import type { WorkflowEvents } from './progress.js';

/** What every workflow operation works with: a backend (any) and the progress events. */
export interface Engine {
  backend: Backend;
  events: WorkflowEvents;
  /**
   * A local directory for the files an operation leaves the user (an import's rejects/) and its
   * temporary files (tmp/): the store's directory for the embedded backend.
   */
  workDir: string;
  /** the workflows this engine is processing now (a resume or takeover leaves them alone) */
  running: Set<string>;
}
