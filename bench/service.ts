/**
 * npm run bench -- service [--n 1000000] [--seconds 30] [--connections 50] [--chunk 50000]
 *                          [--store postgres://...] [--replicas N]
 *
 * `--store URL`: a PostgreSQL server (a fresh schema `bench_service_<pid>` of its database, dropped
 * after) instead of a fresh directory; `--replicas N` (default 1): N `serve` processes on that
 * store, the import through the first, the query connections split evenly over all of them (one
 * autocannon per replica; the p99 reported is the highest replica's, which bounds the p99 of all
 * requests from above).
 *
 * The HTTP service under load, on loopback only. The server runs as a child process (`serve` on
 * a fresh store, rate limit off). One client imports N analogies through POST
 * /api/analogies/batch (NDJSON chunks of --chunk lines, one after the other, each answered when
 * committed) while autocannon keeps --connections connections querying
 * GET /api/analogies?domain=<one of the generator's domains>&limit=20 for --seconds (starting
 * once the first chunk is in, so that queries find data). Reports requests/s, latency
 * percentiles, errors and non-2xx answers, and whether the import completed with the exact
 * count. The target: p99 < 50 ms and zero errors. The import's rate is also given while the
 * queries ran and after they ended (from the store's committed count at both ends of the query
 * window), and how long each upload's import paused for the queries (its `workflow_completed`
 * audit entry's `paced`: the service paces imports on a shared store, see workflows/pacer.ts).
 * `server_cpu_ms_per_request`: each server process's CPU time (user + system, from /proc) over
 * the query window per request it answered: what a request costs, less bent by the machine's
 * load than the latency (the first server's includes the import's work).
 * `database_cpu_ms_per_request`: the same for the PostgreSQL backends serving each server's
 * connections (found by client port in pg_stat_activity: `--store` on this machine, Linux).
 */
import { spawn } from 'node:child_process';
import { createReadStream, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { startService } from '../src/service/start.js';
import { generateAnalogy, prng, writeAnalogyFile } from './data.js';
import { argValue, cleanup, dropPgSchema, report, scratchDir } from './util.js';

const HOST = '127.0.0.1';

/** Child mode: `service --serve STORE` serves STORE (a directory or a database URL) and prints its URL as one JSON line. */
async function serveChild(dir: string): Promise<void> {
  const service = await startService({ storeDir: dir, host: HOST, port: 0, rateLimit: false });
  process.stdout.write(JSON.stringify({ url: service.url }) + '\n');
  await new Promise<never>(() => {});
}

/**
 * CPU time (user + system, ms) a process has used so far, from /proc (Linux); null elsewhere.
 * Per request answered, it says what a request costs whatever the machine's load.
 */
function cpuMs(pid: number | undefined): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of stat (11 and 12 after the command), in clock ticks (100 per second on Linux)
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return null;
  }
}

/** The local TCP ports of process `pid`'s sockets (Linux: its fds' socket inodes in /proc/net/tcp and tcp6). */
function localPorts(pid: number): Set<number> {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const link = readlinkSync(`/proc/${pid}/fd/${fd}`);
      if (link.startsWith('socket:[')) inodes.add(link.slice(8, -1));
    } catch {
      // closed meanwhile
    }
  }
  const ports = new Set<number>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length > 9 && inodes.has(cols[9])) ports.add(parseInt(cols[1].split(':')[1], 16));
    }
  }
  return ports;
}

/**
 * CPU time (ms) so far of the PostgreSQL backends that serve each process in `pids` (their
 * connections found by client port in pg_stat_activity; Linux, server on this machine): what the
 * database spends on a replica's requests (the first one's also on the import it runs). Null
 * where it cannot be read.
 */
async function backendCpu(serverUrl: string, pids: Array<number | undefined>): Promise<Array<Map<number, number> | null>> {
  try {
    const ports = pids.map((pid) => (pid === undefined ? new Set<number>() : localPorts(pid)));
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: serverUrl });
    await client.connect();
    try {
      const { rows } = await client.query<{ pid: number; client_port: number }>('SELECT pid, client_port FROM pg_stat_activity WHERE client_port = ANY($1::int[])', [ports.flatMap((p) => [...p])]);
      return ports.map((p) => {
        const cpu = new Map<number, number>();
        for (const r of rows) {
          const ms = p.has(r.client_port) ? cpuMs(r.pid) : null;
          if (ms !== null) cpu.set(r.pid, ms);
        }
        return cpu;
      });
    } finally {
      await client.end();
    }
  } catch {
    return pids.map(() => null);
  }
}

/** CPU (ms) the backends used between two readings (a backend first seen at the end counted from 0). */
function backendCpuSpent(from: Map<number, number> | null, to: Map<number, number> | null): number | null {
  if (from === null || to === null) return null;
  let spent = 0;
  for (const [pid, ms] of to) spent += ms - (from.get(pid) ?? 0);
  return spent;
}

