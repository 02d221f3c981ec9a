/**
 * Replica takeover (issue 15): two `softlogic serve` replicas on one PostgreSQL store, an import
 * of N analogies with their own ids through replica A (processed in the background), A killed
 * with SIGKILL once it has committed a fraction of them; replica B's takeover loop claims the
 * workflow once A's lease runs out and finishes it.
 *
 *   npm run bench -- takeover [--n 1000000] [--batch 2000] [--lease 20] [--kill-at 0.5]
 *
 * Reports seconds from the kill to the takeover (B's `workflow_resumed` audit entry) and to the
 * workflow's completion, each also as a ratio: the takeover to the lease (the configured bound:
 * at most 1.25 leases), B's processing rate after the takeover to A's before the kill (the same
 * work on the same machine in the same run). Checks that exactly N analogies are there.
 *
 * Runs in a database of its own (softlogic_bench_takeover_<pid>) on SOFTLOGIC_BENCH_PG_URL
 * (default postgres://root@127.0.0.1:5432/test), dropped at the end.
 */
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { Readable } from 'node:stream';
import pg from 'pg';
import { writeAnalogyFile } from './data.js';
import { argValue, cleanup, report, scratchDir } from './util.js';
import { getJson, startReplica, waitFor, type Replica } from '../test/replica-harness.js';

const SERVER = process.env.SOFTLOGIC_BENCH_PG_URL ?? 'postgres://root@127.0.0.1:5432/test';

interface Wf {
  status: string;
  items_processed: number;
  items_total: number;
}

export default async function run(args: string[]): Promise<void> {
  const n = argValue(args, 'n', 1_000_000);
  const batch = argValue(args, 'batch', 2000);
  const lease = argValue(args, 'lease', 20);
  const killAt = argValue(args, 'kill-at', 0.5);
  const dir = scratchDir('takeover');
  const name = `softlogic_bench_takeover_${process.pid}`;
  const admin = new pg.Client({ connectionString: SERVER });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(SERVER);
  url.pathname = `/${name}`;
  const replicas: Replica[] = [];
  try {
    const file = join(dir, 'analogies.jsonl');
    const bytes = await writeAnalogyFile(file, n, 42, 'uuid4');
    const env = { SOFTLOGIC_LEASE_SECONDS: String(lease), SOFTLOGIC_UPLOAD_LIMIT: String(bytes + 1024 * 1024) };
    const b = await startReplica('B', url.toString(), env, dir);
    replicas.push(b);
    const a = await startReplica('A', url.toString(), env, dir);
    replicas.push(a);
    const workflow = async (): Promise<Wf> => (await getJson<Wf>(`${b.base}/api/workflows/wf-bench`)).body;

    const t0 = performance.now();
    const body = Readable.toWeb(createReadStream(file)) as unknown as ReadableStream<Uint8Array>;
    const init = { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body, duplex: 'half' } as RequestInit;
    const staged = await fetch(`${a.base}/api/analogies/batch?async=true&batch_size=${batch}&workflow_id=wf-bench`, init);
    if (staged.status !== 202) throw new Error(`upload: HTTP ${staged.status} ${await staged.text()}`);
    const stageS = (performance.now() - t0) / 1000;
    const t1 = performance.now();
    await waitFor('A to reach the kill point', async () => ((await workflow()).items_processed >= n * killAt ? true : undefined), 3_600_000, 20);
    await a.kill();
    const killed = Date.now();
    const tKill = performance.now();
    const atKill = (await workflow()).items_processed;
    const aRate = atKill / ((tKill - t1) / 1000);

    const resumed = await waitFor('B to take it over', async () => {
      const audit = await getJson<{ entries: Array<{ event: string; time: string }> }>(`${b.base}/api/audit?workflow_id=wf-bench`);
      return audit.body.entries.find((e) => e.event === 'workflow_resumed');
    }, 600_000, 50);
    const takeoverS = (Date.parse(resumed.time) - killed) / 1000;
    const done = await waitFor('B to finish it', async () => {
      const wf = await workflow();
      return wf.status === 'processing' ? undefined : wf;
    }, 3_600_000, 100);
    const completeS = (performance.now() - tKill) / 1000;
    const total = (await getJson<{ total: number }>(`${b.base}/api/analogies?limit=1&total=true`)).body.total;
    const bRate = (n - atKill) / (completeS - takeoverS);
    report('takeover', {
      n,
      batch,
      lease_s: lease,
      stage_s: +stageS.toFixed(2),
      killed_at_items: atKill,
      a_items_per_s: Math.round(aRate),
      takeover_s: +takeoverS.toFixed(2),
      takeover_vs_lease: +(takeoverS / lease).toFixed(3),
      complete_s_after_kill: +completeS.toFixed(2),
      b_items_per_s_after_takeover: Math.round(bRate),
      b_rate_vs_a: +(bRate / aRate).toFixed(3),
      status: done.status,
      items_processed: done.items_processed,
      analogies: total,
      exact: done.status === 'completed' && done.items_processed === n && total === n,
      loadavg: loadavg().map((l) => +l.toFixed(2)),
    });
  } finally {
    for (const r of replicas) await r.kill();
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
    cleanup(dir);
  }
}
