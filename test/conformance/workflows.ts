/**
 * What every backend must do with workflows, through the public Store API only: create (stage)
 * and process, cancel, roll back to exactly what was there, resume a workflow a dead process
 * left exactly once, delete by criteria (with a dry run), and export/import with each merge
 * strategy. Each case compares the store's content before and after.
 *
 * `workflowConformance(name, openFreshStore)` registers the cases for one backend; a backend's
 * test file calls it (test/backend-workflows.test.ts for the embedded one).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Store } from '../../src/api/store.js';
import type { Analogy } from '../../src/core/records.js';
import { asyncErr, genAnalogies, inputFields, writeJsonl, type GenAnalogy } from '../helpers.js';

type Rec = Record<string, unknown>;

/** A fresh, empty store of the backend under test, and how to dispose of it. */
export interface FreshStore {
  store: Store;
  close(): Promise<void>;
  /** a new store of this backend restored from a backup file (any backend's) */
  restoreInto(file: string): Promise<FreshStore>;
}

/** A record as its user sees it: everything but the version bookkeeping that moves on. */
function contentOf(r: object): Rec {
  const { version: _v, updated_at: _u, ...rest } = r as Rec;
  return rest;
}

async function analogies(s: Store, context = 'default'): Promise<Rec[]> {
  const out: Rec[] = [];
  for await (const a of s.analogies.stream({ context })) out.push(contentOf(a));
  return out.sort((a, b) => String(a.id).localeCompare(String(b.id)));
}

/** Every active record of every kind in a context, by kind, sorted by id (as the user sees them). */
async function snapshot(s: Store, context = 'default'): Promise<Record<string, Rec[]>> {
  const out: Record<string, Rec[]> = { analogy: await analogies(s, context) };
  for (const kind of ['concept', 'frame', 'frame_instance', 'frame_relation', 'cluster', 'semantic_field']) {
    const records: Rec[] = [];
    for await (const r of s.stream(kind, context)) records.push(contentOf(r));
    out[kind] = records.sort((a, b) => String(a.id).localeCompare(String(b.id)));
  }
  return out;
}

function scratch(): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'softlogic-conformance-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

async function withStore(open: () => Promise<FreshStore>, fn: (s: Store, dir: string) => Promise<void>): Promise<void> {
  const fresh = await open();
  const files = scratch();
  try {
    await fn(fresh.store, files.dir);
  } finally {
    await fresh.close();
    files.remove();
  }
}

const byId = (xs: GenAnalogy[]) => [...xs].sort((a, b) => a.id.localeCompare(b.id));

