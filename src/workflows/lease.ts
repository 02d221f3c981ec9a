import { SoftlogicError } from '../core/errors.js';
import type { WorkflowTable } from '../backend/workflow-table.js';

/**
 * A processor's hold on one workflow: claimed before its first chunk, renewed (the heartbeat)
 * several times per lease while it works, so that another process takes the workflow over only
 * once this one stopped renewing (it died, or hung longer than the lease). A claim that could not
 * be renewed (taken over) stops the processor at its next chunk boundary with CONFLICT; the
 * chunk commit's own check (the progress it expects) keeps a chunk from being applied twice even
 * before that.
 */
export class WorkflowLease {
  private timer: NodeJS.Timeout | undefined;
  private beating = false;
  private lost = false;

  constructor(
    private readonly table: WorkflowTable,
    private readonly workflowId: string,
  ) {}

  /** CONFLICT when another live owner holds the workflow. */
  async claim(): Promise<void> {
    if (!(await this.table.claim(this.workflowId))) {
      throw new SoftlogicError('CONFLICT', `workflow ${this.workflowId} is being processed by another process (it is taken over only once that one stops renewing its claim)`, {
        workflow_id: this.workflowId,
      });
    }
    if (this.table.leaseSeconds > 0 && !this.timer) {
      this.timer = setInterval(() => void this.beat(), (this.table.leaseSeconds * 1000) / 4);
      this.timer.unref();
    }
  }

  private async beat(): Promise<void> {
    if (this.beating || this.lost) return;
    this.beating = true;
    try {
      if (!(await this.table.renew(this.workflowId))) this.lost = true;
    } catch {
      // The database is unreachable for a moment: the next beat tries again (the lease has room for three).
    } finally {
      this.beating = false;
    }
  }

  /** CONFLICT once another process has taken the workflow over. */
  assertHeld(): void {
    if (this.lost) {
      throw new SoftlogicError('CONFLICT', `workflow ${this.workflowId} was taken over by another process (this one's claim lapsed); it finishes it`, { workflow_id: this.workflowId });
    }
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