function startServer(dir: string): Promise<{ url: string; pid: number | undefined; stop: () => Promise<number | null> }> {
  const runner = fileURLToPath(new URL('./run.js', import.meta.url));
  const child = spawn(process.execPath, [runner, 'service', '--serve', dir], { env: { ...process.env, LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString('utf8');
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        const { url } = JSON.parse(out.slice(0, nl)) as { url: string };
        resolve({
          url,
          pid: child.pid,
          stop: async () => {
            child.kill('SIGTERM');
            return exited;
          },
        });
      }
    });
    child.once('exit', (code) => reject(new Error(`server exited (${code}) before listening`)));
  });
}

/** The generator's domains (the values `domain=` can match). */
function generatorDomains(): string[] {
  const rand = prng(7);
  const seen = new Set<string>();
  for (let i = 0; i < 2000; i++) {
    const a = generateAnalogy(rand, i);
    seen.add(a.source_domain as string);
    seen.add(a.target_domain as string);
  }
  return [...seen].sort();
}

async function uploadChunk(url: string, file: string, expected: number): Promise<void> {
  const res = await fetch(`${url}/api/analogies/batch`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-ndjson', 'content-length': String(statSync(file).size) },
    body: Readable.toWeb(createReadStream(file, { highWaterMark: 1 << 20 })) as ReadableStream,
    duplex: 'half',
  } as RequestInit);
  const text = await res.text();
  if (res.status !== 201) throw new Error(`batch upload answered ${res.status}: ${text.slice(0, 500)}`);
  const body = JSON.parse(text) as { imported: number; workflow: { status: string } };
  if (body.imported !== expected || body.workflow.status !== 'completed') throw new Error(`batch imported ${body.imported} of ${expected} (${body.workflow.status})`);
}

