/**
 * `analogies import` of a large file of the original system's lines (issue 16): staged on the
 * worker threads by the legacy byte scanner (stage-legacy.ts) and pipelined, it must leave what
 * the general path leaves (one thread, every line through JSON.parse, normaliseLegacyShape and
 * the schema): every record's history field by field, the counts, and, lenient, the same refused
 * lines with the same reasons; strict, the same refusal.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openStore } from '../src/index.js';
import { PARALLEL_MIN_BYTES, parallelStaged } from '../src/methods/analogies/stage-parallel.js';
import { asyncErr, tempDir } from './helpers.js';
import { dump } from './import-compare.js';
import { BAD_LINES, legacyFile } from './legacy-lines.js';

const TIMEOUT = 900_000;

/** The ids the file's deletion lines name. */
const deletedIds = (lines: string[]) => lines.flatMap((l) => /"target_id": "([^"]+)"/.exec(l)?.[1] ?? []);

async function importInto(path: string, file: string, given: Set<string>, deleted: string[], options: { lenient?: boolean; parallel?: boolean }) {
  const store = await openStore(path, { create: true });
  try {
    const blocks = parallelStaged.blocks;
    const result = await store.analogies.import(file, { batchSize: 5000, ...options });
    assert.equal((await store.verify()).valid, true);
    return {
      // Times from 2026 on are the import's own (the original's are of 2025).
      dump: await dump(store, given, '2026'),
      // Deleted records (not streamed): their histories, without the import's own times.
      deleted: await Promise.all(deleted.map(async (id) => (await store.analogies.history(id)).map(({ updated_at: _u, workflow_id: _w, deleted_at, ...rest }) => ({ ...rest, deleted: deleted_at !== null })))),
      count: await store.analogies.count(),
      imported: result.imported,
      rejected: result.rejected,
      reasons: result.rejected_reasons,
      rejects: result.rejects_file ? readFileSync(result.rejects_file, 'utf8') : null,
      blocks: parallelStaged.blocks - blocks,
    };
  } finally {
    await store.close();
  }
}

test('a large file of the original system\'s lines: staged on worker threads, it makes exactly what the general path makes', { timeout: TIMEOUT }, async () => {
  const dir = tempDir();
  const lines = legacyFile(30_000, 'x-');
  const file = join(dir, 'legacy.jsonl');
  writeFileSync(file, lines.join('\n') + '\n');
  assert.ok(readFileSync(file).length > PARALLEL_MIN_BYTES, 'large enough for parallel staging');
  const given = new Set(lines.flatMap((l) => /"id": "([^"]+)"/.exec(l)?.[1] ?? []));
  const deleted = deletedIds(lines);
  const fast = await importInto(join(dir, 'fast'), file, given, deleted, {});
  const general = await importInto(join(dir, 'general'), file, given, deleted, { parallel: false });
  assert.ok(fast.blocks > 2, `${fast.blocks} blocks on worker threads`);
  assert.equal(general.blocks, 0);
  assert.equal(fast.imported, lines.length);
  assert.equal(fast.imported, general.imported);
  assert.equal(fast.dump.size, general.dump.size);
  assert.deepEqual(fast.dump, general.dump);
  const histories = [...fast.dump.values()] as Array<Array<{ metadata: { legacy?: Record<string, unknown> } }>>;
  assert.ok(histories.some((h) => h.length > 1), 'some records have several versions');
  assert.ok(deleted.length > 0);
  assert.deepEqual(fast.deleted, general.deleted);
  assert.ok(fast.deleted.every((h) => h[0].deleted), 'the deletions applied');
  assert.equal(fast.count, general.count);
  assert.ok(histories.every((h) => h[h.length - 1].metadata.legacy?.source_domain_missing === true), 'every record is a legacy one');
});

test('malformed and invalid lines among the original system\'s: the same refusals and reasons as the general path, strict and lenient', { timeout: TIMEOUT }, async () => {
  const dir = tempDir();
  const lines = legacyFile(26_000, 'y-', true);
  const file = join(dir, 'legacy-bad.jsonl');
  writeFileSync(file, lines.join('\n') + '\n');
  const badAt = lines.flatMap((l, k) => (BAD_LINES.some((b) => b.line === l) ? [k + 1] : []));
  assert.deepEqual(badAt, [4999, 9999, 14999, 19999, 24999]);
  const given = new Set(lines.flatMap((l) => /"id": "([^"]+)"/.exec(l)?.[1] ?? []));
  // Strict: nothing imported, every bad line named with its field.
  for (const parallel of [true, false]) {
    const store = await openStore(join(dir, `strict-${parallel}`), { create: true });
    try {
      const err = await asyncErr(() => store.analogies.import(file, { parallel }));
      assert.equal(err.code, 'IMPORT_REJECTED');
      const issues = (err.details as { issues: Array<{ line: number; field: string }> }).issues;
      assert.deepEqual(issues.map((i) => i.line), badAt);
      assert.deepEqual(issues.map((i) => i.field), BAD_LINES.map((b) => b.field));
      assert.equal(await store.analogies.count(), 0);
    } finally {
      await store.close();
    }
  }
  const deleted = deletedIds(lines);
  const fast = await importInto(join(dir, 'fast'), file, given, deleted, { lenient: true });
  const general = await importInto(join(dir, 'general'), file, given, deleted, { lenient: true, parallel: false });
  assert.ok(fast.blocks > 2);
  assert.equal(fast.rejected, BAD_LINES.length);
  assert.equal(fast.imported, lines.length - BAD_LINES.length);
  assert.deepEqual(fast.reasons, general.reasons);
  assert.equal(fast.rejects, BAD_LINES.map((b) => b.line + '\n').join(''));
  assert.equal(fast.rejects, general.rejects);
  assert.deepEqual(fast.dump, general.dump);
  assert.deepEqual(fast.deleted, general.deleted);
});
