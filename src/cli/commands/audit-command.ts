import type { Command } from 'commander';
import { AUDIT_DEFAULT_LIMIT, AUDIT_MAX_LIMIT, type AuditEntry } from '../../backend/embedded/audit.js';
import { cellText, table } from '../format.js';
import { parseNumber, print, withStore } from '../output.js';

/** One entry as a table row: time, event, workflow, and its other fields as `key=value` pairs. */
function row(entry: AuditEntry): Record<string, unknown> {
  const { time, event, workflow_id, ...rest } = entry;
  return { time, event, workflow_id: workflow_id ?? null, summary: cellText(rest) };
}

export function registerAuditCommand(program: Command): void {
  program
    .command('audit')
    .description('the audit log (rejected lines, rollbacks, cancellations, deletions, compactions, rebuilds), newest first')
    .option('--workflow <id>', 'only the entries about this workflow')
    .option('--event <name>', 'only this event (e.g. workflow_rolled_back, import_rejected_lines)')
    .option('--since <time>', 'only entries at or after this ISO time')
    .option('--limit <n>', `at most N entries (default ${AUDIT_DEFAULT_LIMIT})`, parseNumber('limit', 1, AUDIT_MAX_LIMIT, true))
    .action((opts: { workflow?: string; event?: string; since?: string; limit?: number }, cmd: Command) =>
      withStore(cmd, async (store) => {
        const entries = await store.audit.list({ workflow_id: opts.workflow, event: opts.event, since: opts.since, limit: opts.limit });
        const human = entries.length === 0 ? 'entries: (none)' : table(['time', 'event', 'workflow_id', 'summary'], entries.map(row), true);
        print(cmd, { entries }, human);
      }),
    );
}
