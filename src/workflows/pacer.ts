/**
 * Background work (an import's staging and its chunks) that yields to foreground queries, as
 * storage engines rate-limit compaction. Between two pieces of work the pacer pauses so that the
 * work takes at most a `duty` share of the wall time; the duty adapts to the foreground's recent
 * latency (additive increase, multiplicative decrease, as TCP does with its window): halved
 * while that latency is over the budget, raised by a step while it is under, 1 (no pause) when
 * nothing is being answered. It never falls below `floor`, so the work always progresses at a
 * share of its unloaded rate, however long the queries go on.
 *
 * On a store shared by replicas, the latency is that of this process's own requests: they wait
 * on the same database (and, on one machine, the same cores) as the other replicas' requests.
 */
export interface PacerOptions {
  /** The foreground latency above which the work slows down (ms; default 20). */
  budgetMs?: number;
  /** The lowest duty (share of wall time spent working; default 0.25). */
  floor?: number;
  /** How much the duty rises per piece of work while under the budget (default 0.1). */
  step?: number;
  /** The longest single pause (ms; default 1000). */
  maxPauseMs?: number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

/** The foreground's recent request latency in ms, or null when no request is being answered. */
export type ForegroundLatency = () => number | null;

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class Pacer {
  /** The current share of wall time the work may take. */
  duty = 1;
  /** Total time paused so far (ms), and how many pauses. */
  pausedMs = 0;
  pauses = 0;
  private readonly budgetMs: number;
  private readonly floor: number;
  private readonly step: number;
  private readonly maxPauseMs: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => number;
  private mark: number;
  private taken = { pauses: 0, pausedMs: 0 };

  constructor(
    private readonly foreground: ForegroundLatency,
    options: PacerOptions = {},
  ) {
    this.budgetMs = options.budgetMs ?? 20;
    this.floor = options.floor ?? 0.25;
    this.step = options.step ?? 0.1;
    this.maxPauseMs = options.maxPauseMs ?? 1000;
    this.sleep = options.sleep ?? defaultSleep;
    this.now = options.now ?? (() => performance.now());
    if (!(this.floor > 0 && this.floor <= 1)) throw new RangeError(`pacer floor must be in (0, 1], got ${this.floor}`);
    this.mark = this.now();
  }

  /** After `workMs` of work: adapts the duty and answers how long to pause (ms). */
  pauseAfter(workMs: number): number {
    const latency = this.foreground();
    if (latency === null) {
      this.duty = 1;
      return 0;
    }
    this.duty = latency > this.budgetMs ? Math.max(this.floor, this.duty / 2) : Math.min(1, this.duty + this.step);
    if (this.duty >= 1) return 0;
    return Math.min(this.maxPauseMs, (Math.max(0, workMs) * (1 - this.duty)) / this.duty);
  }

  /** Called between two pieces of work: the work is the time since the previous call ended. */
  async pace(): Promise<void> {
    const ms = this.pauseAfter(this.now() - this.mark);
    if (ms > 0) {
      this.pausedMs += ms;
      this.pauses += 1;
      await this.sleep(ms);
    }
    this.mark = this.now();
  }

  /**
   * The pauses since the last call (an import's: its staging's and its chunks'; a resume paces
   * several workflows with one pacer, and each reports its own).
   */
  takeCounts(): { pauses: number; paused_ms: number } {
    const counts = { pauses: this.pauses - this.taken.pauses, paused_ms: Math.round(this.pausedMs - this.taken.pausedMs) };
    this.taken = { pauses: this.pauses, pausedMs: this.pausedMs };
    return counts;
  }

  /** Starts the clock of the next piece of work (after waiting on something that was not work). */
  restart(): void {
    this.mark = this.now();
  }
}
