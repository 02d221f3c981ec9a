#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { registerStoreCommands } from './commands/store-commands.js';
import { registerAnalogyCommands } from './commands/analogy-commands.js';
import { registerWorkflowCommands } from './commands/workflow-commands.js';
import { registerServeCommand } from './commands/serve-command.js';
import { registerBackupCommands } from './commands/backup-commands.js';
import { registerConceptCommands } from './commands/concept-commands.js';
import { registerEmbeddingCommands } from './commands/embedding-commands.js';
import { registerFrameCommands } from './commands/frame-commands.js';
import { registerFieldCommands } from './commands/field-commands.js';
import { registerStreamCommand } from './commands/stream-command.js';
import { registerWordnetCommands } from './commands/wordnet-commands.js';
import { registerAuditCommand } from './commands/audit-command.js';
import { exitQuietlyOnClosedPipe, reportError } from './output.js';

/** The `softlogic` command: parsing and printing only; every operation is a Store method. */
export function buildProgram(): Command {
  const program = new Command('softlogic')
    .description('knowledge store and reasoning service for soft-logic knowledge')
    .version('0.1.0')
    .option('--store <dir|url>', 'store directory, or postgres://user@host:port/db[?schema=NAME] (default ./softlogic-data or $SOFTLOGIC_STORE)')
    .option('--json', 'print exactly one JSON document (or JSON lines for streams) on stdout')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  registerStoreCommands(program);
  registerAnalogyCommands(program);
  registerWorkflowCommands(program);
  registerServeCommand(program);
  registerStreamCommand(program);
  registerWordnetCommands(program);
  registerBackupCommands(program);
  registerConceptCommands(program);
  registerEmbeddingCommands(program);
  registerFrameCommands(program);
  registerFieldCommands(program);
  registerAuditCommand(program);
  return program;
}

async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  const json = argv.includes('--json');
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0;
      const cause = (err as CommanderError & { cause?: unknown }).cause;
      if (cause) return reportError(cause, json);
      if (json) process.stdout.write(JSON.stringify({ error: { code: 'INVALID_INPUT', message: err.message, details: {} } }) + '\n');
      return 2;
    }
    return reportError(err, json);
  }
}

exitQuietlyOnClosedPipe();
process.exitCode = await main(process.argv.slice(2));
