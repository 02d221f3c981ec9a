/**
 * YAML aliases (issue 13, items 6 and 8): billion laughs is INVALID_INPUT (exit 2 / HTTP 400),
 * not INTERNAL; a small file whose aliases expand to a huge one is refused before anything is
 * stored (alias limit, and every frames record capped by its serialised size).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cliAny, cliOk, tempDir } from './helpers.js';
import { startHarness } from './service-helpers.js';

function billionLaughs(): string {
  const lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  for (let i = 1; i < 10; i++) lines.push(`a${i}: &a${i} [${Array.from({ length: 9 }, () => `*a${i - 1}`).join(',')}]`);
  lines.push('frames:\n  - name: F\n    metadata: {x: *a9}');
  return lines.join('\n') + '\n';
}

/** One 0.9 MB frame anchored once and aliased 99 times under other names' metadata. */
function aliasAmplifier(aliases: number, anchorBytes: number): string {
  const big = 'x'.repeat(anchorBytes);
  const out = [`frames:\n  - name: F0\n    metadata: &big {blob: "${big}"}`];
  for (let i = 1; i <= aliases; i++) out.push(`  - name: F${i}\n    metadata: *big`);
  return out.join('\n') + '\n';
}

function logBytes(store: string): number {
  try {
    return statSync(join(store, 'contexts', 'default', 'log.jsonl')).size;
  } catch {
    return 0;
  }
}

test('CLI: billion laughs and an alias amplifier are INVALID_INPUT, nothing appended', () => {
  const root = tempDir();
  const store = join(root, 's');
  cliOk(store, ['init']);
  const cases: Array<[string, string, RegExp]> = [
    ['laughs.yaml', billionLaughs(), /alias/],
    ['amplifier.yaml', aliasAmplifier(99, 900_000), /alias/],
    // Under the alias limit, but each frame is over the record limit.
    ['few-big.yaml', aliasAmplifier(3, 100_000), /frames\[0\]: serialises to \d+ bytes, over the 65536-byte record limit/],
  ];
  for (const [name, text, reason] of cases) {
    const file = join(root, name);
    writeFileSync(file, text);
    const before = logBytes(store);
    const r = cliAny(store, ['frames', 'add', file]);
    assert.equal(r.status, 2, `${name}: ${r.stdout} ${r.stderr.slice(0, 300)}`);
    assert.equal(r.json.error.code, 'INVALID_INPUT', name);
    assert.match(r.json.error.message, reason, name);
    assert.equal(logBytes(store), before, `${name}: nothing appended`);
  }
  // A few small aliases are still fine.
  const fine = join(root, 'fine.yaml');
  writeFileSync(fine, 'frames:\n  - name: A\n    lexical_units: &lu [buy, sell]\n  - name: B\n    lexical_units: *lu\n');
  assert.equal(cliOk(store, ['frames', 'add', fine]).frames, 2);
});

test('HTTP: billion laughs is 400 INVALID_INPUT and the service keeps answering', async () => {
  const h = await startHarness();
  try {
    for (const body of [billionLaughs(), aliasAmplifier(99, 100_000)]) {
      const r = await fetch(`${h.base}/api/frames`, { method: 'POST', headers: { 'content-type': 'application/yaml' }, body });
      assert.equal(r.status, 400);
      const json = (await r.json()) as { error: { code: string } };
      assert.equal(json.error.code, 'INVALID_INPUT');
    }
    assert.equal((await fetch(`${h.base}/health`)).status, 200);
  } finally {
    await h.close();
  }
});
