/**
 * Benchmark runner: `npm run bench -- NAME [args]` runs bench/NAME.ts's default export.
 * Every benchmark measures its baseline in the same process and reports ratios.
 */
import { pathToFileURL } from 'node:url';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const [name, ...args] = process.argv.slice(2);
if (!name || !/^[a-z0-9-]+$/.test(name)) {
  console.error('usage: npm run bench -- NAME [args]   (NAME: ingest, stream, workflows, vectors, analogy, service, backup, concepts, wsd, fuzz, fuzz-input, console, pg-copy, pg-drivers, pg-query, takeover)');
  process.exit(2);
}
const file = join(here, `${name}.js`);
if (!existsSync(file)) {
  console.error(`no benchmark named ${name}`);
  process.exit(2);
}
const mod = (await import(pathToFileURL(file).href)) as { default: (args: string[]) => Promise<void> };
await mod.default(args);
