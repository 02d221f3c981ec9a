import type { Command } from 'commander';
import { SoftlogicError } from '../../core/errors.js';
import { Store } from '../../api/index.js';
import type { ExportFormat } from '../../methods/knowledge/export.js';
import { assertMerge } from '../../methods/knowledge/import.js';
import { parseNumber, print, progressBar, storeDir, withStore } from '../output.js';
import { cellText } from '../format.js';

/** backup / restore / export / import (and migration from the original system). */
export function registerBackupCommands(program: Command): void {
  program
    .command('backup')
    .description('one file holding a consistent snapshot of the store (safe while writers run)')
    .option('--out <file>', 'where to write it (default <store>/backups/backup-<timestamp>.slbak; for a PostgreSQL store ./softlogic-work/backups/)')
    .action((opts: { out?: string }, cmd: Command) =>
      withStore(cmd, async (store) => {
        const result = await store.backup({ out: opts.out });
        print(cmd, result, `backup written to ${result.file} (${result.bytes} bytes, ${result.contexts.length} context(s))`);
      }),
    );

  program
    .command('restore <file>')
    .description('restore a backup of either backend into --store DIR or postgres://... (empty or absent); checksums are verified first')
    .option('--force', 'replace an existing store (kept aside as DIR.old-<timestamp>, or schema <schema>_old_<timestamp>) once the new one verifies')
    .option('--verify', 'also run the full verify (always done with --force)')
    .action(async (file: string, opts: { force?: boolean; verify?: boolean }, cmd: Command) => {
      const result = await Store.restore(file, storeDir(cmd), { force: opts.force, verify: opts.verify });
      print(cmd, result, `restored ${result.backup} into ${result.store}` + (result.previous_store ? ` (previous store kept at ${result.previous_store})` : ''));
    });

  program
    .command('export')
    .description('every active record of a context (or all) as JSON lines or one JSON document, streamed')
    .requiredOption('--out <file>', 'output file (must not exist)')
    .option('--context <name>', 'only this context (default: all)')
    .option('--format <format>', 'jsonl or json', 'jsonl')
    .option('--gzip', 'gzip the output')
    .action((opts: { out: string; context?: string; format: string; gzip?: boolean }, cmd: Command) =>
      withStore(cmd, async (store) => {
        if (opts.format !== 'json' && opts.format !== 'jsonl') {
          throw new SoftlogicError('INVALID_INPUT', `--format must be json or jsonl, got '${opts.format}'`, { field: 'format' });
        }
        const result = await store.export({ out: opts.out, context: opts.context, format: opts.format as ExportFormat, gzip: opts.gzip });
        print(cmd, result, `exported ${result.records} records to ${result.file}`);
      }),
    );

  program
    .command('import [file]')
    .description('import an export (as workflows), or migrate the original system with --from-legacy DIR')
    .option('--context <name>', 'put every record (legacy: and every vector) into this context')
    .option('--merge <strategy>', 'overwrite | merge | skip (default merge; overwrite for --from-legacy)')
    .option('--from-legacy <dir>', "the original Python system's storage directory")
    .option('--batch-size <n>', 'items per commit', parseNumber('batch-size', 1, 1_000_000, true))
    .action((file: string | undefined, opts: { context?: string; merge?: string; fromLegacy?: string; batchSize?: number }, cmd: Command) => {
      if ((file === undefined) === (opts.fromLegacy === undefined)) {
        throw new SoftlogicError('INVALID_INPUT', 'import takes either FILE or --from-legacy DIR', { field: 'file' });
      }
      const merge = opts.merge === undefined ? undefined : assertMerge(opts.merge);
      return withStore(cmd, async (store) => {
        const bar = progressBar(cmd);
        if (bar) store.events.on('progress', bar);
        if (opts.fromLegacy !== undefined) {
          const result = await store.importLegacy(opts.fromLegacy, { context: opts.context, merge, batchSize: opts.batchSize });
          const reported = result.files.reduce((s, f) => s + f.reported.length, 0);
          print(cmd, result, `migrated ${result.records} records, ${result.deletions} deletions, ${result.workflows_imported.length} workflows, ${result.embeddings?.vectors ?? 0} vectors; ${reported} line(s) reported`);
          return;
        }
        const result = await store.import(file as string, { context: opts.context, merge, batchSize: opts.batchSize });
        print(cmd, result, `imported ${result.records} records (${cellText(result.applied)}) in ${result.workflows.length} workflow(s)`);
      });
    });
}
