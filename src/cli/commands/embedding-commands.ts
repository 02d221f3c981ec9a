import type { Command } from 'commander';
import { parseNumber, print, progressBar, withStore } from '../output.js';
import { parseScope, parseSimilarityMethod, type Scope, type SimilarityMethod } from '../../methods/embeddings/reasoning.js';
import { parseEvalMethod, parseMethod, parsePostprocess } from '../../embeddings/index.js';
import { evalAnalogies } from '../../methods/embeddings/reasoning.js';

export function registerEmbeddingCommands(program: Command): void {
  program
    .command('similarity <a> <b>')
    .description('similarity of two concepts (names or ids) or words')
    .option('--context <name>', 'context', 'default')
    .option('--method <m>', 'cosine, euclidean, manhattan or hybrid (cosine + WordNet path similarity)', parseSimilarityMethod, 'cosine' as SimilarityMethod)
    .action((a: string, b: string, opts: { context: string; method: SimilarityMethod }, cmd: Command) =>
      withStore(cmd, async (store) => {
        const r = await store.embeddings.similarity(a, b, opts);
        print(cmd, r, `${r.method} ${r.kind} ${r.score.toFixed(4)}${r.note ? ` (${r.note})` : ''}`);
      }),
    );

  const analogy = program.command('analogy').description('analogy completion a : b :: c : ? and its evaluation');
  analogy
    .command('complete <a> <b> <c>')
    .description('A : B :: C : ? -- the terms X such that A is to B as C is to X (man king woman -> queen)')
    .option('--context <name>', 'context', 'default')
    .option('--k <n>', 'how many answers', parseNumber('k', 1, 10_000, true), 10)
    .option('--method <m>', 'cosadd or cosmul', (v: string) => parseMethod(v), 'cosadd')
    .option('--scope <scope>', 'registry or vocabulary (default: registry; the vocabulary when the registry has no concepts)', parseScope)
    .option('--postprocess <p>', 'none, or abtt (all-but-the-top: the vocabulary\'s mean and top principal components removed; --scope vocabulary)', (v: string) => parsePostprocess(v), 'none')
    .action((a: string, b: string, c: string, opts: { context: string; k: number; method: string; scope?: Scope; postprocess: string }, cmd: Command) =>
      withStore(cmd, async (store) => {
        const r = await store.embeddings.complete(a, b, c, opts);
        print(cmd, r, [...r.trace, ...r.results.map((x) => `${x.score.toFixed(4)}  ${x.id}`)].join('\n'));
      }),
    );
  analogy
    .command('eval <file>')
    .description('accuracy on a questions-words file over the GloVe vocabulary (top N words)')
    .option('--top <n>', 'vocabulary restricted to the N most frequent words', parseNumber('top', 1, 1_000_000, true), 30_000)
    .option('--method <m>', 'cosadd, cosmul, or cosavg (3CosAvg: c + the mean offset of the section\'s other pairs)', (v: string) => parseEvalMethod(v), 'cosadd')
    .option('--postprocess <p>', 'none, or abtt (all-but-the-top on the top N vectors)', (v: string) => parsePostprocess(v), 'none')
    .action((file: string, opts: { top: number; method: string; postprocess: string }, cmd: Command) => {
      const r = evalAnalogies(file, opts);
      print(cmd, r, `${r.method}${r.postprocess === 'none' ? '' : ` (${r.postprocess})`} top ${r.top}: total ${(r.total.accuracy * 100).toFixed(2)}% of ${r.total.seen} (${r.total.skipped} skipped)`);
    });

  const embeddings = program.command('embeddings').description('concept vectors in and out as NumPy .npz');
  embeddings
    .command('export')
    .requiredOption('--out <file>', 'the .npz to write (ids + vectors)')
    .option('--context <name>', 'context', 'default')
    .action((opts: { out: string; context: string }, cmd: Command) => withStore(cmd, async (store) => print(cmd, await store.embeddings.export(opts.out, opts.context))));
  embeddings
    .command('import <file>')
    .description('vectors per id into concepts of --context: NAME or ANY:NAME[:SYNSET] (any context, e.g. animal:lion) -> CONTEXT:NAME[:SYNSET]; missing concepts are created')
    .option('--context <name>', 'context', 'default')
    .option('--batch-size <n>', 'items per commit', parseNumber('batch-size', 1, 1_000_000, true))
    .action((file: string, opts: { context: string; batchSize?: number }, cmd: Command) =>
      withStore(cmd, async (store) => {
        const bar = progressBar(cmd);
        if (bar) store.events.on('progress', bar);
        print(cmd, await store.embeddings.import(file, opts.context, opts.batchSize));
      }),
    );
  embeddings
    .command('info')
    .description('provider, dimension and vector index of a context')
    .option('--context <name>', 'context', 'default')
    .action((opts: { context: string }, cmd: Command) =>
      withStore(cmd, async (store) => print(cmd, { context: opts.context, settings: await store.embeddings.settings(opts.context), index: await store.embeddings.index(opts.context) })),
    );
}
