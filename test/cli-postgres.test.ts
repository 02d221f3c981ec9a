/**
 * The CLI on PostgreSQL (`--store postgres://…?schema=…`, `--json`): a representative run of
 * commands, each checked against the store read through the library before and after; the same
 * run on an embedded store prints the same JSON (minted ids, times and the store's name aside);
 * and the commands that only make sense for the embedded store's files refuse clearly.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { Store } from '../src/api/store.js';
import { CLI_PATH, cli, cliErr, cliOk, genAnalogies, tempDir, writeJsonl } from './helpers.js';
import { inScratchDirectory, usePostgres } from './pg-helpers.js';

const db = await usePostgres();
const skip = 'skip' in db ? db.skip : false;
inScratchDirectory();

function freshUrl(): string {
  if ('skip' in db) throw new Error(db.skip);
  return db.freshStoreUrl();
}

/** Reads the store through the library (a second client of the same database). */
async function withLibrary<T>(url: string, fn: (s: Store) => Promise<T>): Promise<T> {
  const store = await Store.open(url, { resume: false });
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

describe('CLI on PostgreSQL', { skip }, () => {
  test('init, contexts, analogies import / query / get / delete / restore, workflows, stream | head, concepts, export / import', async () => {
    const url = freshUrl();
    const dir = tempDir();
    assert.deepEqual(cliOk(url, ['init']), { store: url, created: true });
    assert.equal(cliErr(url, ['init']).code, 'STORE_EXISTS');
    assert.deepEqual(await withLibrary(url, async (s) => (await s.contexts.list()).map((c) => c.name)), ['default']);

    const created = cliOk(url, ['contexts', 'create', 'shop', '--description', 'things sold']);
    assert.deepEqual([created.name, created.description, created.parent], ['shop', 'things sold', null]);
    assert.deepEqual(cliOk(url, ['contexts', 'list']).contexts.map((c: { name: string }) => c.name), ['default', 'shop']);

    const items = genAnalogies(120, 91, 'cli-');
    const imported = cliOk(url, ['analogies', 'import', writeJsonl(join(dir, 'a.jsonl'), items), '--batch-size', '25']);
    assert.deepEqual([imported.workflow.status, imported.workflow.items_processed, imported.imported], ['completed', 120, 120]);
    const good = items.filter((a) => a.quality_score >= 0.7).sort((a, b) => b.quality_score - a.quality_score);
    const queried = cliOk(url, ['analogies', 'query', '--min-quality', '0.7', '--limit', '500']);
    const ids = (queried.analogies ?? queried.results ?? queried) as Array<{ id: string; quality_score: number }>;
    assert.deepEqual(ids.map((a) => a.id).sort(), good.map((a) => a.id).sort());
    assert.deepEqual(ids.map((a) => a.quality_score), good.map((a) => a.quality_score), 'best quality first');
    assert.deepEqual(await withLibrary(url, async (s) => (await s.analogies.query({ min_quality: 0.7, limit: 500 })).map((a) => a.id)), ids.map((a) => a.id));

    const one = items[7];
    const got = cliOk(url, ['analogies', 'get', one.id]);
    assert.deepEqual([got.id, got.source_domain, got.quality_score, got.version], [one.id, one.source_domain, one.quality_score, 1]);
    const deleted = cliOk(url, ['analogies', 'delete', one.id]);
    assert.equal(deleted.version, 2);
    assert.ok(deleted.deleted_at);
    assert.equal(await withLibrary(url, (s) => s.analogies.count({})), 119);
    assert.equal(cliErr(url, ['analogies', 'delete', one.id]).code, 'ALREADY_DELETED');
    assert.equal(cliOk(url, ['analogies', 'restore', one.id]).deleted_at, null);
    assert.deepEqual((await withLibrary(url, (s) => s.analogies.history(one.id))).map((h) => h.version), [3, 2, 1]);

    const listed = cliOk(url, ['workflows', 'list']);
    const workflows = (listed.workflows ?? listed) as Array<{ workflow_id: string }>;
    assert.deepEqual(workflows.map((w) => w.workflow_id), [imported.workflow.workflow_id]);
    assert.deepEqual(cliOk(url, ['workflows', 'show', imported.workflow.workflow_id]), await withLibrary(url, (s) => s.workflows.get(imported.workflow.workflow_id)));
    const staged = cliOk(url, ['workflows', 'create', writeJsonl(join(dir, 'b.jsonl'), genAnalogies(30, 92, 'later-')), '--workflow-id', 'cli-pending']);
    assert.equal((staged.workflow ?? staged).status, 'pending');
    assert.equal(cliOk(url, ['workflows', 'cancel', 'cli-pending']).status, 'cancelled');
    assert.equal(await withLibrary(url, (s) => s.analogies.count({})), 120, 'a cancelled pending workflow applies nothing');
    const rolledBack = cliOk(url, ['workflows', 'rollback', imported.workflow.workflow_id]);
    assert.equal(rolledBack.status, 'rolled_back');
    assert.equal(rolledBack.records_deleted, 120, 'every record it created (a delete and restore since left one as it wrote it)');
    assert.equal(await withLibrary(url, (s) => s.analogies.count({})), 0);
    assert.equal(cliErr(url, ['workflows', 'show', 'no-such-workflow']).code, 'WORKFLOW_NOT_FOUND');

    // A stream cut short by its reader (`| head`) ends quietly, with the first lines whole.
    const many = genAnalogies(3000, 93, 'many-');
    cliOk(url, ['analogies', 'import', writeJsonl(join(dir, 'c.jsonl'), many)]);
    const head = spawnSync('bash', ['-c', `"${process.execPath}" "${CLI_PATH}" --store "${url}" --json analogies stream | head -n 5; echo "status:\${PIPESTATUS[0]}"`], { encoding: 'utf8' });
    const lines = head.stdout.trim().split('\n');
    assert.equal(lines.pop(), 'status:0', head.stderr);
    assert.equal(lines.length, 5);
    for (const line of lines) assert.match((JSON.parse(line) as { id: string }).id, /^many-/);
    assert.equal(head.stderr, '', 'no stack trace on a closed pipe');

    const concept = cliOk(url, ['concepts', 'add', 'bread', '--context', 'shop', '--provider', 'hash', '--synset', 'bread.n.01']);
    assert.equal(concept.id, 'shop:bread:bread.n.01');
    assert.equal((await withLibrary(url, (s) => s.concepts.get(concept.id))).synset_id, 'bread.n.01');
    cliOk(url, ['concepts', 'add', 'butter', '--context', 'shop']);
    assert.deepEqual(cliOk(url, ['concepts', 'similar', 'bread', '--context', 'shop', '--k', '5']).results.map((r: { id: string }) => r.id), ['shop:butter']);

    const out = join(dir, 'export.jsonl');
    const exported = cliOk(url, ['export', '--out', out]);
    assert.deepEqual(exported.counts, { default: { analogy: 3000 }, shop: { concept: 2 } });
    const target = freshUrl();
    cliOk(target, ['init']);
    const again = cliOk(target, ['import', out, '--merge', 'overwrite']);
    assert.equal(again.records, 3002);
    const snapshot = (s: Store) => Promise.all([s.analogies.count({}), s.concepts.list('shop').then((cs) => cs.map((c) => [c.id, c.version]))]);
    assert.deepEqual(await withLibrary(target, snapshot), await withLibrary(url, snapshot));
    const sample = many[1234]?.id as string;
    assert.deepEqual(cliOk(target, ['analogies', 'get', sample]), cliOk(url, ['analogies', 'get', sample]), 'the same record, version and times');
    assert.equal(cliErr(target, ['analogies', 'get', one.id]).code, 'NOT_FOUND', 'a record the rollback deleted is not exported');
  });

  test('the same commands print the same JSON on both backends (minted ids, times and the store name aside)', () => {
    const dir = tempDir();
    const stores = { embedded: join(dir, 'store'), postgres: freshUrl() };
    const items = genAnalogies(40, 95, 'same-').map((a, i) => ({ ...a, metadata: { z: i, a: 'first key z', nested: { y: 1, b: 2 } } }));
    const file = writeJsonl(join(dir, 'a.jsonl'), items);
    const concepts = writeJsonl(join(dir, 'c.jsonl'), [{ name: 'river' }, { name: 'bank', synset: 'bank.n.01' }, { name: 'stream', description: 'a small river' }]);
    writeFileSync(join(dir, 'f.yaml'), 'frames:\n  - name: Flow\n    core_elements: [{name: Fluid}]\n    lexical_units: [flow.v]\n');
    const run: string[][] = [
      ['init'],
      ['contexts', 'create', 'geo', '--description', 'rivers and banks'],
      ['analogies', 'import', file, '--workflow-id', 'same-import', '--batch-size', '7'],
      ['analogies', 'get', items[3]?.id as string],
      ['analogies', 'query', '--domain', items[0]?.source_domain as string, '--limit', '5'],
      ['analogies', 'delete', items[4]?.id as string],
      ['analogies', 'history', items[4]?.id as string],
      ['analogies', 'delete', '--max-quality', '0.3', '--dry-run'],
      ['analogies', 'stream', '--min-quality', '0.5'],
      ['concepts', 'import', concepts, '--context', 'geo', '--provider', 'hash'],
      ['concepts', 'get', 'geo:stream'],
      ['concepts', 'search', 'river', '--context', 'geo'],
      ['concepts', 'similar', 'river', '--context', 'geo', '--k', '2'],
      ['frames', 'add', join(dir, 'f.yaml'), '--context', 'geo'],
      ['stream', 'frame', '--context', 'geo'],
      ['workflows', 'show', 'same-import'],
      ['workflows', 'rollback', 'same-import'],
      ['audit', '--event', 'workflow_rolled_back'],
      ['analogies', 'get', items[3]?.id as string],
    ];
    const normalise = (text: string, store: string) => {
      const ids = new Map<string, string>();
      return text
        .replaceAll(store, '<store>')
        .replaceAll(dir, '<dir>')
        .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/g, '<time>')
        .replace(/"(seconds|start_seq)":[0-9.e-]+/g, '"$1":<n>')
        .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, (id) => {
          if (!ids.has(id)) ids.set(id, `<uuid ${ids.size + 1}>`);
          return ids.get(id) as string;
        });
    };
    for (const args of run) {
      const [embedded, postgres] = (['embedded', 'postgres'] as const).map((kind) => {
        const r = cli(stores[kind], args);
        return { status: r.status, stdout: normalise(r.stdout, stores[kind]) };
      });
      assert.equal(postgres?.status, 0, `softlogic ${args.join(' ')}: ${postgres?.stdout}`);
      assert.deepEqual(postgres, embedded, `softlogic ${args.join(' ')}`);
    }
  });

  test('a backup without --out goes to the work directory\'s backups/ (./softlogic-work/backups), where the library and the service list backups from', async () => {
    const url = freshUrl();
    cliOk(url, ['init']);
    cliOk(url, ['analogies', 'import', writeJsonl(join(tempDir(), 'a.jsonl'), genAnalogies(7, 98, 'bk-'))]);
    const dir = join(process.cwd(), 'softlogic-work', 'backups');
    const viaCli = cliOk(url, ['backup']) as { file: string };
    assert.equal(dirname(viaCli.file), dir);
    const viaLibrary = await withLibrary(url, async (s) => {
      assert.equal(s.backupsDir, dir);
      assert.equal(s.workDir, join(process.cwd(), 'softlogic-work'));
      return s.backup();
    });
    assert.equal(dirname(viaLibrary.file), dir);
    assert.deepEqual(readdirSync(dir).sort(), [basename(viaCli.file), basename(viaLibrary.file)].sort());
    assert.ok(!existsSync(join(process.cwd(), 'backups')), 'nothing in ./backups');
    const copy = freshUrl();
    cliOk(copy, ['restore', viaCli.file]);
    assert.equal(await withLibrary(copy, (s) => s.analogies.count({})), 7);
  });

  test('rebuild (about the embedded store files) refuses with INVALID_INPUT naming the backend, changing nothing; doctor finds nothing on a clean store', async () => {
    const url = freshUrl();
    cliOk(url, ['init']);
    cliOk(url, ['analogies', 'import', writeJsonl(join(tempDir(), 'a.jsonl'), genAnalogies(10, 97, 'keep-'))]);
    for (const args of [['rebuild'], ['rebuild', '--salvage'], ['rebuild', '--truncate-damaged-tail']]) {
      const err = cliErr(url, args);
      assert.equal(err.code, 'INVALID_INPUT', args.join(' '));
      assert.match(err.message, /embedded backend only/, args.join(' '));
      assert.equal(err.details.backend, 'postgres');
    }
    assert.equal(await withLibrary(url, (s) => s.analogies.count({})), 10);
    // the library says the same
    const err = await withLibrary(url, (s) => s.rebuild().then(() => undefined, (e: Error & { code?: string }) => e));
    assert.equal(err?.code, 'INVALID_INPUT');
    // doctor on a clean PostgreSQL store: nothing to remove (its leftovers are orphan staged items, pg-maintenance.test.ts)
    assert.deepEqual(cliOk(url, ['doctor']), { removed: [], remaining: [] });
    assert.equal(await withLibrary(url, (s) => s.analogies.count({})), 10);
  });
});
