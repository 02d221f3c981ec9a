import { EventEmitter } from 'node:events';
import type { WorkflowStatus } from '../core/records.js';

/** One progress event of a workflow: what the CLI bar and the WebSocket show. */
export interface ProgressEvent {
  workflow_id: string;
  status: WorkflowStatus;
  items_processed: number;
  items_total: number;
  error_count: number;
  /** items per second since processing started in this process */
  rate: number;
  /** seconds left at the current rate, null when unknown */
  eta_seconds: number | null;
  final: boolean;
}

export class WorkflowEvents extends EventEmitter<{ progress: [ProgressEvent] }> {}

export class RateMeter {
  private readonly start = performance.now();
  private readonly startCount: number;

  constructor(startCount: number) {
    this.startCount = startCount;
  }

  measure(processed: number, total: number): { rate: number; eta_seconds: number | null } {
    const seconds = (performance.now() - this.start) / 1000;
    const rate = seconds > 0 ? (processed - this.startCount) / seconds : 0;
    const eta_seconds = rate > 0 ? Math.max(0, (total - processed) / rate) : null;
    return { rate: Math.round(rate), eta_seconds: eta_seconds === null ? null : Math.round(eta_seconds * 10) / 10 };
  }
}
