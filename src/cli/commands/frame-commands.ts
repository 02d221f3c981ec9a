import type { Command } from 'commander';
import { print, withStore } from '../output.js';

export function registerFrameCommands(program: Command): void {
  const frames = program.command('frames').description('semantic frames, frame relations and frame instances');
  frames
    .command('add <file>')
    .description('frames, relations and instances from JSON or YAML (a frame_expansion workflow; one bad item refuses the file)')
    .option('--context <name>', 'context', 'default')
    .action((file: string, opts: { context: string }, cmd: Command) => withStore(cmd, async (store) => print(cmd, await store.frames.add(file, opts))));
  frames
    .command('get <name>')
    .option('--context <name>', 'context (and its parents)', 'default')
    .action((name: string, opts: { context: string }, cmd: Command) => withStore(cmd, async (store) => print(cmd, await store.frames.get(name, opts.context))));
  frames
    .command('list')
    .option('--context <name>', 'context (and its parents)', 'default')
    .action((opts: { context: string }, cmd: Command) =>
      withStore(cmd, async (store) => {
        const list = await store.frames.list(opts.context);
        print(cmd, { count: list.length, frames: list });
      }),
    );
  frames
    .command('instances <name>')
    .option('--context <name>', 'context (and its parents)', 'default')
    .action((name: string, opts: { context: string }, cmd: Command) =>
      withStore(cmd, async (store) => {
        const list = await store.frames.instances(name, opts.context);
        print(cmd, { frame: name, count: list.length, instances: list });
      }),
    );
  frames
    .command('query')
    .description('instances binding --element, --concept, or the element to the concept')
    .option('--context <name>', 'context (and its parents)', 'default')
    .option('--element <e>', 'frame element')
    .option('--concept <id>', 'concept id')
    .option('--frame <name>', 'frame name')
    .action((opts: { context: string; element?: string; concept?: string; frame?: string }, cmd: Command) =>
      withStore(cmd, async (store) => {
        const list = await store.frames.query(opts);
        print(cmd, { count: list.length, instances: list });
      }),
    );
  frames
    .command('delete <name>')
    .description('soft-delete a frame (--instance: a frame instance by id)')
    .option('--context <name>', 'context', 'default')
    .option('--instance', 'NAME is a frame instance id')
    .action((name: string, opts: { context: string; instance?: boolean }, cmd: Command) =>
      withStore(cmd, async (store) => print(cmd, opts.instance ? await store.frames.deleteInstance(name, opts.context) : await store.frames.delete(name, opts.context))),
    );
  frames
    .command('restore <name>')
    .option('--context <name>', 'context', 'default')
    .option('--instance', 'NAME is a frame instance id')
    .action((name: string, opts: { context: string; instance?: boolean }, cmd: Command) =>
      withStore(cmd, async (store) => print(cmd, opts.instance ? await store.frames.restoreInstance(name, opts.context) : await store.frames.restore(name, opts.context))),
    );
}
