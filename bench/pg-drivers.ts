/**
 * `pg` (+ pg-copy-streams) against `postgres` (porsager/postgres) on what the PostgreSQL backend
 * does most: COPY a batch in, stream every row's JSON text out through a cursor and through COPY
 * TO STDOUT (binary, as the backend's streams read it), and point reads.
 * Both run in the same process on the same table, each step twice in alternating order, so the
 * ratio is fair on a loaded machine. Point reads are prepared statements in both.
 *
 *   npm run bench -- pg-drivers [--n 200000]
 */
import { loadavg } from 'node:os';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import postgres from 'postgres';
import { copyOutText } from '../src/backend/postgres/postgres-copy-out.js';
import { generateAnalogy, prng } from './data.js';
import { argValue, report } from './util.js';

const SERVER = process.env.SOFTLOGIC_BENCH_PG_URL ?? 'postgres://root@127.0.0.1:5432/test';
const PAGE = 10_000;
const POINT_READS = 2000;

function databaseUrl(name: string): string {
  const url = new URL(SERVER);
  url.pathname = `/${name}`;
  return url.toString();
}

function copyInput(n: number): Buffer[] {
  const rand = prng(7);
  const chunks: Buffer[] = [];
  let text = '';
  for (let i = 0; i < n; i++) {
    text += `id-${i}\t${JSON.stringify({ id: `id-${i}`, ...generateAnalogy(rand, i) }).replace(/\\/g, '\\\\')}\n`;
    if ((i + 1) % PAGE === 0 || i === n - 1) {
      chunks.push(Buffer.from(text));
      text = '';
    }
  }
  return chunks;
}

interface Driver {
  name: string;
  copyIn(table: string, chunks: Buffer[]): Promise<void>;
  streamOut(table: string): Promise<number>;
  /**
   * The stream as the backend reads it: COPY (SELECT body::text ...) TO STDOUT (FORMAT binary),
   * each row decoded to a string (pg only: the postgres driver's COPY readable hung the
   * connection's next query here).
   */
  copyOut?(table: string): Promise<number>;
  pointReads(table: string, n: number, count: number): Promise<void>;
  close(): Promise<void>;
}

function pgDriver(url: string): Driver {
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  return {
    name: 'pg',
    async copyIn(table, chunks) {
      const client = await pool.connect();
      try {
        await pipeline(Readable.from(chunks), client.query(copyFrom(`COPY ${table}(id, body) FROM STDIN`)));
      } finally {
        client.release();
      }
    },
    async streamOut(table) {
      const client = await pool.connect();
      let rows = 0;
      try {
        await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
        await client.query(`DECLARE c NO SCROLL CURSOR FOR SELECT body::text FROM ${table}`);
        for (;;) {
          const page = await client.query<string[]>({ text: `FETCH ${PAGE} FROM c`, rowMode: 'array' });
          rows += page.rows.length;
          if (page.rows.length < PAGE) break;
        }
        await client.query('COMMIT');
      } finally {
        client.release();
      }
      return rows;
    },
    async copyOut(table) {
      const client = await pool.connect();
      let rows = 0;
      try {
        for await (const page of copyOutText(client, `SELECT body::text FROM ${table}`)) rows += page.length;
      } finally {
        client.release();
      }
      return rows;
    },
    async pointReads(table, n, count) {
      for (let i = 0; i < count; i++) await pool.query({ name: `point_${table}`, text: `SELECT body FROM ${table} WHERE id = $1`, values: [`id-${(i * 7919) % n}`] });
    },
    close: () => pool.end(),
  };
}

