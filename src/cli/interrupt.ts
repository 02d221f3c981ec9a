import type { Workflow } from '../core/records.js';
import type { Store } from '../api/store.js';

/** The exit status of a command the user interrupted (128 + SIGINT), as shells expect. */
export const INTERRUPTED_EXIT = 130;

/**
 * Runs a long workflow command so that Ctrl-C stops it cleanly: the first SIGINT asks the
 * processor to stop at its next chunk boundary (the workflow becomes `interrupted`); a second
 * one quits at once, first marking the workflows this process owns `interrupted`, so that no
 * later open resumes them behind the user's back.
 */
export async function interruptible<T>(store: Store, fn: (interrupt: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const onSigint = async () => {
    if (!controller.signal.aborted) {
      controller.abort();
      process.stderr.write('interrupted: stopping at the next chunk boundary (Ctrl-C again to quit at once)\n');
      return;
    }
    for (const wf of await store.workflows.interruptOwned()) tellInterrupted(wf);
    process.exit(INTERRUPTED_EXIT);
  };
  process.on('SIGINT', onSigint);
  try {
    return await fn(controller.signal);
  } finally {
    process.off('SIGINT', onSigint);
  }
}

/** For a workflow the user stopped: says on stderr how to go on, and sets exit status 130. */
export function reportInterrupted(wf: Workflow): void {
  if (wf.status !== 'interrupted') return;
  tellInterrupted(wf);
  process.exitCode = INTERRUPTED_EXIT;
}

function tellInterrupted(wf: Workflow): void {
  const id = wf.workflow_id;
  process.stderr.write(
    `workflow ${id} interrupted after ${wf.items_processed} of ${wf.items_total} items (committed chunks are kept; it is not resumed on its own).\n` +
      `  go on:     softlogic workflows resume ${id}\n` +
      `  stop here: softlogic workflows cancel ${id}\n` +
      `  undo it:   softlogic workflows rollback ${id}\n`,
  );
}
