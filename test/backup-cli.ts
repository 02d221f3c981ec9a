/**
 * The CLI the backup tests run: dist/src/cli/main.js once it registers the backup commands,
 * until then this entry (main's program plus registerBackupCommands), so the suite runs either way.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';

const here = dirname(fileURLToPath(import.meta.url));
const MAIN = resolve(here, '../src/cli/main.js');

export function backupCliPath(): string {
  return existsSync(MAIN) && readFileSync(MAIN, 'utf8').includes('registerBackupCommands') ? MAIN : fileURLToPath(import.meta.url);
}

async function run(argv: string[]): Promise<number> {
  const { registerStoreCommands } = await import('../src/cli/commands/store-commands.js');
  const { registerAnalogyCommands } = await import('../src/cli/commands/analogy-commands.js');
  const { registerWorkflowCommands } = await import('../src/cli/commands/workflow-commands.js');
  const { registerBackupCommands } = await import('../src/cli/commands/backup-commands.js');
  const { reportError } = await import('../src/cli/output.js');
  const program = new Command('softlogic').option('--store <dir>').option('--json').exitOverride();
  registerStoreCommands(program);
  registerAnalogyCommands(program);
  registerWorkflowCommands(program);
  registerBackupCommands(program);
  const json = argv.includes('--json');
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      const cause = (err as CommanderError & { cause?: unknown }).cause;
      if (cause) return reportError(cause, json);
      if (json) process.stdout.write(JSON.stringify({ error: { code: 'INVALID_INPUT', message: err.message, details: {} } }) + '\n');
      return 2;
    }
    return reportError(err, json);
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) process.exitCode = await run(process.argv.slice(2));
