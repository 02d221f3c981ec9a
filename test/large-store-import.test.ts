/**
 * An import into a large store checkpoints every ~1 GB of WAL instead of every 64 MB
 * (bulk-load.ts beginLargeImport): the store's content is the same as with the usual
 * checkpoints, and the connection's threshold is restored after. The size threshold is lowered
 * here so that a small store takes the path.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openStore, type Store } from '../src/index.js';
import { LARGE_STORE, largeImports } from '../src/backend/embedded/bulk-load.js';
import { WAL_AUTOCHECKPOINT_PAGES } from '../src/backend/embedded/sqlite-schema.js';
import { tempDir } from './helpers.js';

const line = (id: string, i: number) => JSON.stringify({ id, source_domain: `s${i % 13}`, target_domain: `t${i % 11}`, quality_score: (i % 100) / 100, metadata: { i } });

/** Every analogy as (id, version, metadata.i, its history's metadata.i), sorted by id. */
async function content(store: Store, ids: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const id of [...ids].sort()) {
    const history = await store.analogies.history(id);
    out.push(`${id} v${history[0].version} ${history.map((h) => (h.metadata as { i: number }).i).join(',')}`);
  }
  return out;
}

test('an import into a large store (checkpoints every ~1 GB of WAL) leaves the same content as the usual path; the threshold is restored', { timeout: 600_000 }, async () => {
  const dir = tempDir();
  const first = Array.from({ length: 3000 }, () => randomUUID());
  // Enough for the pipelined path (20,000 items or more), which the large-store checkpointing is part of.
  const fresh = Array.from({ length: 21_000 }, () => randomUUID());
  const prefill = join(dir, 'prefill.jsonl');
  writeFileSync(prefill, first.map((id, i) => line(id, i)).join('\n') + '\n');
  // New ids, and new versions of prefilled ones, some repeated within the file.
  const second = join(dir, 'second.jsonl');
  const lines = [...fresh.map((id, i) => line(id, 10_000 + i)), ...first.slice(0, 500).map((id, i) => line(id, 20_000 + i)), ...first.slice(0, 50).map((id, i) => line(id, 30_000 + i))];
  writeFileSync(second, lines.join('\n') + '\n');
  const saved = LARGE_STORE.lines;
  const results: string[][] = [];
  try {
    for (const large of [false, true]) {
      const store = await openStore(join(dir, `store-${large}`), { create: true });
      try {
        await store.analogies.import(prefill, { batchSize: 1000 });
        LARGE_STORE.lines = large ? 1 : Number.MAX_SAFE_INTEGER;
        const before = largeImports.count;
        const result = await store.analogies.import(second, { batchSize: 1000 });
        assert.equal(result.imported, lines.length);
        assert.equal(largeImports.count - before, large ? 1 : 0, 'the large-store path taken only when the store is large');
        assert.equal(store.backend.db.pragma('wal_autocheckpoint', { simple: true }), WAL_AUTOCHECKPOINT_PAGES);
        assert.equal(await store.analogies.count(), first.length + fresh.length);
        assert.equal((await store.verify()).valid, true);
        results.push(await content(store, [...first, ...fresh.filter((_, i) => i % 20 === 0)]));
      } finally {
        LARGE_STORE.lines = saved;
        await store.close();
      }
    }
    assert.deepEqual(results[1], results[0]);
    assert.ok(results[0].some((r) => r.endsWith(',0') && r.includes(' v3 ')), 'prefilled ids repeated twice have three versions');
  } finally {
    LARGE_STORE.lines = saved;
  }
});
