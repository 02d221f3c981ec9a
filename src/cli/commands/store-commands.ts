import type { Command } from 'commander';
import { initStore, openStore } from '../../api/open-store.js';
import { print, storeDir, withStore } from '../output.js';

export function registerStoreCommands(program: Command): void {
  program
    .command('init')
    .description('create a store (default ./softlogic-data, or --store DIR, or SOFTLOGIC_STORE)')
    .action(async (_opts, cmd: Command) => {
      const store = await initStore(storeDir(cmd));
      const root = store.root;
      await store.close();
      print(cmd, { store: root, created: true }, `created store at ${root}`);
    });

  program
    .command('compact')
    .description("rewrite a context's log without deleted and superseded records")
    .option('--context <name>', 'only this context (default: all)')
    .action((opts: { context?: string }, cmd: Command) =>
      withStore(cmd, async (store) => {
        const reports = await store.compact(opts.context);
        print(cmd, { contexts: reports }, reports.map((r) => `${r.context}: removed ${r.records_removed}, kept ${r.active_records}, ${r.bytes_before} -> ${r.bytes_after} bytes`).join('\n') || 'no contexts');
      }),
    );

  program
    .command('verify')
    .description('check SQLite integrity, every log checksum, and that index and logs agree (exit 1 when invalid)')
    .action((_opts, cmd: Command) =>
      withStore(cmd, async (store) => {
        const report = await store.verify();
        print(cmd, report, report.valid ? `valid (${report.contexts.length} contexts)` : `INVALID:\n${report.issues.map((i) => `  [${i.check}] ${i.context ?? ''} ${i.message}`).join('\n')}`);
        if (!report.valid) process.exitCode = 1;
      }),
    );

  program
    .command('rebuild')
    .description(
      'recreate knowledge.sqlite from the logs (run with no other process on the store). A log with a damaged line is refused ' +
        '(CORRUPT_LOG, nothing changed) unless one of the repair options is given; the bytes they take out go to salvaged/ and audit.jsonl',
    )
    .option('--truncate-damaged-tail', 'cut each log from the batch holding its first damaged line to its end (the report says what was lost)')
    .option('--salvage', 'rewrite damaged logs keeping every line whose checksum passes; set only the damaged lines aside')
    .action(async (opts: { truncateDamagedTail?: boolean; salvage?: boolean }, cmd: Command) => {
      // Opened as is (no resume, no rebuild of a missing index): rebuilding is what it is for.
      const store = await openStore(storeDir(cmd), { repair: true, resume: false });
      try {
        const report = await store.rebuild({ truncateDamagedTail: opts.truncateDamagedTail, salvage: opts.salvage });
        const lines = [`rebuilt ${report.contexts.length} context(s) in ${report.seconds}s`];
        for (const c of report.cut) {
          lines.push(`  ${c.context}: cut ${c.bytes} bytes from byte ${c.offset} (${c.lines} lines, ${c.records_lost} records lost, seqs ${c.first_seq ?? '-'}..${c.last_seq ?? '-'}; ${c.damage.reason}); kept in ${c.aside?.file ?? '-'}`);
        }
        for (const s of report.salvaged) {
          lines.push(`  ${s.context}: kept ${s.kept_records} records; set aside ${s.damaged_lines} damaged line(s) (${s.damaged_records} records) and ${s.uncommitted_records} uncommitted record(s), ${s.bytes_set_aside} bytes in ${s.aside?.file ?? '-'}`);
        }
        for (const w of report.workflows_lost) lines.push(`  workflow ${w.workflow_id} (${w.context}, ${w.items_processed} items) is in the logs but its record is lost`);
        print(cmd, report, lines.join('\n'));
      } finally {
        await store.close();
      }
    });

  program
    .command('doctor')
    .description(
      'remove files killed runs left (staged items of gone workflows, backups/.backup-PID-*, *.partial-PID, DIR.restoring-*, ' +
        'log.jsonl.compacting, interrupted rebuilds) once their owner process is dead; list what stays. Every open does the same quietly. ' +
        'On PostgreSQL: staged items no workflow names (a staging that died), once idle 10 minutes, ' +
        "and staging schemas <schema>_restoring_<pid> of killed restores (once no session holds their restore's lock)",
    )
    .action(async (_opts, cmd: Command) => {
      // Opened as is, so that what it removes is reported here rather than by a quiet open.
      const store = await openStore(storeDir(cmd), { repair: true, resume: false });
      try {
        const report = await store.doctor();
        const line = (l: { kind: string; path: string; bytes: number }) => `  ${l.kind} ${l.path} (${l.bytes} bytes)`;
        print(
          cmd,
          report,
          [`removed ${report.removed.length} leftover(s)`, ...report.removed.map(line), ...(report.remaining.length > 0 ? [`kept ${report.remaining.length} (owner still running):`, ...report.remaining.map(line)] : [])].join('\n'),
        );
      } finally {
        await store.close();
      }
    });

  program
    .command('stats')
    .description('counts per context, kind and status; bytes per file')
    .action((_opts, cmd: Command) => withStore(cmd, async (store) => print(cmd, await store.stats())));

  const contexts = program.command('contexts').description('list or create contexts');
  contexts
    .command('list')
    .action((_opts, cmd: Command) => withStore(cmd, async (store) => print(cmd, { contexts: await store.contexts.list() })));
  contexts
    .command('create <name>')
    .option('--parent <name>', 'lookups fall back to this context')
    .option('--description <text>')
    .action((name: string, opts: { parent?: string; description?: string }, cmd: Command) =>
      withStore(cmd, async (store) => print(cmd, await store.contexts.create(name, opts))),
    );
}
