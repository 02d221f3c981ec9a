import type { FastifyBaseLogger } from 'fastify';
import { trackWork, type ServiceContext } from './context.js';

/** Without leases (the embedded store: an owner is its process), how often a replica looks for workflows a dead process left. */
export const DEFAULT_TAKEOVER_MS = 5000;

/** How often a replica removes what dead stagings left (they become removable 10 minutes after their last write). */
export const SWEEP_MS = 5 * 60 * 1000;

async function sweepLeftovers(ctx: ServiceContext, log: FastifyBaseLogger): Promise<void> {
  if (ctx.closing) return;
  try {
    if (!(await ctx.store.leftovers()).some((l) => l.removable)) return;
    const { removed } = await ctx.store.doctor();
    if (removed.length > 0) log.info({ leftovers: removed.map((l) => l.path) }, 'removed what killed runs left');
  } catch (err) {
    log.warn({ err }, 'removing leftovers failed; tried again on the next sweep');
  }
}

/**
 * How often a replica looks for workflows to take over: a quarter of the lease, so that one whose
 * owner died (its last heartbeat at most a quarter-lease before) is taken within 1.25 leases of the
 * death (25 s with the default 20 s lease).
 */
export function takeoverInterval(leaseSeconds: number): number {
  return leaseSeconds > 0 ? Math.max(100, Math.round(leaseSeconds * 250)) : DEFAULT_TAKEOVER_MS;
}

/**
 * The takeover loop of a service replica: every `intervalMs`, if a workflow's owner is gone (a
 * replica killed mid-import, its lease expired), the processor claims it (one replica wins
 * each) and finishes it from its last committed chunk; a first round runs at the start. A look
 * that finds nothing costs one query; the processing thread is not woken for it. One round at a time; the server's close waits for
 * a round in progress (it stops at a commit boundary like any background work).
 */
export function startTakeoverLoop(ctx: ServiceContext, log: FastifyBaseLogger, intervalMs: number): () => void {
  let busy = false;
  const round = async () => {
    if (busy || ctx.closing) return;
    busy = true;
    try {
      const expired = await ctx.store.workflows.expired();
      if (expired.length === 0 || ctx.closing) return;
      log.info({ workflows: expired.map((w) => w.workflow_id) }, 'taking over workflows whose owner is gone');
      const taken = await trackWork(ctx, 'takeover', ctx.processor.takeOver(ctx.batchSize));
      for (const wf of taken) log.info({ workflow_id: wf.workflow_id, status: wf.status, items_processed: wf.items_processed }, 'workflow taken over and finished');
    } catch (err) {
      if (!ctx.closing) log.warn({ err }, 'takeover round failed; tried again on the next one');
    } finally {
      busy = false;
    }
  };
  // A first round at once: a replica that starts takes up what a dead one left without waiting.
  const first = setImmediate(() => void round());
  const timer = setInterval(() => void round(), intervalMs);
  timer.unref();
  // What a staging that died before its workflow row left (staged items no workflow names) goes
  // once it is removable (`softlogic doctor` does the same by hand).
  const sweep = setInterval(() => void sweepLeftovers(ctx, log), SWEEP_MS);
  sweep.unref();
  return () => {
    clearImmediate(first);
    clearInterval(timer);
    clearInterval(sweep);
  };
}
