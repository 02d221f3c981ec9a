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

// The records conformance suite (test/conformance/records.ts), on a fresh PostgreSQL store.
if (!skip) recordConformance('postgres', freshBackend);
