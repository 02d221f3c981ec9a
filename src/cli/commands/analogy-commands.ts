import type { Command } from 'commander';
import type { AnalogyFilter } from '../../core/schemas.js';
import type { ImportResult } from '../../methods/analogies/import.js';
import { parseNumber, print, progressBar, withStore, writeRecords } from '../output.js';
import { interruptible, reportInterrupted } from '../interrupt.js';

interface FilterFlags {
  context?: string;
  domain?: string;
  minQuality?: number;
  maxQuality?: number;
  tag?: string;
  frameType?: string;
  createdBefore?: string;
  createdAfter?: string;
  limit?: number;
  offset?: number;
}

function toFilter(f: FilterFlags): AnalogyFilter {
  return {
    context: f.context,
    domain: f.domain,
    min_quality: f.minQuality,
    max_quality: f.maxQuality,
    tag: f.tag,
    frame_type: f.frameType,
    created_before: f.createdBefore,
    created_after: f.createdAfter,
    limit: f.limit,
    offset: f.offset,
  };
}

/** How many refused lines' reasons a lenient import prints on stderr (the reasons file has all). */
const PRINTED_REASONS = 10;

/** A lenient import's refused lines, on stderr: the first reasons and how many there are. */
function reportRejected(result: ImportResult): void {
  if (result.rejected === 0) return;
  const shown = result.rejected_reasons.slice(0, PRINTED_REASONS);
  const lines = shown.map((r) => `  line ${r.line ?? '?'}: ${r.field}: ${r.reason}`);
  const more = result.rejected_reasons.length > shown.length || result.rejected > new Set(shown.map((r) => r.line)).size;
  process.stderr.write(
    `${result.rejected} line(s) refused, kept in ${result.rejects_file}; every reason in ${result.reasons_file}:\n${lines.join('\n')}\n` + (more ? '  ...\n' : ''),
  );
}

export function registerAnalogyCommands(program: Command): void {
  const analogies = program.command('analogies').description('import, query, stream, delete and restore analogies');

  analogies
    .command('import <file>')
    .description('import JSON lines or a JSON array (.gz too) as one workflow; strict unless --lenient')
    .option('--context <name>', 'context to import into', 'default')
    .option('--workflow-id <id>', 'id for the workflow (default: a new uuid)')
    .option('--batch-size <n>', 'items per commit', parseNumber('batch-size', 1, 1_000_000, true))
    .option('--lenient', 'commit the valid lines and write the invalid ones to a rejects file')
    .action((file: string, opts: { context: string; workflowId?: string; batchSize?: number; lenient?: boolean }, cmd: Command) =>
      withStore(cmd, async (store) => {
        const bar = progressBar(cmd);
        if (bar) store.events.on('progress', bar);
        const result = await interruptible(store, (interrupt) => store.analogies.import(file, { ...opts, interrupt }));
        reportInterrupted(result.workflow);
        reportRejected(result);
        print(
          cmd,
          result,
          `workflow ${result.workflow.workflow_id} ${result.workflow.status}: ${result.imported} imported` +
            (result.rejected > 0 ? `, ${result.rejected} rejected (written to ${result.rejects_file}, reasons in ${result.reasons_file})` : ''),
        );
      }),
    );

  const filterOptions = (c: Command, withLimit: boolean) => {
    c.option('--context <name>', 'context', 'default')
      .option('--domain <d>', 'source or target domain')
      .option('--min-quality <q>', 'minimum quality_score', parseNumber('min-quality', 0, 1))
      .option('--tag <t>', 'having this tag')
      .option('--created-after <iso>', 'created after this time')
      .option('--created-before <iso>', 'created before this time');
    if (withLimit) c.option('--limit <n>', 'at most N results', parseNumber('limit', 1, 1_000_000, true));
    return c;
  };

  filterOptions(analogies.command('query').description('matching analogies, best quality first (default limit 100)'), true)
    .option('--offset <n>', 'matches to skip, in result order (page n is --offset n*limit)', parseNumber('offset', 0, 1_000_000_000, true))
    .action((opts: FilterFlags, cmd: Command) =>
    withStore(cmd, async (store) => {
      const results = await store.analogies.query(toFilter(opts));
      print(cmd, { count: results.length, offset: opts.offset ?? 0, analogies: results });
    }),
  );

  filterOptions(analogies.command('stream').description('every matching active analogy as JSON lines, in constant memory'), true).action((opts: FilterFlags, cmd: Command) =>
    withStore(cmd, (store) => writeRecords(cmd, 'analogy', store.analogies.streamJson(toFilter(opts)))),
  );

  analogies
    .command('get <id>')
    .option('--context <name>', 'context (falls back to its parents)', 'default')
    .action((id: string, opts: { context: string }, cmd: Command) => withStore(cmd, async (store) => print(cmd, await store.analogies.get(id, opts.context))));

  analogies
    .command('history <id>')
    .description('every version still in the log, newest first')
    .option('--context <name>', 'context', 'default')
    .action((id: string, opts: { context: string }, cmd: Command) =>
      withStore(cmd, async (store) => print(cmd, { id, versions: await store.analogies.history(id, opts.context) })),
    );

  analogies
    .command('restore <id>')
    .description('undo a soft delete (until compaction purges it)')
    .option('--context <name>', 'context', 'default')
    .action((id: string, opts: { context: string }, cmd: Command) => withStore(cmd, async (store) => print(cmd, await store.analogies.restore(id, opts.context))));

  analogies
    .command('delete [id]')
    .description('soft-delete one analogy by id, or every one matching the criteria (a deletion workflow)')
    .option('--context <name>', 'context', 'default')
    .option('--domain <d>', 'source or target domain')
    .option('--max-quality <q>', 'quality_score at most', parseNumber('max-quality', 0, 1))
    .option('--tag <t>', 'having this tag')
    .option('--frame-type <f>', 'having this key in frame_mappings')
    .option('--created-before <iso>')
    .option('--created-after <iso>')
    .option('--batch-size <n>', 'items per commit', parseNumber('batch-size', 1, 1_000_000, true))
    .option('--dry-run', 'only count what would be deleted')
    .action((id: string | undefined, opts: FilterFlags & { dryRun?: boolean; batchSize?: number }, cmd: Command) =>
      withStore(cmd, async (store) => {
        if (id !== undefined) {
          print(cmd, await store.analogies.delete(id, opts.context));
          return;
        }
        const bar = progressBar(cmd);
        if (bar) store.events.on('progress', bar);
        const result = await store.analogies.deleteMatching(toFilter(opts), { dryRun: opts.dryRun, batchSize: opts.batchSize });
        print(cmd, result, result.dry_run ? `${result.matched} analogies match` : `deleted ${result.matched} analogies (workflow ${result.workflow.workflow_id})`);
      }),
    );
}
