import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openStore } from '../src/index.js';
import { auditEvents, cli, cliOk, genAnalogies, inputFields, tempDir, writeJsonl, type GenAnalogy } from './helpers.js';

interface CutJson {
  context: string;
  offset: number;
  bytes: number;
  lines: number;
  records_lost: number;
  first_seq: number | null;
  last_seq: number | null;
  aside: { file: string; bytes: number } | null;
}

/** The issue's store: 5,000 analogies in two imports of 1,000 and 4,000. */
async function twoImports(): Promise<{ dir: string; storeDir: string; log: string; data: GenAnalogy[] }> {
  const dir = tempDir();
  const storeDir = join(dir, 'store');
  const first = genAnalogies(1000, 1301, 'first-');
  const second = genAnalogies(4000, 1302, 'second-');
  const store = await openStore(storeDir, { create: true });
  try {
    await store.analogies.import(writeJsonl(join(dir, 'first.jsonl'), first));
    await store.analogies.import(writeJsonl(join(dir, 'second.jsonl'), second));
  } finally {
    await store.close();
  }
  return { dir, storeDir, log: join(storeDir, 'contexts', 'default', 'log.jsonl'), data: [...first, ...second] };
}

/** Every record of `data` is in the store, as imported (through the library). */
async function assertRecords(storeDir: string, data: GenAnalogy[], count = data.length): Promise<void> {
  const store = await openStore(storeDir);
  try {
    assert.equal(await store.analogies.count(), count);
    for (const a of data) assert.deepEqual(inputFields(await store.analogies.get(a.id)), a);
  } finally {
    await store.close();
  }
}

/** `printf X | dd of=LOG bs=1 seek=$((size-30)) conv=notrunc`: a byte of the last commit line. */
function flipInLastCommit(log: string): void {
  const bytes = readFileSync(log);
  const at = bytes.length - 30;
  assert.ok(bytes.lastIndexOf('{"op":"commit"') < at);
  bytes[at] = 'X'.charCodeAt(0);
  writeFileSync(log, bytes);
}

test('issue 13.1: a damaged last commit line makes rebuild refuse (CORRUPT_LOG naming context, offset), data intact, verify invalid', async () => {
  const { storeDir, log, data } = await twoImports();
  flipInLastCommit(log);
  const size = statSync(log).size;
  const r = cli(storeDir, ['rebuild']);
  assert.equal(r.status, 1, r.stdout);
  const err = (r.json as { error: { code: string; details: { context: string; offset: number; after_seq: number } } }).error;
  assert.equal(err.code, 'CORRUPT_LOG');
  assert.equal(err.details.context, 'default');
  assert.equal(err.details.offset, readFileSync(log).lastIndexOf('{"op":"commit"'));
  assert.equal(err.details.after_seq, 1000);
  assert.equal(statSync(log).size, size, 'nothing cut');
  await assertRecords(storeDir, data);
  const verify = cli(storeDir, ['verify']);
  assert.equal(verify.status, 1);
  const report = verify.json as { valid: boolean; issues: Array<{ check: string; offset?: number }> };
  assert.equal(report.valid, false);
  assert.ok(report.issues.some((i) => i.check === 'log_checksum' && i.offset === err.details.offset), JSON.stringify(report.issues));
  // The workflows still say what they did.
  assert.equal(statSync(log).size, size);
});

test('issue 13.1: rebuild --truncate-damaged-tail cuts only when asked, and says exactly what was cut (report, audit, salvaged/)', async () => {
  const { storeDir, log, data } = await twoImports();
  flipInLastCommit(log);
  const original = readFileSync(log);
  const commitAt = original.lastIndexOf('{"op":"commit"');
  const firstBatchEnd = original.indexOf('\n', original.indexOf('{"op":"commit"')) + 1;
  const out = cliOk(storeDir, ['rebuild', '--truncate-damaged-tail']) as { cut: CutJson[]; contexts: Array<{ active_before: number; active_after: number }> };
  assert.equal(out.cut.length, 1);
  const cut = out.cut[0];
  assert.equal(cut.context, 'default');
  assert.equal(cut.offset, firstBatchEnd);
  assert.equal(cut.bytes, original.length - firstBatchEnd);
  assert.equal(cut.lines, 4001);
  assert.equal(cut.records_lost, 4000);
  assert.equal(cut.first_seq, 1001);
  assert.equal(cut.last_seq, 5000);
  assert.deepEqual(out.contexts.map((c) => [c.active_before, c.active_after]), [[5000, 1000]]);
  assert.equal(statSync(log).size, firstBatchEnd);
  // The cut bytes are kept, byte for byte.
  assert.ok(cut.aside);
  assert.deepEqual(readFileSync(join(storeDir, cut.aside.file)), original.subarray(firstBatchEnd));
  const audited = auditEvents(storeDir).filter((e) => e.event === 'damaged_tail_cut');
  assert.equal(audited.length, 1);
  assert.equal(audited[0].records_lost, 4000);
  assert.equal((audited[0].damage as { offset: number }).offset, commitAt);
  assert.equal(cliOk(storeDir, ['verify']).valid, true);
  await assertRecords(storeDir, data.slice(0, 1000));
});

