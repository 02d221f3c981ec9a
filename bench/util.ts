import { mkdtempSync, readdirSync, readFileSync, statSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';

export function argValue(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
}

export function scratchDir(prefix: string): string {
  return mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), `softlogic-${prefix}-`));
}

export function dirBytes(dir: string): number {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    total += e.isDirectory() ? dirBytes(p) : statSync(p).size;
  }
  return total;
}

export function cleanup(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export function report(name: string, results: Record<string, unknown>): void {
  console.log(JSON.stringify({ bench: name, node: process.version, ...results }, null, 2));
}

/**
 * The process's peak RSS (all its threads) in MB since `reset()`: Linux's VmHWM, which writing 5
 * to /proc/self/clear_refs sets back to the current RSS, so each import of a bench gets its own
 * peak. Where that is refused (or not Linux), the peak since the process started (maxRSS).
 */
export class PeakRss {
  private resettable = true;
  /** the highest peak before the last reset (Linux's maxRSS is set back with VmHWM) */
  private highest = 0;

  reset(): void {
    this.highest = Math.max(this.highest, this.mb());
    try {
      writeFileSync('/proc/self/clear_refs', '5');
    } catch {
      this.resettable = false;
    }
  }

  mb(): number {
    if (this.resettable) {
      try {
        const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
        if (kb) return Math.round(Number(kb[1]) / 1024);
      } catch {
        // not Linux
      }
    }
    return Math.round(process.resourceUsage().maxRSS / 1024);
  }

  /** The process's peak since it started, resets notwithstanding. */
  overall(): number {
    return Math.max(this.highest, this.mb());
  }
}

/** Drops a scratch PostgreSQL schema (CASCADE) on `server`, with a connection of its own. */
export async function dropPgSchema(server: string, schema: string): Promise<void> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: server });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await client.end();
  }
}
