import type { Backend } from '../backend/backend.js';
import type { WorkflowEvents } from './progress.js';

/** What every workflow operation works with: a backend (any) and the progress events. */
export interface Engine {
  backend: Backend;
  events: WorkflowEvents;
}
