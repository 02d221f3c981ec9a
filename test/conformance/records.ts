/**
 * What every backend must show of its record parts (contexts, write batches, reads), written
 * against the Backend interface only: call `recordConformance(name, open)` once per backend with
 * a function that opens a fresh, empty store of it.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Backend } from '../../src/backend/backend.js';
import type { StoredVersion } from '../../src/backend/write-batch.js';
import type { Analogy, AnalogyTombstone } from '../../src/core/records.js';
import type { AnalogyFilter } from '../../src/core/schemas.js';
import { isSoftlogicError } from '../../src/core/errors.js';

const T0 = Date.parse('2025-03-01T00:00:00.000Z');
const DOMAINS = ['biology', 'music', 'finance', 'physics'];
const TAGS = ['red', 'green', 'blue'];

function analogy(id: string, context: string, i: number, fields: Partial<Analogy> = {}): Analogy {
  const at = new Date(T0 + i * 60_000).toISOString();
  return {
    id,
    context,
    source_domain: DOMAINS[i % 4],
    target_domain: DOMAINS[(i * 3 + 1) % 4],
    quality_score: ((i * 37) % 101) / 100,
    concept_mappings: { [`a${i}`]: `b${i}` },
    frame_mappings: i % 5 === 0 ? { motion: 'flow' } : {},
    tags: [TAGS[i % 3], ...(i % 4 === 0 ? ['extra'] : [])],
    metadata: { i },
    workflow_id: null,
    created_at: at,
    updated_at: at,
    version: 1,
    deleted_at: null,
    ...fields,
  };
}

async function code(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    return isSoftlogicError(err) ? err.code : `not a SoftlogicError: ${String(err)}`;
  }
  return 'no error';
}

async function all<T>(pages: AsyncIterable<T[]>): Promise<T[]> {
  const out: T[] = [];
  for await (const page of pages) {
    assert.ok(page.length > 0, 'no empty pages');
    out.push(...page);
  }
  return out;
}

/** Everything a context holds, for comparing a store before and after something that must not change it. */
async function snapshot(backend: Backend, context: string): Promise<{ count: number; all: string[]; concepts: unknown[] }> {
  const filter: AnalogyFilter = { context, include_deleted: true };
  return {
    count: await backend.records.countAnalogies(filter),
    all: (await all(backend.records.streamAnalogyJson(filter))).sort(),
    concepts: await backend.records.queryEntities(context, 'concept', { includeDeleted: true }),
  };
}

