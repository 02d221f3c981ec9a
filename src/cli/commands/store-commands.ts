import type { Command } from 'commander';
import { Store } from '../../store/store.js';
import { print, storeDir, withStore } from '../output.js';

export function registerStoreCommands(program: Command): void {
  program
    .command('init')
    .description('create a store (default ./softlogic-data, or --store DIR, or SOFTLOGIC_STORE)')
    .action((_opts, cmd: Command) => {
      const store = Store.init(storeDir(cmd));
      const root = store.root;
      store.close();
      print(cmd, { store: root, created: true }, `created store at ${root}`);
    });

  program
    .command('compact')
    .description("rewrite a context's log without deleted and superseded records")
    .option('--context <name>', 'only this context (default: all)')
    .action((opts: { context?: string }, cmd: Command) =>
      withStore(cmd, (store) => {
        const reports = store.compact(opts.context);
        print(cmd, { contexts: reports }, reports.map((r) => `${r.context}: removed ${r.records_removed}, kept ${r.active_records}, ${r.bytes_before} -> ${r.bytes_after} bytes`).join('\n') || 'no contexts');
      }),
    );

  program
    .command('verify')
    .description('check SQLite integrity, every log checksum, and that index and logs agree (exit 1 when invalid)')
    .action((_opts, cmd: Command) =>
      withStore(cmd, (store) => {
        const report = store.verify();
        print(cmd, report, report.valid ? `valid (${report.contexts.length} contexts)` : `INVALID:\n${report.issues.map((i) => `  [${i.check}] ${i.context ?? ''} ${i.message}`).join('\n')}`);
        if (!report.valid) process.exitCode = 1;
      }),
    );

  program
    .command('rebuild')
    .description('recreate knowledge.sqlite from the logs (run with no other process on the store)')
    .action((_opts, cmd: Command) =>
      withStore(cmd, (store) => {
        const report = store.rebuild();
        print(cmd, report, `rebuilt ${report.contexts.length} context(s) in ${report.seconds}s`);
      }),
    );

  program
    .command('stats')
    .description('counts per context, kind and status; bytes per file')
    .action((_opts, cmd: Command) => withStore(cmd, (store) => print(cmd, store.stats())));

  const contexts = program.command('contexts').description('list or create contexts');
  contexts
    .command('list')
    .action((_opts, cmd: Command) => withStore(cmd, (store) => print(cmd, { contexts: store.contexts.list() })));
  contexts
    .command('create <name>')
    .option('--parent <name>', 'lookups fall back to this context')
    .option('--description <text>')
    .action((name: string, opts: { parent?: string; description?: string }, cmd: Command) =>
      withStore(cmd, (store) => print(cmd, store.contexts.create(name, opts))),
    );
}
