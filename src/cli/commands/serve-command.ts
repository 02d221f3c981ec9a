import type { Command } from 'commander';
import { SoftlogicError } from '../../core/errors.js';
import { defaultStoreLocation } from '../../api/open-store.js';

interface ServeFlags {
  host: string;
  port: string;
  insecure?: boolean;
  store?: string;
}

function parsePort(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 0 || n > 65535) throw new SoftlogicError('INVALID_INPUT', `--port must be an integer in 0..65535, got ${value}`);
  return n;
}

/** `softlogic serve`: the HTTP + WebSocket service on the store (created on first start). */
export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('serve the store over HTTP and WebSockets (REST under /api, OpenAPI at /openapi.json, /docs)')
    .option('--host <host>', 'address to bind', '127.0.0.1')
    .option('--port <port>', 'port to bind', '8321')
    .option('--insecure', 'allow a non-loopback host without SOFTLOGIC_API_KEY')
    .action(async (_opts: unknown, cmd: Command) => {
      const opts = cmd.optsWithGlobals<ServeFlags>();
      // Loaded here: the service (fastify and its plugins) costs every other command's start-up otherwise.
      const { startService } = await import('../../service/start.js');
      const service = await startService({
        storeDir: opts.store ?? defaultStoreLocation(),
        host: opts.host,
        port: parsePort(opts.port),
        insecure: opts.insecure === true,
      });
      process.stderr.write(`softlogic serving ${service.store.root} on ${service.url} (docs at ${service.url}/docs)\n`);
      // Keep running until a signal: startService's handlers close the server and the store.
      await new Promise<never>(() => {});
    });
}
