import type { EmbeddedStore } from '../backend/embedded/embedded-store.js';
import type { WorkflowRepo } from './workflow-repo.js';
import type { WorkflowEvents } from './progress.js';

/** What every workflow operation works with. */
export interface Engine {
  store: EmbeddedStore;
  workflows: WorkflowRepo;
  events: WorkflowEvents;
}
