import type { Command } from 'commander';
import { SoftlogicError } from '../../core/errors.js';
import type { WorkflowStatus } from '../../core/records.js';
import { parseNumber, print, progressBar, withStore } from '../output.js';
import { interruptible, reportInterrupted } from '../interrupt.js';

const STATUSES: WorkflowStatus[] = ['pending', 'processing', 'interrupted', 'completed', 'failed', 'cancelled', 'rolled_back'];

export function registerWorkflowCommands(program: Command): void {
  const workflows = program.command('workflows').description('durable batch workflows');

  workflows
    .command('list')
    .option('--status <s>', `one of ${STATUSES.join(', ')}`)
    .action((opts: { status?: string }, cmd: Command) =>
      withStore(cmd, async (store) => {
        if (opts.status !== undefined && !STATUSES.includes(opts.status as WorkflowStatus)) {
          throw new SoftlogicError('INVALID_INPUT', `--status must be one of ${STATUSES.join(', ')}`, { field: 'status' });
        }
        print(cmd, { workflows: await store.workflows.list(opts.status as WorkflowStatus | undefined) });
      }),
    );

  workflows.command('show <id>').action((id: string, _o, cmd: Command) => withStore(cmd, async (store) => print(cmd, await store.workflows.get(id))));

  workflows
    .command('create <file>')
    .description('validate and stage analogies as a pending workflow')
    .option('--context <name>', 'context', 'default')
    .option('--workflow-id <id>')
    .option('--lenient', 'stage the valid lines, reject the rest to a file')
    .action((file: string, opts: { context: string; workflowId?: string; lenient?: boolean }, cmd: Command) =>
      withStore(cmd, async (store) => print(cmd, await store.workflows.createFromFile(file, opts))),
    );

  const processOne = (id: string, opts: { batchSize?: number }, cmd: Command) =>
    withStore(cmd, async (store) => {
      const bar = progressBar(cmd);
      if (bar) store.events.on('progress', bar);
      const done = await interruptible(store, (interrupt) => store.workflows.process(id, { ...opts, interrupt }));
      reportInterrupted(done);
      print(cmd, done);
    });

  workflows
    .command('process <id>')
    .description('apply a pending workflow (or go on with an interrupted or failed one); Ctrl-C stops it at the next chunk boundary')
    .option('--batch-size <n>', 'items per commit', parseNumber('batch-size', 1, 1_000_000, true))
    .action((id: string, opts: { batchSize?: number }, cmd: Command) => processOne(id, opts, cmd));

  workflows
    .command('cancel <id>')
    .description('cancel a workflow; one being processed stops at its next chunk boundary (committed chunks stay: roll them back with rollback)')
    .action((id: string, _o, cmd: Command) => withStore(cmd, async (store) => print(cmd, await store.workflows.cancel(id))));
  workflows
    .command('rollback <id>')
    .description('restore every record the workflow changed to its state before it (created: deleted, deleted: restored, updated: previous content)')
    .action((id: string, _o, cmd: Command) => withStore(cmd, async (store) => print(cmd, await store.workflows.rollback(id))));
  workflows
    .command('resume [id]')
    .description('go on with workflow ID (interrupted, failed or left by a dead process); without ID, finish every workflow a dead process left processing')
    .option('--batch-size <n>', 'items per commit', parseNumber('batch-size', 1, 1_000_000, true))
    .action((id: string | undefined, opts: { batchSize?: number }, cmd: Command) =>
      id === undefined ? withStore(cmd, async (store) => print(cmd, { resumed: await store.workflows.resume(opts) })) : processOne(id, opts, cmd),
    );
}
