import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness } from './service-helpers.js';

interface Page {
  count: number;
  offset: number;
  total?: number;
  analogies: Array<{ id: string; quality_score: number; source_domain: string; target_domain: string }>;
}

test('GET /api/analogies pages with offset: the pages put together are the whole ordered result, total counts every match', async () => {
  const h = await startHarness({ rateLimit: false });
  try {
    for (let i = 0; i < 250; i++) {
      await h.store.analogies.save({ id: `p-${i}`, source_domain: i % 3 === 0 ? 'music' : 'finance', target_domain: i % 5 === 0 ? 'music' : 'biology', quality_score: (i % 17) / 17 });
    }
    const get = async (q: string) => {
      const r = await fetch(`${h.base}/api/analogies?${q}`);
      assert.equal(r.status, 200, await r.clone().text());
      return (await r.json()) as Page;
    };
    for (const filter of ['', 'domain=music&', 'min_quality=0.3&']) {
      const whole = await get(`${filter}limit=1000&total=true`);
      assert.equal(whole.total, whole.count);
      const ids: string[] = [];
      for (let offset = 0; ; offset += 40) {
        const page = await get(`${filter}limit=40&offset=${offset}&total=true`);
        assert.equal(page.offset, offset);
        assert.equal(page.total, whole.count, 'total is every match, whatever the page');
        ids.push(...page.analogies.map((a) => a.id));
        if (page.count < 40) break;
      }
      assert.deepEqual(ids, whole.analogies.map((a) => a.id), `pages of ${filter || 'everything'} in order, none twice or missing`);
    }
    const music = await get('domain=music&limit=1000');
    assert.ok(music.analogies.every((a) => a.source_domain === 'music' || a.target_domain === 'music'));
    assert.equal(music.count, [...Array(250).keys()].filter((i) => i % 3 === 0 || i % 5 === 0).length);
    const past = await get('limit=10&offset=100000');
    assert.deepEqual([past.count, past.analogies], [0, []]);
    assert.equal((await get('limit=5')).total, undefined, 'total only when asked for');
    const bad = await fetch(`${h.base}/api/analogies?offset=-1`);
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { error: { code: string } }).error.code, 'INVALID_INPUT');
    const doc = (await (await fetch(`${h.base}/openapi.json`)).json()) as { paths: Record<string, { get: { parameters: Array<{ name: string }> } }> };
    const names = doc.paths['/api/analogies'].get.parameters.map((p) => p.name);
    assert.ok(names.includes('offset') && names.includes('total'), 'paging is in the OpenAPI document');
  } finally {
    await h.close();
  }
});
