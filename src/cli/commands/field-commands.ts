import type { Command } from 'commander';
import { parseNumber, print, withStore } from '../output.js';
import { cellText } from '../format.js';

export function registerFieldCommands(program: Command): void {
  const fields = program.command('fields').description('concept clusters, semantic fields and cross-domain analogies');
  fields
    .command('discover')
    .description("k-means over the context's concept vectors; stores clusters and fields (a cluster_update workflow)")
    .option('--context <name>', 'context', 'default')
    .requiredOption('--k <n>', 'number of clusters', parseNumber('k', 1, 100_000, true))
    .option('--min-coherence <x>', 'drop fields below this coherence', parseNumber('min-coherence', -1, 1), 0)
    .option('--seed <n>', 'k-means++ seed', parseNumber('seed', 0, 2 ** 31, true))
    .action((opts: { context: string; k: number; minCoherence: number; seed?: number }, cmd: Command) =>
      withStore(cmd, async (store) => {
        const r = await store.fields.discover(opts);
        print(cmd, r, r.fields.map((f) => `${f.name} (coherence ${f.coherence}): ${f.core_concepts.join(', ')}`).join('\n'));
      }),
    );
  fields
    .command('list')
    .option('--context <name>', 'context', 'default')
    .action((opts: { context: string }, cmd: Command) => withStore(cmd, async (store) => print(cmd, await store.fields.list(opts.context))));
  fields
    .command('cross-domain')
    .description('analogies between fields whose relation vectors align, stored as analogies')
    .option('--context <name>', 'context', 'default')
    .option('--source <field>', 'source field (name or id)')
    .option('--target <field>', 'target field (name or id)')
    .option('--min-quality <q>', 'minimum quality_score', parseNumber('min-quality', 0, 1), 0.4)
    .option('--max <n>', 'at most N analogies per field pair', parseNumber('max', 1, 1000, true))
    .action((opts: { context: string; source?: string; target?: string; minQuality: number; max?: number }, cmd: Command) =>
      withStore(cmd, async (store) => {
        const r = await store.fields.crossDomain({ ...opts, maxAnalogies: opts.max });
        print(cmd, r, r.analogies.map((a) => `${a.quality_score.toFixed(3)} ${a.source_domain} -> ${a.target_domain}: ${cellText(a.concept_mappings)}`).join('\n') || '(none found)');
      }),
    );
}
