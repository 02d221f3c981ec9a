import type { Command } from 'commander';
import { parseNumber, print, progressBar, withStore } from '../output.js';
import { parseScope, type Scope } from '../../methods/embeddings/reasoning.js';

export function registerConceptCommands(program: Command): void {
  const concepts = program.command('concepts').description('WordNet-grounded concepts with vectors');

  concepts
    .command('add <name>')
    .description('add a concept (id context:name[:synset]); a name already there gets its next version')
    .option('--context <name>', 'context', 'default')
    .option('--synset <id>', "WordNet synset id (e.g. bank.n.01), or 'auto' for the sense that fits the context (its name, description, parents, concepts; falls back to the most frequent)")
    .option('--description <text>', 'free text')
    .option('--provider <name>', 'embedding provider of the context (glove or hash), recorded on first use')
    .action((name: string, opts: { context: string; synset?: string; description?: string; provider?: string }, cmd: Command) =>
      withStore(cmd, async (store) => {
        const c = await store.concepts.add({ name, synset: opts.synset, description: opts.description }, { context: opts.context, provider: opts.provider });
        const sense = c.sense ? `\nsense ${c.sense.synset_id} (${c.sense.method}): ${c.sense.reason}` : '';
        print(cmd, c, `${c.id} (version ${c.version})${c.embedding?.fallback ? ' [no known word: fallback vector]' : ''}${sense}`);
      }),
    );

  concepts
    .command('senses <word>')
    .description("a word's WordNet senses scored against a context: what --synset auto would choose, and why")
    .option('--context <name>', 'context whose name, description, parents and concepts count as evidence')
    .option('--text <words>', 'further context words (e.g. the description of the concept)')
    .action((word: string, opts: { context?: string; text?: string }, cmd: Command) =>
      withStore(cmd, async (store) => {
        const choice = await store.concepts.senses(word, opts);
        const lines = choice.candidates.map((c) => `${c.synset_id === choice.synset_id ? '*' : ' '} ${c.synset_id}  score ${c.score}  ${c.gloss}`);
        print(cmd, choice, [`${choice.synset_id} (${choice.method}): ${choice.reason}`, ...lines].join('\n'));
      }),
    );

  concepts
    .command('import <file>')
    .description('JSON lines (or a JSON array) of {name, synset?, description?} as one concept_batch workflow')
    .option('--context <name>', 'context', 'default')
    .option('--provider <name>', 'embedding provider of the context (glove or hash)')
    .option('--batch-size <n>', 'items per commit', parseNumber('batch-size', 1, 1_000_000, true))
    .action((file: string, opts: { context: string; provider?: string; batchSize?: number }, cmd: Command) =>
      withStore(cmd, async (store) => {
        const bar = progressBar(cmd);
        if (bar) store.events.on('progress', bar);
        const r = await store.concepts.import(file, opts);
        print(cmd, r, `workflow ${r.workflow.workflow_id} ${r.workflow.status}: ${r.imported} concepts`);
      }),
    );

  concepts
    .command('get <id>')
    .option('--context <name>', 'context to look in (default: the one the id names), falling back to its parents')
    .action((id: string, opts: { context?: string }, cmd: Command) => withStore(cmd, async (store) => print(cmd, await store.concepts.get(id, opts.context))));

  concepts
    .command('search <text>')
    .description('concepts whose name, description, gloss or context contains TEXT')
    .option('--context <name>', 'context (and its parents)', 'default')
    .option('--limit <n>', 'at most N', parseNumber('limit', 1, 1_000_000, true))
    .action((text: string, opts: { context: string; limit?: number }, cmd: Command) =>
      withStore(cmd, async (store) => {
        const results = await store.concepts.search(text, opts);
        print(cmd, { count: results.length, concepts: results });
      }),
    );

  concepts
    .command('list')
    .option('--context <name>', 'context', 'default')
    .option('--include-deleted', 'also deleted concepts')
    .option('--limit <n>', 'at most N', parseNumber('limit', 1, 1_000_000, true))
    .action((opts: { context: string; includeDeleted?: boolean; limit?: number }, cmd: Command) =>
      withStore(cmd, async (store) => {
        const results = await store.concepts.list(opts.context, opts);
        print(cmd, { count: results.length, concepts: results });
      }),
    );

  concepts
    .command('delete <id>')
    .description('soft delete (tombstone + version bump)')
    .option('--context <name>', 'context (default: the one the id names)')
    .action((id: string, opts: { context?: string }, cmd: Command) => withStore(cmd, async (store) => print(cmd, await store.concepts.delete(id, opts.context))));

  concepts
    .command('restore <id>')
    .option('--context <name>', 'context (default: the one the id names)')
    .action((id: string, opts: { context?: string }, cmd: Command) => withStore(cmd, async (store) => print(cmd, await store.concepts.restore(id, opts.context))));

  concepts
    .command('similar <name>')
    .description('nearest concepts of the registry (or words of the vocabulary) by cosine')
    .option('--context <name>', 'context (and its parents)', 'default')
    .option('--k <n>', 'how many', parseNumber('k', 1, 10_000, true), 10)
    .option('--scope <scope>', 'registry or vocabulary', parseScope, 'registry' as Scope)
    .action((name: string, opts: { context: string; k: number; scope: Scope }, cmd: Command) =>
      withStore(cmd, async (store) => {
        const r = await store.concepts.similar(name, opts);
        print(cmd, r, r.results.map((x) => `${x.score.toFixed(4)}  ${x.id}`).join('\n') || '(no results)');
      }),
    );
}
