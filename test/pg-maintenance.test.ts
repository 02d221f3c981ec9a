/**
 * Maintenance on PostgreSQL and moving a store between backends, through the public Store and
 * the CLI (--json): backup of a PostgreSQL store (a portable backup of one snapshot, safe while
 * writers run), restore of either backend's backup into either backend (--force keeps the old
 * store aside), verify against damage made by SQL, compact, stats, and rebuild's refusal.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { Store } from '../src/api/store.js';
import type { Analogy } from '../src/core/records.js';
import { asyncErr, cliErr, cliOk, COMMERCE_FRAMES_YAML, genAnalogies, tempDir, writeJsonl } from './helpers.js';
import { usePostgres } from './pg-helpers.js';
import { ContainerWriter } from '../src/backend/backup-container.js';
import { GENERATION_CHECK_MS } from '../src/backend/postgres/postgres-contexts.js';
import { claimStaging, stagingSchema } from '../src/backend/postgres/postgres-restore-staging.js';

const db = await usePostgres();
const skip = 'skip' in db ? db.skip : false;
const KINDS = ['concept', 'frame', 'frame_instance', 'frame_relation', 'cluster', 'semantic_field'];

function storeUrl(): string {
  if ('skip' in db) throw new Error(db.skip);
  return db.freshStoreUrl();
}

function schemaOf(url: string): string {
  return new URL(url).searchParams.get('schema') as string;
}

async function sql<T extends pg.QueryResultRow = pg.QueryResultRow>(url: string, text: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url.replace(/\?.*$/, ''), options: `-c search_path=${schemaOf(url)}` });
  await client.connect();
  try {
    return (await client.query<T>(text, params)).rows;
  } finally {
    await client.end();
  }
}

/** A JSON text with sorted keys: PostgreSQL's jsonb keeps its own key order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

interface Picture {
  counts: Record<string, unknown>;
  digest: string;
  history: unknown[];
  workflows: unknown[];
  deleted: string | null;
}

/** What a user sees of a store: counts per context and kind, a digest of every active record, a history, the workflows (their start_seq aside). */
async function picture(s: Store, historyOf: string, deletedId: string): Promise<Picture> {
  const stats = await s.stats();
  const counts: Record<string, unknown> = {};
  for (const c of stats.contexts) {
    counts[c.context] = { parent: c.parent, analogies: c.analogies, entities: Object.fromEntries(Object.entries(c.entities).filter(([, n]) => n.active + n.deleted > 0).sort()) };
  }
  const hash = createHash('sha256');
  for (const c of (await s.contexts.list()).map((x) => x.name).sort()) {
    const lines: string[] = [];
    for await (const a of s.analogies.stream({ context: c })) lines.push(`analogy ${canonical(a)}`);
    for (const kind of KINDS) for await (const r of s.stream(kind, c)) lines.push(`${kind} ${canonical(r)}`);
    hash.update(`${c}\n${lines.sort().join('\n')}\n`);
  }
  const history = (await s.analogies.history(historyOf)).map((h) => canonical(h));
  // start_seq is the backend's own mark in its change log (a restore into a directory starts the workflows before its log: 0)
  const workflows = (await s.workflows.list()).map((w) => ({ ...w, metadata: { ...w.metadata, start_seq: 'mark' } }));
  return { counts, digest: hash.digest('hex'), history, workflows, deleted: (await s.analogies.get(deletedId)).deleted_at };
}

interface Seeded {
  historyOf: string;
  deletedId: string;
  pendingWorkflow: string;
}

/** Analogies with several versions and deletions in two contexts, concepts, frames, a finished and a staged workflow. */
async function seed(s: Store, dir: string): Promise<Seeded> {
  const items = genAnalogies(120, 7, 'pm-');
  await s.analogies.import(writeJsonl(join(dir, 'a.jsonl'), items));
  await s.analogies.save({ ...items[0], tags: ['second'] });
  await s.analogies.save({ ...items[0], tags: ['third'], quality_score: 0.5 });
  await s.analogies.delete(items[1].id);
  await s.analogies.delete(items[2].id);
  await s.analogies.restore(items[2].id);
  await s.contexts.create('shop', { parent: 'default', description: 'a child' });
  await s.analogies.import(writeJsonl(join(dir, 'b.jsonl'), genAnalogies(30, 8, 'shop-')), { context: 'shop' });
  await s.concepts.add({ name: 'river', description: 'flowing water' }, { provider: 'hash' });
  const bank = await s.concepts.add({ name: 'bank', description: 'side of a river' }, { provider: 'hash' });
  await s.concepts.add({ name: 'coin', description: 'money' }, { provider: 'hash', context: 'shop' });
  await s.concepts.delete(bank.id);
  for (const name of ['customer', 'bread', 'coin']) await s.concepts.add({ name, description: `a ${name}` }, { provider: 'hash' });
  writeFileSync(join(dir, 'f.yaml'), COMMERCE_FRAMES_YAML.replaceAll('shop:', 'default:'));
  await s.frames.add(join(dir, 'f.yaml'));
  const staged = await s.analogies.stage(writeJsonl(join(dir, 'c.jsonl'), genAnalogies(25, 9, 'staged-')));
  return { historyOf: items[0].id, deletedId: items[1].id, pendingWorkflow: staged.workflow.workflow_id };
}