export function workflowConformance(name: string, openFreshStore: () => Promise<FreshStore>): void {
  describe(`workflows conformance: ${name}`, () => {
    test('create stages without applying; process applies every item once; the workflow reports it', async () => {
      await withStore(openFreshStore, async (s, dir) => {
        const items = genAnalogies(250, 11, 'c-');
        const wf = await s.workflows.createFromFile(writeJsonl(join(dir, 'a.jsonl'), items), { workflowId: 'create-1' });
        assert.equal(wf.status, 'pending');
        assert.equal(wf.items_total, 250);
        assert.equal(await s.analogies.count({}), 0, 'staging applies nothing');
        assert.deepEqual(Object.keys(wf).sort(), Object.keys(await s.workflows.get('create-1')).sort(), 'get shows the same columns as create');
        for (const hidden of ['staged_crc', 'cancel_requested', 'owner_pid']) assert.equal(hidden in wf, false, `${hidden} is internal`);
        const done = await s.workflows.process('create-1', { batchSize: 40 });
        assert.equal(done.status, 'completed');
        assert.equal(done.items_processed, 250);
        assert.equal(done.error_count, 0);
        assert.deepEqual(
          (await analogies(s)).map((a) => a.id),
          byId(items).map((a) => a.id),
        );
        for (const a of items.slice(0, 5)) assert.deepEqual(inputFields(await s.analogies.get(a.id)), inputFields(a as unknown as Analogy));
        assert.equal((await asyncErr(() => s.workflows.process('create-1'))).code, 'ILLEGAL_TRANSITION');
        assert.ok((await s.workflows.list('completed')).some((w) => w.workflow_id === 'create-1'));
        assert.equal((await asyncErr(() => s.workflows.createFromFile(writeJsonl(join(dir, 'b.jsonl'), items), { workflowId: 'create-1' }))).code, 'CONFLICT');
      });
    });

    test('cancel of a pending workflow applies nothing and leaves the store as it was', async () => {
      await withStore(openFreshStore, async (s, dir) => {
        await s.analogies.import(writeJsonl(join(dir, 'base.jsonl'), genAnalogies(40, 12, 'b-')));
        const before = await snapshot(s);
        await s.workflows.createFromFile(writeJsonl(join(dir, 'c.jsonl'), genAnalogies(60, 13, 'x-')), { workflowId: 'cancel-1' });
        const cancelled = await s.workflows.cancel('cancel-1');
        assert.equal(cancelled.status, 'cancelled');
        assert.equal(cancelled.items_processed, 0);
        assert.deepEqual(await snapshot(s), before);
        assert.equal((await asyncErr(() => s.workflows.process('cancel-1'))).code, 'ILLEGAL_TRANSITION');
      });
    });

    test('cancel while processing stops at a chunk boundary: whole chunks stay, the rest is not applied, rollback removes them', async () => {
      await withStore(openFreshStore, async (s, dir) => {
        await s.analogies.import(writeJsonl(join(dir, 'base.jsonl'), genAnalogies(30, 14, 'p-')));
        const before = await snapshot(s);
        const items = genAnalogies(400, 15, 'y-');
        await s.workflows.createFromFile(writeJsonl(join(dir, 'c.jsonl'), items), { workflowId: 'cancel-2' });
        let cancelling: Promise<unknown> | undefined;
        const onProgress = (e: { workflow_id: string; items_processed: number }) => {
          if (e.workflow_id === 'cancel-2' && e.items_processed > 0 && !cancelling) cancelling = s.workflows.cancel('cancel-2');
        };
        s.events.on('progress', onProgress);
        const processed = await s.workflows.process('cancel-2', { batchSize: 20 });
        s.events.off('progress', onProgress);
        const cancelled = await cancelling;
        assert.deepEqual(cancelled, processed, 'cancel answers the state the processor left');
        assert.equal(processed.status, 'cancelled');
        const done = processed.items_processed;
        assert.ok(done > 0 && done < 400 && done % 20 === 0, `stopped at a chunk boundary (${done})`);
        assert.equal(await s.analogies.count({}), 30 + done, 'the committed chunks, each whole');
        for (const [i, a] of items.entries()) if (i % 23 === 0) assert.equal((await s.analogies.query({ limit: 1000 })).some((x) => x.id === a.id), i < done, `${a.id}`);
        assert.equal((await asyncErr(() => s.workflows.process('cancel-2'))).code, 'ILLEGAL_TRANSITION');
        const rb = await s.workflows.rollback('cancel-2');
        assert.equal(rb.records_deleted, done);
        assert.deepEqual(await snapshot(s), before);
      });
    });

    test('rollback restores exactly what was there: created records go, updated and deleted ones come back', async () => {
      await withStore(openFreshStore, async (s, dir) => {
        const base = genAnalogies(80, 21, 'r-');
        await s.analogies.import(writeJsonl(join(dir, 'base.jsonl'), base));
        await s.analogies.delete(base[0].id);
        const before = await snapshot(s);
        const changed = base.slice(1, 21).map((a) => ({ ...a, quality_score: 0.321, tags: ['changed'] }));
        const revived = { ...base[0], tags: ['revived'] };
        const fresh = genAnalogies(30, 22, 'n-');
        const r = await s.analogies.import(writeJsonl(join(dir, 'w.jsonl'), [...fresh, ...changed, revived]), { workflowId: 'rb-1', batchSize: 9 });
        assert.equal(r.workflow.status, 'completed');
        assert.notDeepEqual(await snapshot(s), before);
        const rb = await s.workflows.rollback('rb-1');
        assert.equal(rb.status, 'rolled_back');
        assert.deepEqual([rb.records_deleted, rb.records_reverted, rb.records_restored, rb.records_unchanged], [31, 20, 0, 0]);
        assert.deepEqual(await snapshot(s), before);
        assert.equal((await asyncErr(() => s.workflows.rollback('rb-1'))).code, 'ILLEGAL_TRANSITION');

        // A deletion workflow rolled back brings the deleted records back as they were.
        const del = await s.analogies.deleteMatching({ max_quality: 0.5 }, { workflowId: 'rb-2' });
        assert.ok(del.dry_run === false && del.matched > 0);
        const rb2 = await s.workflows.rollback('rb-2');
        assert.equal(rb2.records_restored, del.matched);
        assert.deepEqual(await snapshot(s), before);
      });
    });

    test('rollback refuses, writing nothing, when a record was changed again since', async () => {
      await withStore(openFreshStore, async (s, dir) => {
        const items = genAnalogies(20, 31, 'k-');
        await s.analogies.import(writeJsonl(join(dir, 'a.jsonl'), items), { workflowId: 'rc-1' });
        await s.analogies.save({ ...items[3], quality_score: 0.999 });
        const before = await snapshot(s);
        const err = await asyncErr(() => s.workflows.rollback('rc-1'));
        assert.equal(err.code, 'CONFLICT');
        assert.deepEqual(await snapshot(s), before);
        assert.equal((await s.workflows.get('rc-1')).status, 'completed');
      });
    });

    test('resume finishes a workflow a dead process left processing, applying every item exactly once', async () => {
      await withStore(openFreshStore, async (s, dir) => {
        const items = genAnalogies(300, 41, 'z-');
        await s.workflows.createFromFile(writeJsonl(join(dir, 'a.jsonl'), items), { workflowId: 'res-1' });
        // Stopped at a chunk boundary (a shutdown): the workflow stays processing, partly applied.
        const stop = new AbortController();
        let seen = 0;
        const onProgress = (e: { workflow_id: string; items_processed: number }) => {
          if (e.workflow_id === 'res-1' && e.items_processed > 0 && ++seen === 2) stop.abort();
        };
        s.events.on('progress', onProgress);
        const stopped = await s.workflows.process('res-1', { batchSize: 50, signal: stop.signal });
        s.events.off('progress', onProgress);
        assert.equal(stopped.status, 'processing');
        assert.ok(stopped.items_processed > 0 && stopped.items_processed < 300, `stopped at ${stopped.items_processed}`);
        const resumed = await s.workflows.resume({ batchSize: 50 });
        assert.deepEqual(
          resumed.map((w) => [w.workflow_id, w.status, w.items_processed]),
          [['res-1', 'completed', 300]],
        );
        assert.equal(await s.analogies.count({}), 300);
        for (const a of items.slice(0, 300).filter((_, i) => i % 37 === 0)) assert.equal((await s.analogies.get(a.id)).version, 1, `${a.id} applied once`);
        assert.deepEqual(await s.workflows.resume(), [], 'nothing left to resume');
      });
    });

    test('delete by criteria: the dry run counts, the run deletes exactly the matches', async () => {
      await withStore(openFreshStore, async (s, dir) => {
        const items = genAnalogies(200, 51, 'd-');
        await s.analogies.import(writeJsonl(join(dir, 'a.jsonl'), items));
        const matching = items.filter((a) => a.quality_score <= 0.4).map((a) => a.id);
        assert.ok(matching.length > 0 && matching.length < 200);
        const before = await snapshot(s);
        assert.deepEqual(await s.analogies.deleteMatching({ max_quality: 0.4 }, { dryRun: true }), { dry_run: true, matched: matching.length });
        assert.deepEqual(await snapshot(s), before, 'a dry run changes nothing');
        const r = await s.analogies.deleteMatching({ max_quality: 0.4 });
        assert.ok(r.dry_run === false);
        assert.equal(r.matched, matching.length);
        assert.equal(r.workflow.status, 'completed');
        assert.deepEqual(
          (await analogies(s)).map((a) => a.id),
          before.analogy.map((a) => a.id).filter((id) => !matching.includes(String(id))),
        );
        assert.equal((await asyncErr(() => s.analogies.deleteMatching({}))).code, 'INVALID_INPUT');
      });
    });

    test('export then import into an empty store reproduces it; each merge strategy on a store that differs', async () => {
      const items = genAnalogies(60, 61, 'e-');
      let exported = '';
      const files = scratch();
      try {
        let source: Record<string, Rec[]> = {};
        await withStore(openFreshStore, async (s) => {
          await s.analogies.import(writeJsonl(join(files.dir, 'a.jsonl'), items));
          await s.analogies.save({ ...items[0], tags: ['second'] });
          source = await snapshot(s);
          exported = join(files.dir, 'export.jsonl');
          const r = await s.export({ out: exported });
          assert.equal(r.records, 60);
        });
        await withStore(openFreshStore, async (t) => {
          const r = await t.import(exported);
          assert.equal(r.records, 60);
          assert.deepEqual(await snapshot(t), source);
          assert.equal((await t.analogies.get(items[0].id)).version, 2, 'versions come along');
        });
        // The target holds an older and a newer version of some records, and records of its own.
        const older = { ...items[0], tags: ['older'] };
        const newer = { ...items[1], tags: ['newer'] };
        const own = genAnalogies(5, 62, 'own-');
        for (const merge of ['overwrite', 'skip', 'merge'] as const) {
          await withStore(openFreshStore, async (t, dir) => {
            await t.analogies.import(writeJsonl(join(dir, 't.jsonl'), [older, newer, ...own]));
            await t.analogies.save({ ...newer, tags: ['newer', 'again'] });
            await t.analogies.save({ ...newer, tags: ['newest'] });
            const r = await t.import(exported, { merge });
            assert.equal(r.merge, merge);
            const got = new Map((await analogies(t)).map((a) => [a.id, a]));
            assert.equal(got.size, 65, `${merge}: every record of both stores`);
            for (const a of own) assert.deepEqual(got.get(a.id)?.tags, a.tags, `${merge}: the target's own records stay`);
            const tags0 = got.get(items[0].id)?.tags;
            const tags1 = got.get(items[1].id)?.tags;
            if (merge === 'overwrite') {
              assert.deepEqual(tags0, ['second']);
              assert.deepEqual(tags1, items[1].tags);
            } else if (merge === 'skip') {
              assert.deepEqual(tags0, ['older']);
              assert.deepEqual(tags1, ['newest']);
            } else {
              // merge: the higher version wins (items[0]: the export's v2; items[1]: the target's v3), tags are the union.
              assert.deepEqual(tags0, ['second', 'older']);
              assert.deepEqual(tags1, [...new Set(['newest', ...items[1].tags])]);
            }
          });
        }
      } finally {
        files.remove();
      }
    });

    test('backup then restore into a new store: every record of every kind, deleted ones and workflows come back', async () => {
      const items = genAnalogies(80, 63, 'b-');
      const files = scratch();
      try {
        let source: Record<string, Rec[]> = {};
        let workflows: unknown[] = [];
        let backup = '';
        let deletedBefore = 0;
        await withStore(openFreshStore, async (s) => {
          await s.analogies.import(writeJsonl(join(files.dir, 'a.jsonl'), items));
          await s.analogies.save({ ...items[0], tags: ['second'] });
          await s.analogies.delete(items[1].id);
          await s.concepts.add({ name: 'river', description: 'flowing water' }, { provider: 'hash' });
          source = await snapshot(s);
          workflows = await s.workflows.list();
          deletedBefore = (await s.stats()).contexts.find((c) => c.context === 'default')?.analogies.deleted ?? -1;
          backup = (await s.backup({ out: join(files.dir, 'store.slbak') })).file;
        });
        const empty = await openFreshStore();
        const restored = await empty.restoreInto(backup);
        try {
          const t = restored.store;
          assert.deepEqual(await snapshot(t), source, 'every active record of every kind');
          assert.deepEqual(await t.workflows.list(), workflows, 'the workflows');
          assert.equal((await t.analogies.get(items[1].id)).deleted_at !== null, true, 'a deleted record stays deleted');
          assert.equal((await t.analogies.restore(items[1].id)).deleted_at, null, 'and can be restored');
          assert.equal((await t.analogies.history(items[0].id)).length, 2, 'history comes along');
          assert.equal((await t.stats()).contexts.find((c) => c.context === 'default')?.analogies.deleted, deletedBefore - 1);
          assert.equal((await t.verify()).valid, true);
        } finally {
          await restored.close();
          await empty.close();
        }
      } finally {
        files.remove();
      }
    });
  });
}