function postgresDriver(url: string): Driver {
  const sql = postgres(url, { max: 2, onnotice: () => undefined });
  return {
    name: 'postgres',
    async copyIn(table, chunks) {
      const writable = await sql.unsafe(`COPY ${table}(id, body) FROM STDIN`).writable();
      await pipeline(Readable.from(chunks), writable);
    },
    async streamOut(table) {
      let rows = 0;
      await sql.begin('ISOLATION LEVEL REPEATABLE READ READ ONLY', async (tx) => {
        for await (const page of tx.unsafe(`SELECT body::text AS body FROM ${table}`).values().cursor(PAGE)) rows += page.length;
      });
      return rows;
    },
    async pointReads(table, n, count) {
      for (let i = 0; i < count; i++) await sql.unsafe(`SELECT body FROM ${table} WHERE id = $1`, [`id-${(i * 7919) % n}`], { prepare: true });
    },
    close: () => sql.end(),
  };
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return (performance.now() - t0) / 1000;
}

export default async function run(args: string[]): Promise<void> {
  const n = argValue(args, 'n', 200_000);
  const name = `softlogic_bench_drivers_${process.pid}`;
  const admin = new pg.Client({ connectionString: SERVER });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = databaseUrl(name);
  const drivers = [pgDriver(url), postgresDriver(url)];
  try {
    const chunks = copyInput(n);
    const setup = new pg.Client({ connectionString: url });
    await setup.connect();
    for (const d of drivers) for (const round of [1, 2]) await setup.query(`CREATE TABLE t_${d.name}_${round}(id text PRIMARY KEY, body jsonb NOT NULL)`);
    const seconds: Record<string, { copy: number[]; stream: number[]; copyOut: number[]; point: number[] }> = {};
    for (const d of drivers) seconds[d.name] = { copy: [], stream: [], copyOut: [], point: [] };
    // Rounds alternate which driver goes first, so neither always meets a warmer server.
    for (const [round, order] of [[1, drivers], [2, [...drivers].reverse()]] as const) {
      for (const d of order) {
        const table = `t_${d.name}_${round}`;
        const s = seconds[d.name] as { copy: number[]; stream: number[]; copyOut: number[]; point: number[] };
        s.copy.push(await timed(() => d.copyIn(table, chunks)));
        s.stream.push(await timed(async () => {
          const rows = await d.streamOut(table);
          if (rows !== n) throw new Error(`${d.name} streamed ${rows} of ${n}`);
        }));
        if (d.copyOut) s.copyOut.push(await timed(async () => {
          const rows = await d.copyOut?.(table);
          if (rows !== n) throw new Error(`${d.name} copied out ${rows} of ${n}`);
        }));
        s.point.push(await timed(() => d.pointReads(table, n, POINT_READS)));
      }
    }
    await setup.end();
    const best = (xs: number[]) => Math.min(...xs);
    const results: Record<string, unknown> = { n };
    for (const d of drivers) {
      const s = seconds[d.name] as { copy: number[]; stream: number[]; copyOut: number[]; point: number[] };
      results[d.name] = { copy_rows_per_s: Math.round(n / best(s.copy)), stream_rows_per_s: Math.round(n / best(s.stream)), ...(s.copyOut.length > 0 ? { copy_out_rows_per_s: Math.round(n / best(s.copyOut)) } : {}), point_read_ms: +((best(s.point) * 1000) / POINT_READS).toFixed(3) };
    }
    const a = seconds.pg as { copy: number[]; stream: number[]; copyOut: number[]; point: number[] };
    const b = seconds.postgres as { copy: number[]; stream: number[]; copyOut: number[]; point: number[] };
    results.postgres_vs_pg = { copy: +(best(a.copy) / best(b.copy)).toFixed(2), stream: +(best(a.stream) / best(b.stream)).toFixed(2), point: +(best(a.point) / best(b.point)).toFixed(2) };
    // The backend's stream (pg, COPY binary) against the postgres driver's cursor stream.
    results.pg_copy_out_vs_postgres_cursor = +(best(b.stream) / best(a.copyOut)).toFixed(2);
    report('pg-drivers', { ...results, loadavg: loadavg().map((x) => +x.toFixed(2)) });
  } finally {
    for (const d of drivers) await d.close();
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}