describe('PostgreSQL maintenance and moving between backends', { skip }, () => {
  test('embedded -> backup -> PostgreSQL -> backup -> new directory: counts, content, history and workflows equal; the staged workflow runs after', async () => {
    const dir = tempDir();
    const source = await Store.init(join(dir, 'embedded'));
    const seeded = await seed(source, dir);
    const before = await picture(source, seeded.historyOf, seeded.deletedId);
    assert.equal(before.history.length, 3);
    assert.ok(before.workflows.length >= 3);
    const embeddedBackup = await source.backup({ out: join(dir, 'embedded.slbak') });
    await source.close();

    const url = storeUrl();
    const restored = await Store.restore(embeddedBackup.file, url);
    assert.equal(restored.previous_store, null);
    const onPg = await Store.open(url);
    assert.equal(onPg.kind, 'postgres');
    assert.deepEqual(await picture(onPg, seeded.historyOf, seeded.deletedId), before, 'embedded -> PostgreSQL');
    assert.equal((await onPg.verify()).valid, true);
    const pgBackup = await onPg.backup({ out: join(dir, 'pg.slbak') });
    assert.deepEqual(
      pgBackup.contexts.map((c) => [c.name, c.analogies]),
      embeddedBackup.contexts.map((c) => [c.name, c.analogies]),
      'the PostgreSQL backup reports the same counts',
    );
    await onPg.close();

    await Store.restore(pgBackup.file, join(dir, 'back'));
    const back = await Store.open(join(dir, 'back'));
    assert.deepEqual(await picture(back, seeded.historyOf, seeded.deletedId), before, 'PostgreSQL -> embedded');
    assert.equal((await back.verify()).valid, true);
    // The staged workflow came along with its items: it processes in the new store.
    const done = await back.workflows.process(seeded.pendingWorkflow);
    assert.equal(done.status, 'completed');
    assert.equal(done.items_processed, 25);
    assert.equal((await back.analogies.count({})), (before.counts.default as { analogies: { active: number } }).analogies.active + 25);
    await back.close();

    // And PostgreSQL -> PostgreSQL, the staged workflow processed there.
    const url2 = storeUrl();
    await Store.restore(pgBackup.file, url2);
    const pg2 = await Store.open(url2);
    assert.deepEqual(await picture(pg2, seeded.historyOf, seeded.deletedId), before, 'PostgreSQL -> PostgreSQL');
    assert.equal((await pg2.workflows.process(seeded.pendingWorkflow)).items_processed, 25);
    // The rollback journal came along: the first import rolls back to nothing.
    const importWf = (before.workflows as Array<{ workflow_id: string; context: string; workflow_type: string }>).find((w) => w.context === 'shop' && w.workflow_type === 'analogy_creation');
    assert.ok(importWf);
    await pg2.workflows.rollback(importWf.workflow_id);
    assert.equal(await pg2.analogies.count({ context: 'shop' }), 0);
    await pg2.close();
  });

  test('a replica open on the store while restore --force replaces it notices the new store generation: it reads, searches and writes the restored store, not its cached contexts and vectors', async () => {
    const dir = tempDir();
    const names = (words: string[]) => writeJsonl(join(dir, `${words[0]}.jsonl`), words.map((name) => ({ name })));
    // The backup's store: another context first, so 'shop' has another row number there.
    const otherUrl = storeUrl();
    const other = await Store.init(otherUrl);
    await other.concepts.import(names(['apple', 'pear', 'plum']), { context: 'aaa', provider: 'hash' });
    await other.concepts.import(names(['king', 'queen', 'castle', 'knight', 'crown']), { context: 'shop', provider: 'hash' });
    const backup = await other.backup({ out: join(dir, 'other.slbak') });
    await other.close();

    const url = storeUrl();
    const writer = await Store.init(url);
    await writer.concepts.import(names(['king', 'bread', 'coin', 'customer', 'river', 'bank']), { context: 'shop', provider: 'hash' });
    const replica = await Store.open(url);
    const before = (await replica.concepts.similar('king', { context: 'shop', k: 3 })).results.map((r) => r.id);
    assert.equal(before.length, 3);
    assert.ok(before.every((id) => ['shop:bread', 'shop:coin', 'shop:customer', 'shop:river', 'shop:bank'].includes(id)), `the replica searches the first store (${before.join(', ')})`);
    const restored = await Store.restore(backup.file, url, { force: true });
    assert.ok(restored.previous_store);
    await new Promise((resolve) => setTimeout(resolve, GENERATION_CHECK_MS + 100));
    const fresh = await Store.open(url);
    const ids = (rs: Array<{ id: string }>) => rs.map((r) => r.id).sort();
    assert.deepEqual(ids(await replica.concepts.list('shop')), ids(await fresh.concepts.list('shop')), 'the replica lists the restored context');
    assert.deepEqual(ids(await replica.concepts.list('shop')), ['shop:castle', 'shop:crown', 'shop:king', 'shop:knight', 'shop:queen']);
    const similar = (await replica.concepts.similar('king', { context: 'shop', k: 3 })).results;
    assert.deepEqual(similar, (await fresh.concepts.similar('king', { context: 'shop', k: 3 })).results, 'the replica searches the restored vectors');
    assert.ok(similar.every((r) => ['shop:queen', 'shop:castle', 'shop:knight', 'shop:crown'].includes(r.id)));
    await replica.concepts.add({ name: 'throne' }, { context: 'shop' });
    assert.ok(await fresh.concepts.find('throne', 'shop'), "the replica's write lands in the restored 'shop'");
    assert.equal(await fresh.concepts.find('throne', 'aaa'), undefined);
    await Promise.all([replica.close(), fresh.close(), writer.close()]);
  });

  test('CLI --json: backup, verify, stats, restore --store postgres:// (refused over a store without --force, replaced with it), restore into a directory', async () => {
    const dir = tempDir();
    const url = storeUrl();
    cliOk(url, ['init']);
    const items = genAnalogies(40, 11, 'cli-');
    cliOk(url, ['analogies', 'import', writeJsonl(join(dir, 'a.jsonl'), items)]);
    const backup = cliOk(url, ['backup', '--out', join(dir, 'pg.slbak')]);
    assert.equal(backup.contexts.find((c: { name: string }) => c.name === 'default').analogies.active, 40);
    assert.equal(cliOk(url, ['verify']).valid, true);
    const stats = cliOk(url, ['stats']);
    assert.equal(stats.contexts.find((c: { context: string }) => c.context === 'default').analogies.active, 40);
    assert.ok(stats.files.analogies > 0 && stats.total_bytes >= stats.files.analogies);

    const target = storeUrl();
    const restored = cliOk(target, ['restore', backup.file]);
    assert.equal(restored.previous_store, null);
    assert.equal(cliOk(target, ['stats']).contexts.find((c: { context: string }) => c.context === 'default').analogies.active, 40);
    assert.equal(cliErr(target, ['restore', backup.file]).code, 'STORE_EXISTS');
    const forced = cliOk(target, ['restore', backup.file, '--force']);
    assert.match(forced.previous_store, /schema=store_\d+_[0-9a-f]+_old_\d{14}/);
    assert.equal(forced.verify.valid, true);
    const aside = new URL(forced.previous_store).searchParams.get('schema');
    assert.equal((await sql<{ n: number }>(target, `SELECT count(*)::int AS n FROM ${aside}.analogies`))[0]?.n, 40, 'the replaced store is kept aside');

    const restoredDir = cliOk(join(dir, 'd'), ['restore', backup.file]);
    assert.equal(restoredDir.store, join(dir, 'd'));
    assert.equal(cliOk(join(dir, 'd'), ['verify']).valid, true);
    assert.equal(cliOk(join(dir, 'd'), ['stats']).contexts.find((c: { context: string }) => c.context === 'default').analogies.active, 40);
    assert.equal(cliErr(url, ['rebuild']).code, 'INVALID_INPUT');

    // An embedded store's backup into PostgreSQL, by the CLI.
    const embedded = join(dir, 'e');
    cliOk(embedded, ['init']);
    cliOk(embedded, ['analogies', 'import', writeJsonl(join(dir, 'e.jsonl'), genAnalogies(15, 12, 'emb-'))]);
    cliOk(embedded, ['analogies', 'delete', genAnalogies(15, 12, 'emb-')[0].id]);
    const eBackup = cliOk(embedded, ['backup', '--out', join(dir, 'e.slbak')]);
    const fromEmbedded = storeUrl();
    cliOk(fromEmbedded, ['restore', eBackup.file]);
    const counts = cliOk(fromEmbedded, ['stats']).contexts.find((c: { context: string }) => c.context === 'default').analogies;
    assert.deepEqual(counts, { active: 14, deleted: 1 });
    assert.equal(cliOk(fromEmbedded, ['verify']).valid, true);
  });

  test('a damaged backup is refused before anything is written: no schema appears', async () => {
    const dir = tempDir();
    const url = storeUrl();
    const s = await Store.init(url);
    await s.analogies.import(writeJsonl(join(dir, 'a.jsonl'), genAnalogies(30, 3, 'dmg-')));
    const file = (await s.backup({ out: join(dir, 'b.slbak') })).file;
    await s.close();
    const bytes = readFileSync(file);
    const at = bytes.indexOf('"source_domain"') + 20;
    bytes[at] = bytes[at] === 0x41 ? 0x42 : 0x41;
    writeFileSync(join(dir, 'bad.slbak'), bytes);
    const target = storeUrl();
    const err = await asyncErr(() => Store.restore(join(dir, 'bad.slbak'), target));
    assert.equal(err.code, 'BACKUP_INVALID');
    assert.match(err.message, /portable\/records\/default\/000001\.jsonl fails its SHA-256/);
    assert.equal((await sql<{ n: number }>(target, 'SELECT count(*)::int AS n FROM pg_namespace WHERE nspname = $1', [schemaOf(target)]))[0]?.n, 0);
    assert.equal((await asyncErr(() => Store.restore(join(dir, 'bad.slbak'), join(dir, 'into')))).code, 'BACKUP_INVALID');
  });

  test('a crafted portable backup naming a context outside the store, or a schema of other tables, is refused', async () => {
    const dir = tempDir();
    const writer = new ContainerWriter(join(dir, 'evil.slbak'));
    writer.addBuffer('portable/contexts.json', Buffer.from(JSON.stringify([{ name: '../evil', parent: null, description: null, created_at: 'x', purged: [], vector_settings: null }])));
    writer.addBuffer('portable/workflows.jsonl', Buffer.alloc(0));
    writer.finish({ format: 'softlogic-backup', version: 1, layout: 'portable', contexts: [], workflows: {} });
    const target = storeUrl();
    const err = await asyncErr(() => Store.restore(join(dir, 'evil.slbak'), target));
    assert.equal(err.code, 'BACKUP_INVALID');
    assert.match(err.message, /invalid context/);
    assert.equal((await asyncErr(() => Store.restore(join(dir, 'evil.slbak'), join(dir, 'd')))).code, 'BACKUP_INVALID');

    const s = await Store.init(storeUrl());
    await s.analogies.import(writeJsonl(join(dir, 'a.jsonl'), genAnalogies(5, 2, 'x-')));
    const file = (await s.backup({ out: join(dir, 'ok.slbak') })).file;
    await s.close();
    const other = storeUrl();
    await sql(other.replace(/\?.*$/, ''), `CREATE SCHEMA ${schemaOf(other)}; CREATE TABLE ${schemaOf(other)}.unrelated(x int)`);
    const refused = await asyncErr(() => Store.restore(file, other, { force: true }));
    assert.equal(refused.code, 'INVALID_INPUT');
    assert.deepEqual(await sql(other, 'SELECT * FROM unrelated'), [], 'the other tables are left alone');
    // A portable backup replaces a directory store with --force, the old one kept aside.
    const dirStore = await Store.init(join(dir, 'store'));
    await dirStore.close();
    const r = await Store.restore(file, join(dir, 'store'), { force: true });
    assert.match(r.previous_store ?? '', /store\.old-/);
    assert.equal(r.verify?.valid, true);
    const reopened = await Store.open(join(dir, 'store'));
    assert.equal(await reopened.analogies.count({}), 5);
    await reopened.close();
  });

  test('backup while writers run: the file is one snapshot (its counts are what restore finds) and verify passes', async () => {
    const dir = tempDir();
    const url = storeUrl();
    const s = await Store.init(url);
    const items = genAnalogies(200, 5, 'busy-');
    await s.analogies.import(writeJsonl(join(dir, 'a.jsonl'), items));
    let writing = true;
    let writes = 0;
    const writer = (async () => {
      const w = await Store.open(url);
      while (writing) {
        const a = items[writes % items.length];
        await w.analogies.save({ ...a, tags: [`w${writes}`] });
        if (writes % 3 === 0) await w.analogies.delete(items[(writes * 7) % items.length].id).catch(() => undefined);
        writes += 1;
      }
      await w.close();
    })();
    const backups = [];
    for (let i = 0; i < 3; i++) backups.push(await s.backup({ out: join(dir, `b${i}.slbak`) }));
    writing = false;
    await writer;
    assert.ok(writes > 0, 'the writer ran during the backups');
    for (const b of backups) {
      const target = storeUrl();
      const r = await Store.restore(b.file, target, { verify: true });
      assert.equal(r.verify?.valid, true);
      const t = await Store.open(target);
      const stats = await t.stats();
      assert.deepEqual(stats.contexts.find((c) => c.context === 'default')?.analogies, b.contexts.find((c) => c.name === 'default')?.analogies);
      await t.close();
    }
    await s.close();
  });

  describe('verify finds damage made by SQL', () => {
    async function damaged(damage: (url: string, ids: string[]) => Promise<void>): Promise<Awaited<ReturnType<Store['verify']>>> {
      const dir = tempDir();
      const url = storeUrl();
      const s = await Store.init(url);
      const items = genAnalogies(20, 13, 'v-');
      await s.analogies.import(writeJsonl(join(dir, 'a.jsonl'), items));
      for (const a of items.slice(0, 3)) {
        await s.analogies.save({ ...a, tags: ['v2'] });
        await s.analogies.save({ ...a, tags: ['v3'] });
      }
      assert.equal((await s.verify()).valid, true, 'valid before the damage');
      await damage(url, items.map((a) => a.id));
      const report = await s.verify();
      await s.close();
      return report;
    }

    test('a current row whose content differs from its last version', async () => {
      const report = await damaged(async (url, ids) => {
        await sql(url, `UPDATE analogies SET body = jsonb_set(body::jsonb, '{source_domain}', '"forged"')::json WHERE id = $1 AND current`, [ids[0]]);
      });
      assert.equal(report.valid, false);
      assert.ok(report.issues.some((i) => i.check === 'content_mismatch' && i.message.includes(genAnalogies(20, 13, 'v-')[0].id) && /query columns differ/.test(i.message)), JSON.stringify(report.issues));
    });

    test('an older version flagged current instead of the last one', async () => {
      const report = await damaged(async (url, ids) => {
        await sql(url, `UPDATE analogies SET current = (version = 2) WHERE id = $1`, [ids[1]]);
      });
      assert.equal(report.valid, false);
      assert.ok(report.issues.some((i) => i.check === 'content_mismatch' && i.message.includes(`the current row is version 2, its last version is 3`)), JSON.stringify(report.issues));
    });

    test('a missing version', async () => {
      const report = await damaged(async (url, ids) => {
        await sql(url, `DELETE FROM analogies WHERE id = $1 AND version = 2`, [ids[2]]);
      });
      assert.equal(report.valid, false);
      const id = genAnalogies(20, 13, 'v-')[2].id;
      assert.ok(report.issues.some((i) => i.check === 'log_structure' && i.message.includes(id) && /version 3 follows seq \d+, which is missing/.test(i.message)), JSON.stringify(report.issues));
    });

    test('a count mismatch: a record with no current row', async () => {
      const report = await damaged(async (url, ids) => {
        await sql(url, `UPDATE analogies SET current = false WHERE id = $1`, [ids[10]]);
      });
      assert.equal(report.valid, false);
      assert.ok(report.issues.some((i) => i.check === 'count_mismatch' && i.message.includes('has 0 current rows')), JSON.stringify(report.issues));
      assert.ok(report.issues.some((i) => i.check === 'count_mismatch' && /20 active records by their last versions, 19 active current rows/.test(i.message)), JSON.stringify(report.issues));
    });
  });

  test('a rollback that compaction made unavailable stays unavailable in a restored copy', async () => {
    const dir = tempDir();
    const s = await Store.init(storeUrl());
    const items = genAnalogies(10, 21, 'rb-');
    await s.analogies.import(writeJsonl(join(dir, 'a.jsonl'), items));
    const second = await s.analogies.import(writeJsonl(join(dir, 'b.jsonl'), items.map((a) => ({ ...a, tags: ['again'] }))));
    assert.equal((await s.analogies.history(items[0].id)).length, 2, 'the second import wrote version 2');
    await s.compact('default');
    assert.equal((await asyncErr(() => s.workflows.rollback(second.workflow.workflow_id))).code, 'ROLLBACK_UNAVAILABLE');
    const copy = storeUrl();
    await Store.restore((await s.backup({ out: join(dir, 'c.slbak') })).file, copy);
    await s.close();
    const t = await Store.open(copy);
    assert.equal((await asyncErr(() => t.workflows.rollback(second.workflow.workflow_id))).code, 'ROLLBACK_UNAVAILABLE');
    assert.equal(await t.analogies.count({}), 10);
    assert.equal((await t.verify()).valid, true);
    await t.close();
    await Store.restore(join(dir, 'c.slbak'), join(dir, 'd'));
    const d = await Store.open(join(dir, 'd'));
    assert.equal((await asyncErr(() => d.workflows.rollback(second.workflow.workflow_id))).code, 'ROLLBACK_UNAVAILABLE', 'and in a directory');
    assert.equal(await d.analogies.count({}), 10);
    await d.close();
  });

  test("a workflow restored from PostgreSQL into a directory began before everything there (start_seq 0, not PostgreSQL's commit count): its rollback restores what was there; after a compaction of the copy it is unavailable, as on a store that never moved", async () => {
    const dir = tempDir();
    const s = await Store.init(storeUrl());
    // PostgreSQL's mark counts the context's commits: 40 of one record, compacted to its last
    // version, put it past the sequence of every line the copy's log will hold.
    const x = genAnalogies(1, 22, 'x-')[0] as Analogy;
    for (let i = 0; i < 40; i++) await s.analogies.save({ ...x, tags: [`v${i}`] }, 'k');
    await s.compact('k');
    const items = genAnalogies(10, 23, 'rb-');
    await s.analogies.import(writeJsonl(join(dir, 'a.jsonl'), items), { context: 'k' });
    const second = await s.analogies.import(writeJsonl(join(dir, 'b.jsonl'), items.map((a) => ({ ...a, tags: ['again'] }))), { context: 'k' });
    const id = second.workflow.workflow_id;
    assert.ok(((await s.workflows.get(id)).metadata.start_seq as number) > 40, "the source's mark is past the copy's log (1 + 10 + 10 lines)");
    const backup = await s.backup({ out: join(dir, 'p.slbak') });
    await s.close();
    const tags = async (t: Store) => Promise.all(items.map(async (a) => (await t.analogies.get(a.id, 'k')).tags));

    await Store.restore(backup.file, join(dir, 'd1'));
    const d1 = await Store.open(join(dir, 'd1'));
    assert.equal((await d1.workflows.get(id)).metadata.start_seq, 0);
    assert.equal((await d1.workflows.rollback(id)).status, 'rolled_back');
    assert.deepEqual(await tags(d1), items.map((a) => a.tags), 'each record as the first import left it');
    await d1.close();

    await Store.restore(backup.file, join(dir, 'd2'));
    const d2 = await Store.open(join(dir, 'd2'));
    await d2.compact('k');
    assert.equal((await asyncErr(() => d2.workflows.rollback(id))).code, 'ROLLBACK_UNAVAILABLE', 'its first versions were compacted away');
    assert.deepEqual(await tags(d2), items.map(() => ['again']), 'nothing undone');
    await d2.close();
    // The same on an embedded store that never moved.
    const native = await Store.init(join(dir, 'native'));
    await native.analogies.import(writeJsonl(join(dir, 'a.jsonl'), items), { context: 'k' });
    const again = await native.analogies.import(writeJsonl(join(dir, 'b.jsonl'), items.map((a) => ({ ...a, tags: ['again'] }))), { context: 'k' });
    await native.compact('k');
    assert.equal((await asyncErr(() => native.workflows.rollback(again.workflow.workflow_id))).code, 'ROLLBACK_UNAVAILABLE');
    await native.close();
  });

  test('staged items no workflow names (a staging that died) are leftovers: removable after the grace, removed by doctor (library and CLI), nothing else touched', async () => {
    const url = storeUrl();
    const store = await Store.init(url);
    try {
      // A real workflow, staged and not processed: its staged items belong to it.
      const staged = await store.workflows.createFromFile(writeJsonl(join(tempDir(), 'w.jsonl'), genAnalogies(30, 11, 'w-')));
      // Two stagings that died before their workflow rows: one long ago, one a moment ago.
      const rows = (id: string, n: number) => sql(url, "INSERT INTO staged_pages(workflow_id, first_item, count, data) VALUES ($1, 0, $3, repeat($2 || E'\\n', $3))", [id, '{"x":1}', n]);
      await rows('dead-staging', 40);
      await rows('recent-staging', 7);
      await sql(url, "UPDATE staged_pages SET staged_at = now() - interval '11 minutes' WHERE workflow_id = 'dead-staging'");
      const listed = await store.leftovers();
      assert.deepEqual(
        listed.map((l) => [l.kind, l.path, l.removable]),
        [
          ['staged_orphan', 'staged_pages/dead-staging', true],
          ['staged_orphan', 'staged_pages/recent-staging', false],
        ],
      );
      assert.equal(listed[0]?.bytes, 40 * '{"x":1}\n'.length);
      assert.deepEqual((await store.stats()).leftovers, listed);
      const report = cliOk(url, ['doctor']) as { removed: Array<{ path: string }>; remaining: Array<{ path: string }> };
      assert.deepEqual(report.removed.map((l) => l.path), ['staged_pages/dead-staging']);
      assert.deepEqual(report.remaining.map((l) => l.path), ['staged_pages/recent-staging']);
      const left = await sql<{ workflow_id: string; n: number }>(url, 'SELECT workflow_id, sum(count)::int AS n FROM staged_pages GROUP BY workflow_id ORDER BY workflow_id');
      assert.deepEqual(left, [{ workflow_id: 'recent-staging', n: 7 }, { workflow_id: staged.workflow_id, n: 30 }].sort((a, b) => (a.workflow_id < b.workflow_id ? -1 : 1)));
      // Nothing removable: doctor removes nothing; the staged workflow still processes whole.
      assert.deepEqual((await store.doctor()).removed, []);
      const done = await store.workflows.process(staged.workflow_id);
      assert.equal(done.items_processed, 30);
      assert.equal(await store.analogies.count({}), 30);
      const audit = await store.audit.list({ event: 'leftovers_removed' });
      assert.equal(audit.length, 1);
    } finally {
      await store.close();
    }
  });

  test("a restore's staging schema is a leftover while its restore holds it, removable once the restore's session is gone: doctor (library and CLI) drops it; a restore refuses a staging schema another session holds", async () => {
    const dir = tempDir();
    const url = storeUrl();
    const store = await Store.init(url);
    const serverUrl = url.replace(/\?.*$/, '');
    const running = new pg.Client({ connectionString: serverUrl });
    await running.connect();
    let ended = false;
    try {
      await store.analogies.import(writeJsonl(join(dir, 'a.jsonl'), genAnalogies(5, 21, 'r-')));
      const schema = schemaOf(url);
      // What a killed restore leaves (its session ended with it), and one still loading (its session holds the schema).
      const killed = stagingSchema(schema, 4000001);
      const live = stagingSchema(schema, 4000002);
      for (const name of [killed, live]) await running.query(`CREATE SCHEMA ${name}; CREATE TABLE ${name}.analogies(id text); INSERT INTO ${name}.analogies SELECT g::text FROM generate_series(1, 1000) g`);
      await claimStaging(running, live, url);
      const listed = await store.leftovers();
      assert.deepEqual(listed.map((l) => [l.kind, l.path, l.owner_pid, l.removable]), [
        ['restore_staging', `../${killed}`, 4000001, true],
        ['restore_staging', `../${live}`, 4000002, false],
      ]);
      assert.ok((listed[0]?.bytes ?? 0) > 0);
      const report = cliOk(url, ['doctor']) as { removed: Array<{ path: string }>; remaining: Array<{ path: string }> };
      assert.deepEqual(report.removed.map((l) => l.path), [`../${killed}`]);
      assert.deepEqual(report.remaining.map((l) => l.path), [`../${live}`]);
      const schemas = async () => (await running.query<{ n: string }>(`SELECT nspname AS n FROM pg_namespace WHERE nspname IN ($1, $2) ORDER BY 1`, [killed, live])).rows.map((r) => r.n);
      assert.deepEqual(await schemas(), [live], 'the killed restore\'s schema is gone, the running one\'s stays');
      // A restore of this process takes the lock of its own staging schema: held elsewhere, it refuses and drops nothing.
      const mine = stagingSchema(schema);
      await running.query(`CREATE SCHEMA ${mine}`);
      await claimStaging(running, mine, url);
      const backup = await store.backup({ out: join(dir, 'b.slbak') });
      const refused = await asyncErr(() => Store.restore(backup.file, url, { force: true }));
      assert.equal(refused.code, 'STORE_BUSY');
      assert.equal((await running.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [mine])).rowCount, 1);
      // The owner's session ends: both are removable, and go.
      await running.end();
      ended = true;
      // The server ends the session (and its locks) just after the client goes.
      for (let i = 0; i < 100 && (await store.leftovers()).some((l) => !l.removable); i++) await new Promise((resolve) => setTimeout(resolve, 20));
      assert.deepEqual((await store.doctor()).removed.map((l) => l.path).sort(), [`../${live}`, `../${mine}`].sort());
      assert.deepEqual(await store.leftovers(), []);
      assert.equal(await store.analogies.count({}), 5, 'the store itself is untouched');
      assert.equal((await store.audit.list({ event: 'leftovers_removed' })).length, 2);
    } finally {
      if (!ended) await running.end();
      await store.close();
    }
  });

  test('compact drops superseded versions and tombstones of one context; stats count and size; rebuild is refused', async () => {
    const dir = tempDir();
    const url = storeUrl();
    const s = await Store.init(url);
    const items = genAnalogies(50, 17, 'c-');
    await s.analogies.import(writeJsonl(join(dir, 'a.jsonl'), items));
    await s.contexts.create('other');
    await s.analogies.import(writeJsonl(join(dir, 'o.jsonl'), genAnalogies(10, 18, 'o-')), { context: 'other' });
    await s.analogies.save({ ...items[0], tags: ['v2'] });
    await s.analogies.delete(items[1].id);
    await s.analogies.delete(items[2].id);
    const before = await s.stats();
    assert.deepEqual(before.contexts.find((c) => c.context === 'default')?.analogies, { active: 48, deleted: 2 });
    assert.ok(before.files.analogies > 0 && before.files.audit > 0);
    const [report] = await s.compact('default');
    assert.equal(report?.context, 'default');
    assert.equal(report?.lines_before, 53);
    assert.equal(report?.records_removed, 5);
    assert.equal(report?.active_records, 48);
    assert.ok((report?.bytes_after ?? 0) < (report?.bytes_before ?? 0));
    const after = await s.stats();
    assert.deepEqual(after.contexts.find((c) => c.context === 'default')?.analogies, { active: 48, deleted: 0 });
    assert.deepEqual(after.contexts.find((c) => c.context === 'other')?.analogies, { active: 10, deleted: 0 });
    assert.equal((await s.analogies.history(items[0].id)).length, 1);
    assert.equal((await asyncErr(() => s.analogies.restore(items[1].id))).code, 'PURGED');
    assert.equal((await sql<{ n: number }>(url, `SELECT count(*)::int AS n FROM analogies WHERE ctx = (SELECT ctx FROM contexts WHERE name = 'other')`))[0]?.n, 10, 'the other context is untouched');
    assert.equal((await s.verify()).valid, true, 'a compacted store verifies');
    const importWf = (await s.workflows.list()).find((w) => w.context === 'default');
    assert.ok(importWf);
    assert.equal((await asyncErr(() => s.workflows.rollback(importWf.workflow_id))).code, 'ROLLBACK_UNAVAILABLE', 'a rollback across the compaction is refused');
    // A copy holds the compacted history as it is: one version each, tombstones gone.
    const copy = storeUrl();
    await Store.restore((await s.backup({ out: join(dir, 'compacted.slbak') })).file, copy);
    const t = await Store.open(copy);
    assert.equal((await t.verify()).valid, true);
    assert.equal((await t.analogies.history(items[0].id)).length, 1);
    assert.equal((await asyncErr(() => t.analogies.restore(items[1].id))).code, 'PURGED');
    assert.equal(await t.analogies.count({}), 48);
    await t.close();
    const err = await asyncErr(() => s.rebuild());
    assert.equal(err.code, 'INVALID_INPUT');
    assert.match(err.message, /embedded backend only: .*nothing to rebuild/);
    const analogies: Analogy[] = await s.analogies.query({ limit: 100 });
    assert.equal(analogies.length, 48);
    await s.close();
  });
});