test('issue 13.1: rebuild --salvage keeps every line whose checksum passes (all 5,000) and sets the damaged line aside', async () => {
  const { storeDir, log, data } = await twoImports();
  flipInLastCommit(log);
  const original = readFileSync(log);
  const commitAt = original.lastIndexOf('{"op":"commit"');
  const out = cliOk(storeDir, ['rebuild', '--salvage']) as {
    salvaged: Array<{ kept_records: number; damaged_lines: number; batches_recommitted: number; aside: { file: string } }>;
  };
  assert.equal(out.salvaged.length, 1);
  assert.equal(out.salvaged[0].kept_records, 5000);
  assert.equal(out.salvaged[0].damaged_lines, 1);
  assert.equal(out.salvaged[0].batches_recommitted, 1);
  assert.deepEqual(readFileSync(join(storeDir, out.salvaged[0].aside.file)), original.subarray(commitAt));
  assert.ok(auditEvents(storeDir).some((e) => e.event === 'log_salvaged'));
  assert.equal(cliOk(storeDir, ['verify']).valid, true);
  await assertRecords(storeDir, data);
});

test('issue 13.2: a log truncated mid-line plus another import does not brick the store; rebuild --salvage keeps every line that passes', async () => {
  const { dir, storeDir, log, data } = await twoImports();
  const bytes = readFileSync(log);
  // Mid-line, inside the second import's batch.
  const cutAt = Math.floor(bytes.length / 2) + 37;
  assert.notEqual(bytes[cutAt - 1], 10);
  truncateSync(log, cutAt);
  const kept = bytes.subarray(0, cutAt).toString('utf8').split('\n').slice(0, -1);
  const survivors = new Set(kept.filter((l) => l.startsWith('{"seq":')).map((l) => (JSON.parse(l) as { record: { id: string } }).record.id));
  assert.ok(survivors.size > 2000 && survivors.size < 5000);
  const more = genAnalogies(300, 1303, 'more-');
  // The import is refused (its workflow stays to be resumed), with the way back named.
  const imported = cli(storeDir, ['analogies', 'import', writeJsonl(join(dir, 'more.jsonl'), more)]);
  assert.equal(imported.status, 1);
  assert.match(imported.stdout, /CORRUPT_LOG/);
  assert.match(imported.stdout, /rebuild --salvage/);
  // Every command still opens the store.
  for (const args of [['stats'], ['workflows', 'list'], ['contexts', 'list']]) assert.equal(cli(storeDir, args).status, 0, args.join(' '));
  assert.equal(cli(storeDir, ['verify']).status, 1);
  const out = cliOk(storeDir, ['rebuild', '--salvage']) as { salvaged: Array<{ kept_records: number; pieces: Array<{ reason: string }> }>; contexts: Array<{ active_before: number; active_after: number }> };
  assert.equal(out.salvaged[0].kept_records, survivors.size);
  assert.deepEqual(out.salvaged[0].pieces.map((p) => p.reason), ['incomplete last line']);
  assert.equal(out.contexts[0].active_before, 5000);
  assert.equal(out.contexts[0].active_after, survivors.size);
  assert.equal(cliOk(storeDir, ['verify']).valid, true);
  // The refused import failed (never resumed behind the user's back); it names its workflow, and
  // `workflows resume ID` finishes it once the log is repaired.
  const failedId = (JSON.parse(imported.stdout) as { error: { details: { workflow_id: string } } }).error.details.workflow_id;
  assert.equal(cliOk(storeDir, ['workflows', 'show', failedId]).status, 'failed');
  await assertRecords(storeDir, data.filter((a) => survivors.has(a.id)));
  assert.equal(cli(storeDir, ['workflows', 'resume', failedId]).status, 0);
  assert.equal(cliOk(storeDir, ['workflows', 'show', failedId]).status, 'completed');
  const expected = [...data.filter((a) => survivors.has(a.id)), ...more];
  await assertRecords(storeDir, expected);
  assert.equal(cliOk(storeDir, ['verify']).valid, true);
  assert.ok(existsSync(join(storeDir, 'salvaged')));
});

test('rebuild --salvage of a damaged record in the middle: the other records stay, the damaged one is named as lost', async () => {
  const { storeDir, log, data } = await twoImports();
  const bytes = readFileSync(log);
  const victim = data[2500];
  const at = bytes.indexOf(`"id":"${victim.id}"`);
  bytes[at + 8] ^= 1; // inside the id: still JSON, checksum fails
  writeFileSync(log, bytes);
  const copy = join(storeDir, '..', 'copy');
  cpSync(storeDir, copy, { recursive: true });
  // Without the option: refused, nothing changed.
  assert.equal(cli(copy, ['rebuild']).status, 1);
  assert.deepEqual(readFileSync(join(copy, 'contexts', 'default', 'log.jsonl')), bytes);
  const out = cliOk(storeDir, ['rebuild', '--salvage']) as { salvaged: Array<{ kept_records: number; damaged_records: number; lost_ids: string[] }> };
  assert.equal(out.salvaged[0].kept_records, 4999);
  assert.equal(out.salvaged[0].damaged_records, 1);
  assert.equal(out.salvaged[0].lost_ids.length, 1);
  assert.equal(cliOk(storeDir, ['verify']).valid, true);
  await assertRecords(storeDir, data.filter((a) => a !== victim));
});
