import type { Command } from 'commander';
import { wordnet } from '../../reasoning/wordnet.js';
import { print } from '../output.js';

/** WordNet 3.1 look-ups (no store needed): senses of a lemma, one synset, hypernym paths. */
export function registerWordnetCommands(program: Command): void {
  const wn = program.command('wordnet').description('WordNet 3.1 look-ups: senses, glosses, synonyms, hypernyms');
  wn.command('lookup <lemma>')
    .description('the synsets of a lemma, most frequent sense first')
    .option('--pos <p>', 'part of speech: n, v, a, s or r')
    .action((lemma: string, opts: { pos?: string }, cmd: Command) => {
      const synsets = wordnet().synsets(lemma, opts.pos);
      print(cmd, { lemma, synsets }, synsets.map((s) => `${s.id}  ${s.lemmas.join(', ')}\n    ${s.gloss}`).join('\n') || `no synsets for '${lemma}'`);
    });
  wn.command('synset <id>')
    .description('one synset (e.g. king.n.01) with its gloss, synonyms, hypernyms and hypernym paths')
    .action((id: string, _opts: unknown, cmd: Command) => {
      const reader = wordnet();
      const synset = reader.synset(id);
      print(cmd, { ...synset, hypernym_paths: reader.hypernymPaths(synset.id) });
    });
}