/** Where the bench's store is: a fresh directory, or a fresh schema of the PostgreSQL server `--store` names. */
async function benchStore(args: string[], dir: string): Promise<{ location: string; drop: () => Promise<void> }> {
  const at = args.indexOf('--store');
  if (at < 0) return { location: join(dir, 'store'), drop: async () => {} };
  const server = args[at + 1] ?? '';
  if (!/^postgres(ql)?:\/\//i.test(server)) throw new Error(`--store must be a postgres:// URL, got '${server}'`);
  const schema = `bench_service_${process.pid}`;
  const url = new URL(server);
  url.searchParams.set('schema', schema);
  return {
    location: url.toString(),
    drop: () => dropPgSchema(server, schema),
  };
}

type LoadResult = autocannon.Result;

export default async function service(args: string[]): Promise<void> {
  const serveAt = args.indexOf('--serve');
  if (serveAt >= 0) return serveChild(args[serveAt + 1]);

  const n = argValue(args, 'n', 1_000_000);
  const seconds = argValue(args, 'seconds', 30);
  const connections = argValue(args, 'connections', 50);
  const chunk = argValue(args, 'chunk', 50_000);
  const replicaCount = argValue(args, 'replicas', 1);
  const dir = scratchDir('service');
  const where = await benchStore(args, dir);
  try {
    // The import's data, written before the load starts so that generating it does not compete
    // with the query client for this process's event loop.
    const chunks: Array<{ file: string; count: number }> = [];
    for (let i = 0, c = 0; i < n; i += chunk, c++) {
      const count = Math.min(chunk, n - i);
      const file = join(dir, `chunk-${c}.jsonl`);
      await writeAnalogyFile(file, count, 42 + c);
      chunks.push({ file, count });
    }
    const replicas: Array<Awaited<ReturnType<typeof startServer>>> = [];
    // The first creates the store; the others open it.
    replicas.push(await startServer(where.location));
    for (let i = 1; i < replicaCount; i++) replicas.push(await startServer(where.location));
    const server = replicas[0];
    const domains = generatorDomains();
    try {
      const t0 = performance.now();
      await uploadChunk(server.url, chunks[0].file, chunks[0].count);
      let imported = chunks[0].count;
      let importedDuringQueries = 0;
      let querying = true;
      const importing = (async () => {
        for (const c of chunks.slice(1)) {
          await uploadChunk(server.url, c.file, c.count);
          imported += c.count;
          if (querying) importedDuringQueries += c.count;
        }
        return (performance.now() - t0) / 1000;
      })();
      importing.catch(() => {});
      // Committed analogies, read from the store: the import's rate while queries run and after.
      const committed = async () => ((await (await fetch(`${server.url}/status`)).json()) as { counts: { analogies_active: number } }).counts.analogies_active;
      const queriesFrom = { at: performance.now(), count: await committed() };
      const cpuFrom = replicas.map((r) => cpuMs(r.pid));
      const serverUrl = args[args.indexOf('--store') + 1];
      const dbCpuFrom = args.includes('--store') ? await backendCpu(serverUrl, replicas.map((r) => r.pid)) : null;

      const loads: LoadResult[] = await Promise.all(
        replicas.map((r, i) =>
          autocannon({
            url: r.url,
            connections: Math.floor(connections / replicas.length) + (i < connections % replicas.length ? 1 : 0),
            duration: seconds,
            // Bounded in count too: at most 100k requests per second over the duration.
            amount: undefined,
            maxOverallRequests: seconds * 100_000,
            timeout: 10,
            requests: domains.map((d) => ({ method: 'GET' as const, path: `/api/analogies?domain=${encodeURIComponent(d)}&limit=20` })),
          } as autocannon.Options),
        ),
      );
      querying = false;
      const cpuTo = replicas.map((r) => cpuMs(r.pid));
      const dbCpuTo = dbCpuFrom === null ? null : await backendCpu(serverUrl, replicas.map((r) => r.pid));
      const analogiesWhenQueriesEnded = imported;
      const queriesTo = { at: performance.now(), count: await committed() };
      const importSeconds = await importing;
      const importEnd = performance.now();

      const status = (await (await fetch(`${server.url}/status`)).json()) as { counts: { analogies_active: number } };
      const verify = (await (await fetch(`${server.url}/api/verify`)).json()) as { valid: boolean };
      // How long each upload's import yielded to the queries (the service paces imports on a shared store).
      const completed = (await (await fetch(`${server.url}/api/audit?event=workflow_completed&limit=1000`)).json()) as { entries: Array<{ paced?: { pauses: number; paused_ms: number } }> };
      const paced = completed.entries.map((e) => e.paced).filter((p) => p !== undefined);
      const exitCodes = [];
      for (const r of replicas) exitCodes.push(await r.stop());
      const count = status.counts.analogies_active;
      const sum = (f: (l: LoadResult) => number) => loads.reduce((s, l) => s + f(l), 0);
      const errors = sum((l) => l.errors + l.timeouts + l.non2xx);
      const p99 = Math.max(...loads.map((l) => l.latency.p99));
      report('service', {
        n,
        store: replicaCount > 1 || where.location.includes('://') ? `${where.location.replace(/\/\/[^@/]*@/, '//')} x ${replicas.length} replicas` : 'directory',
        cpus: (await import('node:os')).availableParallelism(),
        queries: {
          connections,
          seconds: Math.max(...loads.map((l) => l.duration)),
          requests: sum((l) => l.requests.total),
          requests_per_second: Math.round(sum((l) => l.requests.average)),
          latency_ms: loads.length === 1
            ? { p50: loads[0].latency.p50, p90: loads[0].latency.p90, p99: loads[0].latency.p99, max: loads[0].latency.max, mean: loads[0].latency.mean }
            : { p99_highest_replica: p99, per_replica: loads.map((l) => ({ p50: l.latency.p50, p90: l.latency.p90, p99: l.latency.p99, max: l.latency.max })) },
          errors: sum((l) => l.errors),
          timeouts: sum((l) => l.timeouts),
          non_2xx: sum((l) => l.non2xx),
          query: `/api/analogies?domain=<${domains.length} domains in turn>&limit=20`,
          // Each server process's CPU time over the query window per request it answered (the
          // first one's includes the import it runs).
          server_cpu_ms_per_request: loads.map((l, i) => {
            const [from, to] = [cpuFrom[i], cpuTo[i]];
            return from === null || to === null || l.requests.total === 0 ? null : +((to - from) / l.requests.total).toFixed(3);
          }),
          // The same for the PostgreSQL backends serving each replica's connections (a server
          // database on this machine; the first one's include the import's).
          database_cpu_ms_per_request: dbCpuFrom === null || dbCpuTo === null ? null : loads.map((l, i) => {
            const spent = backendCpuSpent(dbCpuFrom[i], dbCpuTo[i]);
            return spent === null || l.requests.total === 0 ? null : +(spent / l.requests.total).toFixed(3);
          }),
        },
        import: {
          chunk,
          seconds: +importSeconds.toFixed(2),
          per_second: Math.round(n / importSeconds),
          imported_while_querying: importedDuringQueries,
          per_second_while_querying: Math.round((queriesTo.count - queriesFrom.count) / ((queriesTo.at - queriesFrom.at) / 1000)),
          per_second_after_queries: queriesTo.count < n ? Math.round((n - queriesTo.count) / ((importEnd - queriesTo.at) / 1000)) : null,
          in_store_when_queries_ended: analogiesWhenQueriesEnded,
          store_count: count,
          exact: count === n,
          verify_valid: verify.valid,
          paused_ms_per_upload: paced.length > 0 ? paced.map((p) => p.paused_ms).reverse() : null,
        },
        server_exit_codes: exitCodes,
        target: { p99_under_50ms: p99 < 50, zero_errors: errors === 0, met: p99 < 50 && errors === 0 && count === n },
      });
    } catch (err) {
      for (const r of replicas) await r.stop();
      throw err;
    }
  } finally {
    cleanup(dir);
    await where.drop();
  }
}
