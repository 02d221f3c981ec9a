/**
 * npm run bench -- pg-query --store postgres://... [--n 200000] [--queries 3000] [--limit 20]
 *
 * What one page query (GET /api/analogies?domain=D&limit=L, the service bench's query) costs
 * PostgreSQL: a fresh schema of the `--store` database (dropped after) with N generated
 * analogies, then `--queries` domain pages (the generator's domains in turn) through the
 * backend's record reader on one connection, and the CPU time of that connection's backend
 * (from /proc: the server on this machine, Linux) per query, with the wall time and this
 * process's CPU. Twice on the same connection, alternately in four rounds: as the store runs
 * them (prepared statements, planned once per connection), and the baseline with
 * `plan_cache_mode = force_custom_plan` (the same statements planned at every execution, as they
 * were while the page's LIMIT and OFFSET were bound parameters). Also reports the statements'
 * generic and custom plan counts (pg_prepared_statements).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Store } from '../src/api/store.js';
import { createPool, parsePostgresUrl } from '../src/backend/postgres/postgres-connection.js';
import { PostgresContexts } from '../src/backend/postgres/postgres-contexts.js';
import { PostgresRecordReader } from '../src/backend/postgres/postgres-record-reader.js';
import { parseFilter } from '../src/methods/analogies/filter.js';
import { generateAnalogy, prng, writeAnalogyFile } from './data.js';
import { argValue, cleanup, dropPgSchema, report, scratchDir } from './util.js';

/** CPU time (ms, user + system) of process `pid` so far, from /proc. */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

export default async function pgQuery(args: string[]): Promise<void> {
  const at = args.indexOf('--store');
  const server = at >= 0 ? (args[at + 1] ?? '') : '';
  if (!/^postgres(ql)?:\/\//i.test(server)) throw new Error('pg-query needs --store postgres://...');
  const n = argValue(args, 'n', 200_000);
  const queries = argValue(args, 'queries', 3000);
  const limit = argValue(args, 'limit', 20);
  const schema = `bench_pg_query_${process.pid}`;
  const url = new URL(server);
  url.searchParams.set('schema', schema);
  const dir = scratchDir('pg-query');
  try {
    const file = join(dir, 'analogies.jsonl');
    await writeAnalogyFile(file, n, 42);
    const store = await Store.init(url.toString());
    try {
      await store.analogies.import(file);
    } finally {
      await store.close();
    }
    const rand = prng(7);
    const domains = [...new Set(Array.from({ length: 2000 }, (_, i) => generateAnalogy(rand, i).source_domain as string))].sort();

    const pool = createPool(parsePostgresUrl(url.toString()), { max: 1 });
    try {
      const reader = new PostgresRecordReader(pool, new PostgresContexts(pool));
      const { rows } = (await pool.query('SELECT pg_backend_pid() AS pid')) as { rows: Array<{ pid: number }> };
      const backend = rows[0].pid;
      await pool.query('ANALYZE analogies');
      const page = (i: number) => reader.queryAnalogyJson(parseFilter({ domain: domains[i % domains.length], limit }));
      for (let i = 0; i < 50; i++) await page(i);
      const run = async (mode: 'auto' | 'force_custom_plan') => {
        await pool.query(`SET plan_cache_mode = ${mode}`);
        const [db0, self0, t0] = [cpuMs(backend), process.cpuUsage(), performance.now()];
        for (let i = 0; i < queries; i++) await page(i);
        const [db1, self1, t1] = [cpuMs(backend), process.cpuUsage(self0), performance.now()];
        return { wall: (t1 - t0) / queries, db: (db1 - db0) / queries, client: (self1.user + self1.system) / 1000 / queries };
      };
      const rounds: Array<{ planned_once: Awaited<ReturnType<typeof run>>; planned_each_time: Awaited<ReturnType<typeof run>> }> = [];
      for (let r = 0; r < 4; r++) {
        // Alternated, starting with either, so that the machine's load drifts over both alike.
        const first = r % 2 === 0 ? await run('auto') : await run('force_custom_plan');
        const second = r % 2 === 0 ? await run('force_custom_plan') : await run('auto');
        rounds.push(r % 2 === 0 ? { planned_once: first, planned_each_time: second } : { planned_once: second, planned_each_time: first });
      }
      await pool.query('RESET plan_cache_mode');
      const plans = (await pool.query(`SELECT name, generic_plans, custom_plans FROM pg_prepared_statements WHERE name LIKE 'analogy_query_%'`)) as {
        rows: Array<{ name: string; generic_plans: number; custom_plans: number }>;
      };
      const ms = (v: number) => +v.toFixed(3);
      const sum = (f: (r: (typeof rounds)[number]) => number) => rounds.reduce((s, r) => s + f(r), 0);
      report('pg-query', {
        n,
        queries_per_round: queries,
        query: `queryAnalogyJson({ domain: <${domains.length} domains in turn>, limit: ${limit} })`,
        rounds: rounds.map((r) => ({
          planned_once: { wall_ms: ms(r.planned_once.wall), db_cpu_ms: ms(r.planned_once.db), client_cpu_ms: ms(r.planned_once.client) },
          planned_each_time: { wall_ms: ms(r.planned_each_time.wall), db_cpu_ms: ms(r.planned_each_time.db), client_cpu_ms: ms(r.planned_each_time.client) },
        })),
        db_cpu_ratio: ms(sum((r) => r.planned_once.db) / sum((r) => r.planned_each_time.db)),
        wall_ratio: ms(sum((r) => r.planned_once.wall) / sum((r) => r.planned_each_time.wall)),
        statements: plans.rows,
      });
    } finally {
      await pool.end();
    }
  } finally {
    cleanup(dir);
    await dropPgSchema(server, schema);
  }
}
