/**
 * The PostgreSQL backend through the backend interface: schema set-up and migration, the write
 * batch (versions, tombstones, restore, atomicity, the prefetch contract) and the record reads
 * (query, count and stream against a brute-force reference). Each test has a store of its own
 * (a schema of this run's database, see pg-helpers.ts).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import pg from 'pg';
import { PostgresBackend } from '../src/backend/postgres/postgres-backend.js';
import { migrate, SCHEMA_VERSION } from '../src/backend/postgres/postgres-schema.js';
import { parsePostgresUrl } from '../src/backend/postgres/postgres-connection.js';
import type { Analogy, AnalogyTombstone } from '../src/core/records.js';
import type { AnalogyFilter } from '../src/core/schemas.js';
import { asyncErr, genAnalogies, matches, type GenAnalogy, type RefFilter } from './helpers.js';
import { usePostgres } from './pg-helpers.js';
import { recordConformance } from './conformance/records.js';
import { StagedLines, encodeStagedLine } from '../src/core/staged-lines.js';
import { StagedDigest } from '../src/core/staged-digest.js';
import type { NewWorkflow } from '../src/backend/workflow-table.js';
import { encodeVector } from '../src/core/vector-codec.js';
import { readFileSync, writeFileSync } from 'node:fs';

const db = await usePostgres();
const skip = 'skip' in db ? db.skip : false;
const opened: PostgresBackend[] = [];
if (!('skip' in db)) db.defer(async () => {
  for (const b of opened) await b.close();
});

async function freshBackend(): Promise<PostgresBackend> {
  if ('skip' in db) throw new Error(db.skip);
  const backend = await PostgresBackend.open(db.freshStoreUrl(), { create: true, max: 4 });
  opened.push(backend);
  return backend;
}

const NOW = '2024-05-01T00:00:00.000Z';

function analogyOf(g: GenAnalogy, version = 1, context = 'default'): Analogy {
  return { ...g, metadata: g.metadata as Analogy['metadata'], context, version, updated_at: g.created_at, deleted_at: null, workflow_id: null };
}

async function putAll(b: PostgresBackend, records: Analogy[], context = 'default'): Promise<void> {
  await b.write(context, (batch) => {
    for (const r of records) batch.change('analogy', 'put', r, undefined, { fresh: true });
  });
}

describe('PostgreSQL backend', { skip }, () => {
  test('a store is created by init, found by open, migrated idempotently, and isolated in its schema', async () => {
    if ('skip' in db) return;
    const url = db.freshStoreUrl();
    assert.equal((await asyncErr(() => PostgresBackend.open(url))).code, 'STORE_NOT_FOUND');
    const created = await PostgresBackend.open(url, { create: true });
    opened.push(created);
    assert.deepEqual((await created.contexts.list()).map((c) => c.name), ['default']);
    const client = new pg.Client({ connectionString: parsePostgresUrl(url).connectionString });
    await client.connect();
    try {
      const again = await migrate(client, parsePostgresUrl(url).schema);
      assert.deepEqual(again, { from: SCHEMA_VERSION, to: SCHEMA_VERSION, applied: [] });
    } finally {
      await client.end();
    }
    const reopened = await PostgresBackend.open(url);
    opened.push(reopened);
    await putAll(reopened, [analogyOf(genAnalogies(1, 1)[0] as GenAnalogy)]);
    assert.equal(await created.records.countAnalogies({}), 1);
    const other = await freshBackend();
    assert.equal(await other.records.countAnalogies({}), 0, 'another schema is another store');
    assert.equal((await asyncErr(() => PostgresBackend.open(`${db.url}?schema=Bad-Name`))).code, 'INVALID_NAME');
  });

  test('versions: put, new version, soft delete (merged tombstone), restore; history keeps them all', async () => {
    const b = await freshBackend();
    const g = genAnalogies(1, 7)[0] as GenAnalogy;
    const v1 = analogyOf(g);
    await putAll(b, [v1]);
    const key = [['analogy', g.id]] as const;
    await b.write(
      'default',
      (batch) => {
        const prev = batch.current<Analogy>('analogy', g.id);
        assert.ok(prev && !prev.deleted && prev.version === 1);
        batch.change('analogy', 'put', { ...prev.record(), quality_score: 0.5, version: 2, updated_at: NOW }, prev);
      },
      { prefetch: key },
    );
    const deletedAt = '2024-05-02T00:00:00.000Z';
    await b.write(
      'default',
      (batch) => {
        const prev = batch.current<Analogy>('analogy', g.id);
        assert.ok(prev);
        const tombstone: AnalogyTombstone = { id: g.id, context: 'default', version: 3, updated_at: deletedAt, deleted_at: deletedAt };
        batch.change('analogy', 'delete', tombstone, prev);
        // the batch sees its own change, merged with the version it deletes
        const now = batch.current<Analogy>('analogy', g.id);
        assert.ok(now?.deleted);
        assert.equal(now.record().quality_score, 0.5);
      },
      { prefetch: key },
    );
    const deleted = await b.records.getAnalogy('default', g.id);
    assert.deepEqual(deleted, { ...v1, quality_score: 0.5, version: 3, updated_at: deletedAt, deleted_at: deletedAt });
    assert.equal(await b.records.countAnalogies({}), 0);
    assert.equal(await b.records.countAnalogies({ include_deleted: true }), 1);
    await b.write(
      'default',
      (batch) => {
        const prev = batch.current<Analogy>('analogy', g.id);
        assert.ok(prev?.deleted);
        batch.change('analogy', 'restore', { ...prev.record(), version: 4, updated_at: NOW, deleted_at: null }, prev);
      },
      { prefetch: key },
    );
    const history = await b.records.history<Analogy>('default', 'analogy', g.id);
    assert.deepEqual(
      history?.map((h) => [h.op, h.record.version, h.record.quality_score, h.record.deleted_at]),
      [
        ['restore', 4, 0.5, null],
        ['delete', 3, 0.5, deletedAt],
        ['put', 2, 0.5, null],
        ['put', 1, g.quality_score, null],
      ],
    );
    const current = await b.records.current<Analogy>('default', 'analogy', g.id);
    assert.equal(current?.version, 4);
    assert.equal(current?.deleted, false);
    assert.deepEqual(await b.records.queryAnalogies({}), [current?.record()]);
  });

  test('a batch is atomic: a throw leaves nothing, and reading a record not prefetched is refused', async () => {
    const b = await freshBackend();
    const [a, c] = genAnalogies(2, 3).map((g) => analogyOf(g));
    await assert.rejects(
      b.write('fresh-context', (batch) => {
        batch.change('analogy', 'put', a as Analogy, undefined, { fresh: true });
        throw new Error('caller failed');
      }),
      /caller failed/,
    );
    assert.equal(await b.contexts.get('fresh-context'), undefined, 'the context the batch created went with it');
    const err = await asyncErr(() =>
      b.write('default', (batch) => {
        batch.change('analogy', 'put', c as Analogy, undefined, { fresh: true });
        batch.current('analogy', 'not-prefetched');
      }),
    );
    assert.equal(err.code, 'INTERNAL');
    assert.equal(await b.records.countAnalogies({ include_deleted: true }), 0);
  });

  test('entities: versions per (context, kind, id), kinds apart', async () => {
    const b = await freshBackend();
    const concept = { id: 'c1', name: 'Bank', version: 1, created_at: NOW, updated_at: NOW, deleted_at: null };
    await b.write('default', (batch) => {
      batch.change('concept', 'put', concept, undefined);
      batch.change('frame', 'put', { ...concept, name: 'Frame' }, undefined);
    }, { prefetch: [['concept', 'c1'], ['frame', 'c1']] });
    await b.write('default', (batch) => {
      const prev = batch.current('concept', 'c1');
      assert.equal(prev?.version, 1);
      batch.change('concept', 'put', { ...concept, name: 'River bank', version: 2 }, prev);
    }, { prefetch: [['concept', 'c1']] });
    assert.deepEqual((await b.records.history<{ name: string }>('default', 'concept', 'c1'))?.map((h) => h.record.name), ['River bank', 'Bank']);
    assert.equal((await b.records.current<{ name: string }>('default', 'frame', 'c1'))?.record().name, 'Frame');
  });

  test('query, count and stream match a brute-force reference, in the embedded order', async () => {
    const b = await freshBackend();
    const data = genAnalogies(600, 11);
    await putAll(b, data.map((g) => analogyOf(g)));
    await putAll(b, genAnalogies(50, 12).map((g) => analogyOf(g, 1, 'other')), 'other');
    const filters: RefFilter[] = [{}, { domain: 'music' }, { min_quality: 0.9 }, { domain: 'war', min_quality: 0.3, max_quality: 0.8 }, { tag: 'gold' }, { frame_type: 'Motion', domain: 'finance' }, { created_after: '2022-01-01T00:00:00.000Z', created_before: '2023-01-01T00:00:00.000Z' }];
    // Written in data order: ties in quality go newest (last written) first.
    const rank = new Map(data.map((g, i) => [g.id, i]));
    for (const f of filters) {
      const expected = data.filter((g) => matches(g, f)).sort((x, y) => y.quality_score - x.quality_score || (rank.get(y.id) as number) - (rank.get(x.id) as number));
      const label = JSON.stringify(f);
      assert.equal(await b.records.countAnalogies(f as AnalogyFilter), expected.length, label);
      const page = await b.records.queryAnalogies({ ...(f as AnalogyFilter), limit: 20, offset: 5 });
      assert.deepEqual(page.map((a) => a.id), expected.slice(5, 25).map((g) => g.id), label);
      const streamed: string[] = [];
      for await (const lines of b.records.streamAnalogyJson(f as AnalogyFilter)) for (const line of lines) streamed.push((JSON.parse(line) as Analogy).id);
      assert.deepEqual(streamed.sort(), expected.map((g) => g.id).sort(), label);
    }
    const first = await b.records.queryAnalogies({ limit: 1 });
    assert.deepEqual(first[0], analogyOf(data.find((g) => g.id === first[0]?.id) as GenAnalogy), 'the stored record comes back as written');
    assert.equal((await asyncErr(() => b.records.queryAnalogies({ context: 'missing' }))).code, 'CONTEXT_NOT_FOUND');
  });

  test('awkward text survives the COPY path: tabs, newlines, backslashes, quotes, braces, unicode', async () => {
    const b = await freshBackend();
    const g = genAnalogies(1, 9)[0] as GenAnalogy;
    const odd = 'tab\there\nnew "line" \\ back\\slash {brace},comma NULL \\N é🙂';
    const record = { ...analogyOf(g), source_domain: odd, tags: [odd, 'plain', 'NULL'], frame_mappings: { [odd]: odd }, metadata: { note: odd } };
    await putAll(b, [record]);
    assert.deepEqual(await b.records.getAnalogy('default', g.id), record);
    assert.equal(await b.records.countAnalogies({ domain: odd, tag: odd, frame_type: odd }), 1);
    assert.equal(await b.records.countAnalogies({ tag: 'NULL' }), 1);
    const concept = { id: 'c-odd', name: odd, version: 1, created_at: NOW, updated_at: NOW, deleted_at: null };
    await b.write('default', (batch) => batch.change('concept', 'put', concept, undefined, { fresh: true }));
    assert.deepEqual(await b.records.queryEntities('default', 'concept', { name: odd }), [concept]);
  });

  test('two replicas updating one record at once serialise: every update lands once, versions 1..n', async () => {
    if ('skip' in db) return;
    const url = db.freshStoreUrl();
    const a = await PostgresBackend.open(url, { create: true, max: 4 });
    const b = await PostgresBackend.open(url, { max: 4 });
    opened.push(a, b);
    const g = genAnalogies(1, 41)[0] as GenAnalogy;
    await putAll(a, [analogyOf(g)]);
    const bump = (backend: PostgresBackend) =>
      backend.write(
        'default',
        (batch) => {
          const prev = batch.current<Analogy>('analogy', g.id);
          assert.ok(prev);
          const record = prev.record();
          batch.change('analogy', 'put', { ...record, version: prev.version + 1, metadata: { bumps: Number(record.metadata.bumps ?? 0) + 1 } }, prev);
        },
        { prefetch: [['analogy', g.id]] },
      );
    await Promise.all(Array.from({ length: 30 }, (_, i) => bump(i % 2 === 0 ? a : b)));
    const current = await b.records.getAnalogy('default', g.id);
    assert.equal(current?.version, 31);
    assert.equal(current?.metadata.bumps, 30);
    const history = await a.records.history<Analogy>('default', 'analogy', g.id);
    assert.deepEqual(history?.map((h) => h.record.version), Array.from({ length: 31 }, (_, i) => 31 - i));
    assert.equal(await a.records.countAnalogies({ include_deleted: true }), 1);
  });

  test('a stream left early gives its connection back in a usable state', async () => {
    const b = await freshBackend();
    await putAll(b, genAnalogies(30, 5).map((g) => analogyOf(g)));
    for (let i = 0; i < 6; i++) {
      for await (const page of b.records.streamAnalogyJson({})) {
        assert.equal(page.length, 30);
        break;
      }
    }
    assert.equal(await b.records.countAnalogies({}), 30);
  });
});

describe('PostgreSQL workflow table', { skip }, () => {
  const workflow = (id: string, fields: Partial<NewWorkflow> = {}): NewWorkflow => ({ workflow_id: id, workflow_type: 'knowledge_import', context: 'default', items_total: 10, metadata: { source: 'test' }, staged_crc: null, ...fields });

  test('insert, find, get, list newest first; a taken id is CONFLICT, a missing one WORKFLOW_NOT_FOUND', async () => {
    const b = await freshBackend();
    await b.workflows.insert(workflow('wf-1'));
    await b.workflows.insert(workflow('wf-2', { workflow_type: 'deletion_batch' }));
    assert.equal((await asyncErr(() => b.workflows.insert(workflow('wf-1')))).code, 'CONFLICT');
    assert.equal((await asyncErr(() => b.workflows.get('wf-none'))).code, 'WORKFLOW_NOT_FOUND');
    assert.equal(await b.workflows.find('wf-none'), undefined);
    const one = await b.workflows.get('wf-1');
    assert.deepEqual(
      { ...one, created_at: '', updated_at: '' },
      { workflow_id: 'wf-1', workflow_type: 'knowledge_import', status: 'pending', context: 'default', created_at: '', updated_at: '', items_total: 10, items_processed: 0, error_count: 0, metadata: { source: 'test' }, error_log: [], error_log_omitted: 0, staged_crc: null, cancel_requested: false, owner_pid: null, holder: 'none' },
    );
    assert.deepEqual((await b.workflows.list()).map((w) => w.workflow_id), ['wf-2', 'wf-1']);
    assert.ok(!('owner_pid' in ((await b.workflows.list())[0] as object)), 'list hides the bookkeeping columns');
    await b.workflows.transition('wf-1', 'processing', process.pid, { metadata: { source: 'moved' } });
    assert.deepEqual((await b.workflows.list('processing')).map((w) => w.workflow_id), ['wf-1']);
    await b.workflows.requestCancel('wf-1');
    assert.equal((await b.workflows.get('wf-1')).cancel_requested, true);
    assert.deepEqual((await b.workflows.get('wf-1')).metadata, { source: 'moved' });
  });

  test('audit since: an entry is filtered by the time written in it, not by when its row went in (as on the embedded store)', async () => {
    const b = await freshBackend();
    // Far ahead of the store's own entries (its context_created).
    const t = Date.parse('2099-01-01T00:00:00.000Z');
    const at = (ms: number) => new Date(t + ms).toISOString();
    const client = new pg.Client({ connectionString: b.where.connectionString, options: `-c search_path=${b.where.schema}` });
    await client.connect();
    try {
      // Written in this order, each row stamped later than the time it carries (a slow insert).
      for (const [ms, event] of [[0, 'first'], [-3, 'earlier-time-later-row'], [5, 'last']] as const) {
        await client.query('INSERT INTO audit(at, entry) VALUES ($1, $2::json)', [at(ms + 50), JSON.stringify({ time: at(ms), event })]);
      }
    } finally {
      await client.end();
    }
    assert.deepEqual((await b.audit.list({ since: at(0) })).map((e) => e.event), ['last', 'first']);
    assert.deepEqual((await b.audit.list({ since: at(-3) })).map((e) => e.event), ['last', 'earlier-time-later-row', 'first']);
    // The same instant written with an offset, and a bare date (UTC, as JavaScript reads it, whatever the server's time zone).
    assert.deepEqual((await b.audit.list({ since: '2099-01-01T02:00:00.004+02:00' })).map((e) => e.event), ['last']);
    assert.equal((await b.audit.list({ since: '2098-12-31' })).length, 3);
    assert.equal((await b.audit.list({ since: '2099-01-01' })).length, 2);
    assert.deepEqual(await b.audit.list({ since: at(6) }), []);
  });

  test('an owner holds a lease; interruptOwnedBy releases what this process owns', async () => {
    const b = await freshBackend();
    await b.workflows.insert(workflow('wf-own'));
    await b.workflows.insert(workflow('wf-other'));
    await b.workflows.transition('wf-own', 'processing', process.pid);
    await b.workflows.transition('wf-other', 'processing', 1);
    const client = new pg.Client({ connectionString: b.where.connectionString, options: `-c search_path=${b.where.schema}` });
    await client.connect();
    try {
      const { rows } = await client.query<{ workflow_id: string; leased: boolean }>(`SELECT workflow_id, owner IS NOT NULL AND lease_until > now() AND heartbeat IS NOT NULL AS leased FROM workflows ORDER BY workflow_id`);
      assert.deepEqual(rows, [{ workflow_id: 'wf-other', leased: true }, { workflow_id: 'wf-own', leased: true }]);
      const interrupted = await b.workflows.interruptOwnedBy(process.pid);
      assert.deepEqual(interrupted.map((w) => [w.workflow_id, w.status, w.owner_pid]), [['wf-own', 'interrupted', null]]);
      const after = await client.query<{ owner: string | null }>(`SELECT owner FROM workflows WHERE workflow_id = 'wf-own'`);
      assert.equal(after.rows[0]?.owner, null);
    } finally {
      await client.end();
    }
    assert.equal((await b.workflows.get('wf-other')).status, 'processing');
  });

  test('leases: one of several replicas claiming wins; the owner renews; an expired lease is taken over and its old owner cannot renew', async () => {
    if ('skip' in db) return;
    const url = db.freshStoreUrl();
    const a = await PostgresBackend.open(url, { create: true, max: 4, leaseSeconds: 0.5 });
    const b = await PostgresBackend.open(url, { max: 4, leaseSeconds: 0.5 });
    const c = await PostgresBackend.open(url, { max: 4, leaseSeconds: 0.5 });
    opened.push(a, b, c);
    await a.workflows.insert(workflow('wf-race'));
    await a.workflows.transition('wf-race', 'processing', null);
    assert.deepEqual((await b.workflows.expired()).map((w) => [w.workflow_id, w.holder]), [['wf-race', 'none']], 'processing with no owner: for anyone to take');
    // Six claims at once from three replicas: exactly one replica holds it after.
    const wins = await Promise.all([a, b, c, a, b, c].map((r) => r.workflows.claim('wf-race')));
    const winners = new Set([a, b, c, a, b, c].filter((_, i) => wins[i]));
    assert.equal(winners.size, 1, `one replica won (${wins.join(',')})`);
    const [owner] = [...winners] as [PostgresBackend];
    const others = [a, b, c].filter((r) => r !== owner);
    assert.equal((await owner.workflows.get('wf-race')).holder, 'self');
    for (const r of others) {
      assert.equal((await r.workflows.get('wf-race')).holder, 'live');
      assert.equal(await r.workflows.claim('wf-race'), false, 'a live lease is not taken');
      assert.equal(await r.workflows.renew('wf-race'), false, 'nor renewed by another');
    }
    // Renewed past its first term: still held.
    for (let i = 0; i < 4; i++) {
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(await owner.workflows.renew('wf-race'), true);
    }
    assert.deepEqual(await others[0]?.workflows.expired(), []);
    // No heartbeat for longer than the lease: gone, and taken over by exactly one.
    await new Promise((r) => setTimeout(r, 700));
    assert.deepEqual((await (others[0] as PostgresBackend).workflows.expired()).map((w) => [w.workflow_id, w.holder]), [['wf-race', 'gone']]);
    const second = await Promise.all(others.map((r) => r.workflows.claim('wf-race')));
    assert.equal(second.filter(Boolean).length, 1);
    assert.equal(await owner.workflows.renew('wf-race'), false, 'the old owner learns it lost the workflow');
    // Finished workflows are nobody's to take.
    await a.workflows.transition('wf-race', 'completed', null);
    assert.deepEqual(await b.workflows.expired(), []);
    assert.equal(await b.workflows.claim('wf-race'), false, 'a completed workflow is not claimed');
    assert.equal(await b.workflows.claim('wf-none'), false, 'nor a missing one');
  });

  test('an import staged to be processed at once is leased from its insert, so no replica takes it before its owner starts', async () => {
    if ('skip' in db) return;
    const url = db.freshStoreUrl();
    const a = await PostgresBackend.open(url, { create: true, max: 2, leaseSeconds: 0.4 });
    const b = await PostgresBackend.open(url, { max: 2, leaseSeconds: 0.4 });
    opened.push(a, b);
    await a.workflows.insert(workflow('wf-auto', { metadata: { auto_process: true }, owner_pid: process.pid }));
    await a.workflows.insert(workflow('wf-manual'));
    assert.equal((await b.workflows.get('wf-auto')).holder, 'live');
    assert.deepEqual(await b.workflows.expired(), [], 'neither the leased import nor a plain pending workflow');
    await new Promise((r) => setTimeout(r, 600));
    assert.deepEqual((await b.workflows.expired()).map((w) => w.workflow_id), ['wf-auto'], 'its owner died before processing it');
  });

  test('errors: at most 100 messages kept, the rest counted', async () => {
    const b = await freshBackend();
    await b.workflows.insert(workflow('wf-err'));
    await b.workflows.addErrors('wf-err', Array.from({ length: 60 }, (_, i) => `e${i}`));
    await b.workflows.addErrors('wf-err', Array.from({ length: 60 }, (_, i) => `f${i}`), 75);
    const wf = await b.workflows.get('wf-err');
    assert.equal(wf.error_count, 135);
    assert.equal(wf.error_log.length, 100);
    assert.deepEqual(wf.error_log.slice(58, 62), ['e58', 'e59', 'f0', 'f1']);
    assert.equal(wf.error_log_omitted, 35);
    assert.equal((await asyncErr(() => b.workflows.addErrors('wf-none', ['x']))).code, 'WORKFLOW_NOT_FOUND');
  });

  test('staged items: written in order as staged, read from any index, digest as the embedded one computes it', async () => {
    const b = await freshBackend();
    const writer = b.workflows.stage('wf-stage');
    const expected: string[] = [];
    for (let i = 0; i < 7000; i++) {
      writer.add({ op: 'put', n: i });
      expected.push(JSON.stringify({ op: 'put', n: i }));
    }
    writer.addJson('{"b":1,  "a":2}');
    expected.push('{"b":1,  "a":2}');
    const encoded = new StagedLines();
    for (let i = 0; i < 3; i++) encoded.add(`{"encoded":${i}}`);
    writer.addEncoded(encoded.bytes(), encoded.count);
    expected.push('{"encoded":0}', '{"encoded":1}', '{"encoded":2}');
    await writer.settled();
    const digest = await writer.finish();
    const reference = new StagedDigest();
    for (const json of expected) reference.update(Buffer.from(encodeStagedLine(json)));
    assert.equal(digest, reference.value());
    assert.equal(await b.workflows.stagedDigest('wf-stage', digest), digest);
    const read: string[] = [];
    for await (const page of b.workflows.readStaged('wf-stage', 6998)) for (const item of page) read.push(`${item.index}:${item.json}`);
    assert.deepEqual(read, expected.slice(6998).map((json, i) => `${6998 + i}:${json}`));
    assert.equal(await b.workflows.hasStaged('wf-stage'), true);
    await b.workflows.dropStaged('wf-stage');
    assert.equal(await b.workflows.hasStaged('wf-stage'), false);
    assert.equal(await b.workflows.stagedDigest('wf-stage', digest), null);
    assert.equal((await asyncErr(async () => {
      for await (const _ of b.workflows.readStaged('wf-stage', 0)) break;
    })).code, 'STAGED_CORRUPT');
    const aborted = b.workflows.stage('wf-abort');
    aborted.add({ x: 1 });
    await aborted.abort();
    assert.equal(await b.workflows.hasStaged('wf-abort'), false);
  });

  test("a batch's progress commits with it; a processor that lost the workflow is CONFLICT with nothing written", async () => {
    const b = await freshBackend();
    await b.workflows.insert(workflow('wf-p'));
    const [x, y] = genAnalogies(2, 21).map((g) => analogyOf(g));
    await b.write('default', (batch) => {
      batch.change('analogy', 'put', x as Analogy, undefined, { fresh: true });
      batch.setProgress({ workflowId: 'wf-p', processedUpTo: 4, processedFrom: 0, errors: ['item 2: refused'] });
    });
    const wf = await b.workflows.get('wf-p');
    assert.deepEqual([wf.items_processed, wf.error_count, wf.error_log], [4, 1, ['item 2: refused']]);
    const err = await asyncErr(() =>
      b.write('default', (batch) => {
        batch.change('analogy', 'put', y as Analogy, undefined, { fresh: true });
        batch.setProgress({ workflowId: 'wf-p', processedUpTo: 4, processedFrom: 0 });
      }),
    );
    assert.equal(err.code, 'CONFLICT');
    assert.equal(await b.records.getAnalogy('default', (y as Analogy).id), undefined);
    assert.equal((await b.workflows.get('wf-p')).items_processed, 4);
  });

  test("changes: what a workflow's batches changed, the version before and the one it left", async () => {
    const b = await freshBackend();
    const [old, fresh] = genAnalogies(2, 31).map((g) => analogyOf(g));
    await putAll(b, [old as Analogy]);
    const before = await b.records.current('default', 'analogy', (old as Analogy).id);
    await b.workflows.insert(workflow('wf-c'));
    const mark = await b.workflows.startMark('default');
    assert.equal(typeof mark, 'number');
    for (let round = 0; round < 2; round++) {
      await b.write(
        'default',
        (batch) => {
          const prev = batch.current<Analogy>('analogy', (old as Analogy).id);
          batch.change('analogy', 'put', { ...prev?.record(), version: (prev?.version ?? 0) + 1, quality_score: round / 10 }, prev);
          if (round === 0) batch.change('analogy', 'put', fresh as Analogy, undefined, { fresh: true });
          batch.setProgress({ workflowId: 'wf-c', processedUpTo: round + 1 });
        },
        { prefetch: [['analogy', (old as Analogy).id]] },
      );
    }
    const changes = await b.workflows.changes(await b.workflows.get('wf-c'));
    assert.equal(changes.complete, true);
    assert.deepEqual(
      changes.changes.map((c) => [c.kind, c.id, c.before?.ref ?? null, c.after.version]),
      [
        ['analogy', (old as Analogy).id, before?.ref, 3],
        ['analogy', (fresh as Analogy).id, null, 1],
      ],
    );
    assert.equal(changes.changes[0]?.after.ref, (await b.records.current('default', 'analogy', (old as Analogy).id))?.ref);
  });
});

describe('PostgreSQL vectors and context files', { skip }, () => {
  const concept = (id: string, vector: number[] | null, version = 1, deleted_at: string | null = null) => ({
    id,
    name: `name ${id}`,
    synset_id: null,
    version,
    created_at: NOW,
    updated_at: NOW,
    deleted_at,
    ...(vector ? { embedding: { provider: 'hash', dimension: vector.length, fallback: false, b64: encodeVector(Float32Array.from(vector)) } } : {}),
  });

  test('vectors follow the concept records in their transaction; a replica catches up by generation', async () => {
    const b = await freshBackend();
    assert.deepEqual(await b.vectors.recordSettings('default', { provider: 'hash', dimension: 2 }), { provider: 'hash', dimension: 2 });
    assert.deepEqual(await b.vectors.recordSettings('default', { provider: 'glove', dimension: 9 }), { provider: 'hash', dimension: 2 }, 'the first settings stay');
    assert.equal(await b.vectors.generation('default'), 0);
    await b.write('default', (batch) => {
      batch.change('concept', 'put', concept('c1', [1, 2]), undefined, { fresh: true });
      batch.change('concept', 'put', concept('c2', [3, 4]), undefined, { fresh: true });
      batch.change('concept', 'put', concept('c3', null), undefined, { fresh: true });
    });
    const g1 = await b.vectors.generation('default');
    assert.ok(g1 > 0);
    assert.equal(await b.vectors.count('default'), 2);
    assert.deepEqual(Array.from((await b.vectors.get('default', 'c2'))?.vector ?? []), [3, 4]);
    const pages = [];
    for await (const page of b.vectors.read('default', { pageSize: 1 })) pages.push([page.ids, Array.from(page.matrix)]);
    assert.deepEqual(pages, [[['c1'], [1, 2]], [['c2'], [3, 4]]]);
    await b.write('default', (batch) => {
      const prev = batch.current<ReturnType<typeof concept>>('concept', 'c1');
      batch.change('concept', 'delete', concept('c1', [1, 2], 2, NOW), prev);
      batch.change('concept', 'put', concept('c3', [5, 6], 2), batch.current('concept', 'c3'));
    }, { prefetch: [['concept', 'c1'], ['concept', 'c3']] });
    const since = await b.vectors.changesSince('default', g1, 10);
    assert.deepEqual(since?.changes.map((c) => [c.id, c.vector && Array.from(c.vector)]).sort(), [['c1', null], ['c3', [5, 6]]]);
    assert.equal(since?.generation, await b.vectors.generation('default'));
    assert.equal(await b.vectors.changesSince('default', g1, 1), undefined, 'more changes than the limit: read it all');
    assert.equal(await b.vectors.count('default'), 2);
  });

  test('context files: whole files replaced atomically, sidecars travel, local paths for path-only libraries', async () => {
    const b = await freshBackend();
    assert.equal(await b.files.read('default', 'embeddings.npz'), undefined);
    await b.files.write('default', 'embeddings.npz', 'npz bytes');
    assert.equal((await b.files.read('default', 'embeddings.npz'))?.toString(), 'npz bytes');
    assert.equal((await asyncErr(() => b.files.write('nowhere', 'embeddings.npz', 'x'))).code, 'CONTEXT_NOT_FOUND');
    await b.files.update('default', ['vectors.index'], (files) => {
      assert.equal(files.read('vectors.index'), undefined);
      files.writeLocal('vectors.index', (path) => {
        writeFileSync(path, 'index');
        writeFileSync(`${path}.meta.json`, '{"labels":1}');
      });
    });
    const seen = await b.files.readLocal('default', 'vectors.index', (path) => [readFileSync(path, 'utf8'), readFileSync(`${path}.meta.json`, 'utf8')]);
    assert.deepEqual(seen, ['index', '{"labels":1}']);
    await assert.rejects(
      b.files.update('default', ['vectors.index'], (files) => {
        files.remove('vectors.index');
        throw new Error('index build failed');
      }),
      /index build failed/,
    );
    assert.equal((await b.files.read('default', 'vectors.index'))?.toString(), 'index', 'a failed update changes nothing');
    await b.files.update('default', ['vectors.index'], (files) => files.remove('vectors.index'));
    assert.equal(await b.files.readLocal('default', 'vectors.index', () => 'called'), undefined);
    assert.match(b.files.location('default', 'embeddings.npz'), /context 'default', file embeddings\.npz/);
  });
});

// The records conformance suite (test/conformance/records.ts), on a fresh PostgreSQL store.
if (!skip) recordConformance('postgres', freshBackend);