export function recordConformance(name: string, openFresh: () => Promise<Backend>): void {
  describe(`records conformance: ${name}`, () => {
    let backend: Backend;
    before(async () => {
      backend = await openFresh();
    });
    after(async () => {
      await backend.close();
    });

    it('contexts: ensure, get, chain, list; a missing one is CONTEXT_NOT_FOUND', async () => {
      const parent = await backend.contexts.ensure('conf-parent', { description: 'the parent' });
      assert.equal(parent.name, 'conf-parent');
      assert.equal(parent.parent, null);
      assert.equal(parent.description, 'the parent');
      const child = await backend.contexts.ensure('conf-child', { parent: 'conf-parent' });
      assert.equal(child.parent, 'conf-parent');
      assert.deepEqual(await backend.contexts.ensure('conf-child', { parent: 'conf-parent' }), child, 'ensure of an existing context returns it');
      assert.deepEqual((await backend.contexts.chain('conf-child')).map((c) => c.name), ['conf-child', 'conf-parent']);
      assert.deepEqual(await backend.contexts.get('conf-child'), child);
      assert.equal(await backend.contexts.get('conf-none'), undefined);
      const names = (await backend.contexts.list()).map((c) => c.name);
      assert.ok(names.includes('conf-parent') && names.includes('conf-child'));
      assert.equal(await code(backend.contexts.require('conf-none')), 'CONTEXT_NOT_FOUND');
      assert.equal(await code(backend.contexts.chain('conf-none')), 'CONTEXT_NOT_FOUND');
      assert.equal(await code(backend.contexts.ensure('conf-orphan', { parent: 'conf-none' })), 'CONTEXT_NOT_FOUND');
      assert.equal(await code(backend.records.getAnalogy('conf-none', 'x')), 'CONTEXT_NOT_FOUND');
      assert.equal(await code(backend.records.queryAnalogies({ context: 'conf-none' })), 'CONTEXT_NOT_FOUND');
      assert.equal(await code(backend.records.queryAnalogyJson({ context: 'conf-none' })), 'CONTEXT_NOT_FOUND');
    });

    it('versions, tombstone, restore and history of an analogy; refs differ per version', async () => {
      const ctx = 'conf-versions';
      await backend.contexts.ensure(ctx);
      const v1 = analogy('a-1', ctx, 1);
      await backend.write(ctx, (batch) => {
        assert.equal(batch.context.name, ctx);
        assert.equal(batch.current('analogy', 'a-1'), undefined);
        batch.change('analogy', 'put', v1, undefined, { fresh: true });
      }, { prefetch: [['analogy', 'a-1']] });
      const first = await backend.records.current<Analogy>(ctx, 'analogy', 'a-1');
      assert.ok(first);
      assert.equal(first.version, 1);
      assert.equal(first.deleted, false);
      assert.deepEqual(first.record(), v1);
      assert.deepEqual(await backend.records.getAnalogy(ctx, 'a-1'), v1);

      const v2 = { ...v1, quality_score: 0.99, version: 2, updated_at: new Date(T0 + 1e6).toISOString() };
      const ref2 = await backend.write(ctx, (batch) => {
        const prev = batch.current<Analogy>('analogy', 'a-1');
        assert.ok(prev);
        assert.equal(prev.ref, first.ref, 'the batch sees the version the reader saw');
        batch.change('analogy', 'put', v2, prev);
        const now = batch.current('analogy', 'a-1');
        assert.ok(now);
        assert.equal(now.version, 2, "the batch sees its own change");
        return now.ref;
      }, { prefetch: [['analogy', 'a-1']] });
      assert.notEqual(ref2, first.ref, 'a new version has a new ref');
      assert.deepEqual(await backend.records.getAnalogy(ctx, 'a-1'), v2);

      const deletedAt = new Date(T0 + 2e6).toISOString();
      const tombstone: AnalogyTombstone = { id: 'a-1', context: ctx, version: 3, updated_at: deletedAt, deleted_at: deletedAt };
      await backend.write(ctx, (batch) => batch.change('analogy', 'delete', tombstone, batch.current('analogy', 'a-1')), { prefetch: [['analogy', 'a-1']] });
      const deleted = await backend.records.current<Analogy>(ctx, 'analogy', 'a-1');
      assert.ok(deleted);
      assert.equal(deleted.deleted, true);
      assert.equal(deleted.version, 3);
      assert.notEqual(deleted.ref, ref2);
      const merged = { ...v2, ...tombstone };
      assert.deepEqual(deleted.record(), merged, 'a tombstone reads as the whole record it deletes');
      assert.deepEqual(await backend.records.getAnalogy(ctx, 'a-1'), merged);
      assert.equal(await backend.records.countAnalogies({ context: ctx }), 0);
      assert.deepEqual(await backend.records.queryAnalogies({ context: ctx }), []);
      assert.deepEqual(await backend.records.queryAnalogies({ context: ctx, include_deleted: true }), [merged]);
      assert.deepEqual(await backend.records.queryAnalogyJson({ context: ctx }), []);
      assert.deepEqual((await backend.records.queryAnalogyJson({ context: ctx, include_deleted: true })).map((j) => JSON.parse(j) as Analogy), [merged], 'as JSON text: the tombstone merged too');
      assert.deepEqual(await all(backend.records.streamAnalogyJson({ context: ctx })), []);
      assert.deepEqual((await all(backend.records.streamAnalogyJson({ context: ctx, include_deleted: true }))).map((j) => JSON.parse(j) as Analogy), [merged]);

      const v4 = { ...merged, version: 4, deleted_at: null, updated_at: new Date(T0 + 3e6).toISOString() };
      await backend.write(ctx, (batch) => batch.change('analogy', 'restore', v4, batch.current('analogy', 'a-1')), { prefetch: [['analogy', 'a-1']] });
      assert.deepEqual(await backend.records.getAnalogy(ctx, 'a-1'), v4);
      assert.equal(await backend.records.countAnalogies({ context: ctx }), 1);

      const history = await backend.records.history<Analogy>(ctx, 'analogy', 'a-1');
      assert.ok(history);
      assert.deepEqual(history.map((h) => h.op), ['restore', 'delete', 'put', 'put']);
      assert.deepEqual(history.map((h) => h.record), [v4, merged, v2, v1]);
      assert.equal(new Set(history.map((h) => h.ref)).size, 4, 'every version has its own ref');
      assert.equal(history[1].ref, deleted.ref);
      assert.equal(history[3].ref, first.ref);
      assert.equal(await backend.records.history(ctx, 'analogy', 'no-such'), undefined);
      assert.equal(await backend.records.purgedAt(ctx, 'analogy', 'a-1'), undefined);
    });

    it('filters: quality, domain, tag, frame, dates, paging, count, stream and match agree with a reference', async () => {
      const ctx = 'conf-filters';
      const records = Array.from({ length: 120 }, (_, i) => analogy(`f-${String(i).padStart(3, '0')}`, ctx, i));
      await backend.write(ctx, (batch) => {
        for (const r of records) batch.change('analogy', 'put', r, undefined, { fresh: true });
      });
      // Every seventh one deleted.
      const deletedIds = new Set(records.filter((_, i) => i % 7 === 3).map((r) => r.id));
      const at = new Date(T0 + 9e6).toISOString();
      await backend.write(ctx, (batch) => {
        for (const id of deletedIds) batch.change('analogy', 'delete', { id, context: ctx, version: 2, updated_at: at, deleted_at: at }, batch.current('analogy', id));
      }, { prefetch: [...deletedIds].map((id) => ['analogy', id] as const) });
      const live = records.filter((r) => !deletedIds.has(r.id));
      const filters: Array<[AnalogyFilter, (a: Analogy) => boolean]> = [
        [{}, () => true],
        [{ min_quality: 0.5 }, (a) => a.quality_score >= 0.5],
        [{ max_quality: 0.2 }, (a) => a.quality_score <= 0.2],
        [{ min_quality: 0.3, max_quality: 0.6 }, (a) => a.quality_score >= 0.3 && a.quality_score <= 0.6],
        [{ domain: 'music' }, (a) => a.source_domain === 'music' || a.target_domain === 'music'],
        [{ domain: 'music', min_quality: 0.4 }, (a) => (a.source_domain === 'music' || a.target_domain === 'music') && a.quality_score >= 0.4],
        [{ tag: 'green' }, (a) => a.tags.includes('green')],
        [{ tag: 'extra', domain: 'finance' }, (a) => a.tags.includes('extra') && (a.source_domain === 'finance' || a.target_domain === 'finance')],
        [{ frame_type: 'motion' }, (a) => 'motion' in a.frame_mappings],
        [{ created_after: new Date(T0 + 50 * 60_000).toISOString() }, (a) => Date.parse(a.created_at) > T0 + 50 * 60_000],
        [{ created_before: new Date(T0 + 10 * 60_000).toISOString() }, (a) => Date.parse(a.created_at) < T0 + 10 * 60_000],
        [{ domain: 'nowhere' }, () => false],
      ];
      const rank = (a: Analogy, b: Analogy) => b.quality_score - a.quality_score;
      for (const [criteria, keep] of filters) {
        const filter = { ...criteria, context: ctx };
        const expected = live.filter(keep);
        const label = JSON.stringify(criteria);
        assert.equal(await backend.records.countAnalogies(filter), expected.length, `count ${label}`);
        const top = await backend.records.queryAnalogies({ ...filter, limit: 1000 });
        assert.deepEqual(top.map((a) => a.id).sort(), expected.map((a) => a.id).sort(), `query ${label}`);
        assert.deepEqual(top.map((a) => a.quality_score), [...expected].sort(rank).map((a) => a.quality_score), `best quality first ${label}`);
        // Pages of 7 put together are the whole result, in the same order.
        const paged: Analogy[] = [];
        for (let offset = 0; offset < expected.length + 7; offset += 7) paged.push(...(await backend.records.queryAnalogies({ ...filter, limit: 7, offset })));
        assert.deepEqual(paged.map((a) => a.id), top.map((a) => a.id), `paging ${label}`);
        // The same records as JSON text, whole and in pages, deleted ones merged with what they delete.
        const asJson = async (f: AnalogyFilter) => (await backend.records.queryAnalogyJson(f)).map((j) => JSON.parse(j) as Analogy);
        assert.deepEqual(await asJson({ ...filter, limit: 1000 }), top, `query as JSON ${label}`);
        assert.deepEqual(await asJson({ ...filter, limit: 7, offset: 7 }), top.slice(7, 14), `a page as JSON ${label}`);
        assert.deepEqual(await asJson({ ...filter, include_deleted: true, limit: 1000 }), await backend.records.queryAnalogies({ ...filter, include_deleted: true, limit: 1000 }), `with deleted, as JSON ${label}`);
        const streamed = (await all(backend.records.streamAnalogyJson(filter))).map((j) => JSON.parse(j) as Analogy);
        assert.deepEqual(streamed, expected, `stream in write order ${label}`);
        const matched = await all(backend.records.matchAnalogies(filter));
        assert.deepEqual(matched.map((m) => m.id), expected.map((a) => a.id), `match ${label}`);
        for (const m of matched.slice(0, 3)) assert.equal(m.ref, (await backend.records.current(ctx, 'analogy', m.id))?.ref);
      }
      assert.equal((await backend.records.queryAnalogies({ context: ctx })).length, 100, 'the default limit is 100');
      assert.equal((await all(backend.records.streamAnalogyJson({ context: ctx, limit: 5 }))).length, 5);
      assert.equal(await backend.records.countAnalogies({ context: ctx, include_deleted: true }), records.length);
    });

    it('entities: put, read, query by name and text, stream, delete, restore, history', async () => {
      const ctx = 'conf-entities';
      const at = new Date(T0).toISOString();
      const concept = (id: string, name: string, version: number, deleted_at: string | null = null) => ({ id, kind: 'concept', name, description: `about ${name}`, created_at: at, updated_at: at, version, deleted_at });
      await backend.write(ctx, (batch) => {
        batch.change('concept', 'put', concept('c-1', 'River', 1), undefined, { fresh: true });
        batch.change('concept', 'put', concept('c-2', 'Bank', 1), undefined, { fresh: true });
        batch.change('frame', 'put', { id: 'fr-1', name: 'Motion', created_at: at, updated_at: at, version: 1, deleted_at: null }, undefined, { fresh: true });
      });
      assert.deepEqual(await backend.records.getEntity(ctx, 'concept', 'c-1'), concept('c-1', 'River', 1));
      assert.equal(await backend.records.getEntity(ctx, 'frame', 'c-1'), undefined, 'kinds are apart');
      assert.deepEqual((await backend.records.queryEntities<{ id: string }>(ctx, 'concept')).map((c) => c.id), ['c-1', 'c-2']);
      assert.deepEqual((await backend.records.queryEntities<{ id: string }>(ctx, 'concept', { name: 'Bank' })).map((c) => c.id), ['c-2']);
      assert.deepEqual((await backend.records.queryEntities<{ id: string }>(ctx, 'concept', { textAnyOf: ['river'] })).map((c) => c.id), ['c-1']);
      assert.deepEqual((await backend.records.queryEntities<{ id: string }>(ctx, 'concept', { order: 'newest', limit: 1 })).map((c) => c.id), ['c-2']);
      assert.deepEqual((await all(backend.records.streamEntityJson(ctx, 'concept'))).map((j) => (JSON.parse(j) as { id: string }).id), ['c-1', 'c-2']);

      await backend.write(ctx, (batch) => {
        const prev = batch.current<ReturnType<typeof concept>>('concept', 'c-1');
        assert.ok(prev && !prev.deleted);
        batch.change('concept', 'delete', { ...prev.record(), version: 2, deleted_at: at }, prev);
      }, { prefetch: [['concept', 'c-1']] });
      const deleted = await backend.records.current(ctx, 'concept', 'c-1');
      assert.ok(deleted?.deleted);
      assert.deepEqual((await backend.records.queryEntities<{ id: string }>(ctx, 'concept')).map((c) => c.id), ['c-2']);
      assert.deepEqual((await backend.records.queryEntities<{ id: string }>(ctx, 'concept', { includeDeleted: true })).map((c) => c.id).sort(), ['c-1', 'c-2']);
      assert.deepEqual((await all(backend.records.streamEntityJson(ctx, 'concept'))).map((j) => (JSON.parse(j) as { id: string }).id), ['c-2']);
      await backend.write(ctx, (batch) => batch.change('concept', 'restore', concept('c-1', 'River', 3), batch.current('concept', 'c-1')), { prefetch: [['concept', 'c-1']] });
      const history = await backend.records.history(ctx, 'concept', 'c-1');
      assert.ok(history);
      assert.deepEqual(history.map((h) => [h.op, h.record.version, h.record.deleted_at]), [['restore', 3, null], ['delete', 2, at], ['put', 1, null]]);
      assert.equal(history[1].ref, deleted.ref);
    });

    it('a batch that throws writes nothing', async () => {
      const ctx = 'conf-atomic';
      await backend.write(ctx, (batch) => {
        for (let i = 0; i < 5; i++) batch.change('analogy', 'put', analogy(`t-${i}`, ctx, i), undefined, { fresh: true });
        batch.change('concept', 'put', { id: 'k-1', name: 'kept', created_at: new Date(T0).toISOString(), updated_at: new Date(T0).toISOString(), version: 1, deleted_at: null }, undefined, { fresh: true });
      });
      const before = await snapshot(backend, ctx);
      const refBefore = (await backend.records.current(ctx, 'analogy', 't-0'))?.ref;
      const failure = backend.write(ctx, (batch) => {
        const prev = batch.current<Analogy>('analogy', 't-0');
        batch.change('analogy', 'put', { ...prev?.record(), version: 2, quality_score: 0.01 }, prev);
        batch.change('analogy', 'put', analogy('t-new', ctx, 9), undefined, { fresh: true });
        batch.change('analogy', 'delete', { id: 't-1', context: ctx, version: 2, updated_at: new Date(T0).toISOString(), deleted_at: new Date(T0).toISOString() }, batch.current('analogy', 't-1'));
        batch.change('concept', 'put', { id: 'k-2', name: 'lost', created_at: new Date(T0).toISOString(), updated_at: new Date(T0).toISOString(), version: 1, deleted_at: null }, undefined, { fresh: true });
        assert.equal(batch.size, 4);
        throw new Error('the callback fails after its changes');
      }, { prefetch: [['analogy', 't-0'], ['analogy', 't-1']] });
      await assert.rejects(failure, /the callback fails/);
      assert.deepEqual(await snapshot(backend, ctx), before);
      assert.equal((await backend.records.current(ctx, 'analogy', 't-0'))?.ref, refBefore);
      assert.equal(await backend.records.getAnalogy(ctx, 't-new'), undefined);
      // The store still takes writes after the failed batch.
      await backend.write(ctx, (batch) => batch.change('analogy', 'put', analogy('t-after', ctx, 11), undefined, { fresh: true }));
      assert.equal(await backend.records.countAnalogies({ context: ctx }), before.count + 1);
    });

    it('a batch in a missing context creates it', async () => {
      await backend.write('conf-created', (batch) => batch.change('analogy', 'put', analogy('n-1', 'conf-created', 1), undefined, { fresh: true }));
      assert.equal((await backend.contexts.require('conf-created')).name, 'conf-created');
      const version: StoredVersion | undefined = await backend.records.current('conf-created', 'analogy', 'n-1');
      assert.equal(version?.version, 1);
    });
  });
}
