import type { Command } from 'commander';
import { withStore, writeRecords } from '../output.js';
import { ENTITY_KINDS } from '../../methods/entities/stream.js';

/** `softlogic stream KIND`: every active record of one kind as JSON lines (analogies: `analogies stream`). */
export function registerStreamCommand(program: Command): void {
  program
    .command('stream <kind>')
    .description(`every active record of one kind as JSON lines, in constant memory (${ENTITY_KINDS.join(', ')})`)
    .option('--context <name>', 'context', 'default')
    .action((kind: string, opts: { context: string }, cmd: Command) => withStore(cmd, (store) => writeRecords(cmd, kind, store.streamJson(kind, opts.context))));
}
