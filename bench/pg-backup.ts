/**
 * npm run bench -- pg-backup [--n 200000]
 * Backup and restore of N analogies on PostgreSQL beside the embedded store's own (the baseline,
 * same run): seconds and bytes of each backup, seconds of each restore, and the moves between
 * backends (an embedded backup into PostgreSQL, a PostgreSQL backup into a directory), each as a
 * ratio to the embedded figure. Load average before and after.
 *
 * PostgreSQL runs in a database of its own (softlogic_bench_<pid>) on SOFTLOGIC_BENCH_PG_URL
 * (default postgres://root@127.0.0.1:5432/test), dropped at the end.
 */
import { loadavg } from 'node:os';
import pg from 'pg';
import { Store } from '../src/api/store.js';
import { writeAnalogyFile } from './data.js';
import { argValue, cleanup, report, scratchDir } from './util.js';

const SERVER = process.env.SOFTLOGIC_BENCH_PG_URL ?? 'postgres://root@127.0.0.1:5432/test';

async function admin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: SERVER });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; seconds: number }> {
  const t = performance.now();
  const value = await fn();
  return { value, seconds: (performance.now() - t) / 1000 };
}

const ratio = (a: number, b: number) => +(a / b).toFixed(2);
const load = () => loadavg().map((x) => +x.toFixed(2));

export default async function pgBackup(args: string[]): Promise<void> {
  const n = argValue(args, 'n', 200_000);
  const dir = scratchDir('pg-backup');
  const database = `softlogic_bench_${process.pid}`;
  const url = new URL(SERVER);
  url.pathname = `/${database}`;
  const pgUrl = (schema: string) => `${url.toString()}?schema=${schema}`;
  const loadBefore = load();
  await admin(`CREATE DATABASE ${database}`);
  try {
    const file = `${dir}/input.jsonl`;
    await writeAnalogyFile(file, n);
    const embedded = await Store.init(`${dir}/store`);
    await embedded.analogies.import(file);
    const eBackup = await embedded.backup({ out: `${dir}/embedded.slbak` });
    await embedded.close();
    const eRestore = await timed(() => Store.restore(eBackup.file, `${dir}/restored`));

    const toPg = await timed(() => Store.restore(eBackup.file, pgUrl('a')));
    const onPg = await Store.open(pgUrl('a'));
    const pBackup = await onPg.backup({ out: `${dir}/pg.slbak` });
    await onPg.close();
    const pgToPg = await timed(() => Store.restore(pBackup.file, pgUrl('b')));
    const pgToDir = await timed(() => Store.restore(pBackup.file, `${dir}/from-pg`));
    for (const c of [pgToPg.value, pgToDir.value, toPg.value]) {
      const active = c.contexts.find((x) => x.name === 'default')?.analogies.active;
      if (active !== n) throw new Error(`a restore holds ${active} of ${n} analogies`);
    }
    report('pg-backup', {
      n,
      embedded: { backup_seconds: +eBackup.seconds.toFixed(2), backup_mb: +(eBackup.bytes / 1e6).toFixed(1), restore_seconds: +eRestore.seconds.toFixed(2) },
      postgres: {
        backup_seconds: +pBackup.seconds.toFixed(2),
        backup_mb: +(pBackup.bytes / 1e6).toFixed(1),
        restore_pg_backup_into_pg_seconds: +pgToPg.seconds.toFixed(2),
        restore_embedded_backup_into_pg_seconds: +toPg.seconds.toFixed(2),
        restore_pg_backup_into_directory_seconds: +pgToDir.seconds.toFixed(2),
      },
      ratios_to_embedded: {
        backup_time: ratio(pBackup.seconds, eBackup.seconds),
        backup_bytes: ratio(pBackup.bytes, eBackup.bytes),
        restore_pg_into_pg_time: ratio(pgToPg.seconds, eRestore.seconds),
        restore_embedded_into_pg_time: ratio(toPg.seconds, eRestore.seconds),
        restore_pg_into_directory_time: ratio(pgToDir.seconds, eRestore.seconds),
      },
      load_before: loadBefore,
      load_after: load(),
    });
  } finally {
    await admin(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    cleanup(dir);
  }
}
