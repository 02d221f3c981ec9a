import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openStore, type Analogy } from '../src/index.js';
import { encodeCommitLine, encodeRecordLine } from '../src/backend/embedded/log-format.js';
import { auditEvents, cli, cliOk, genAnalogies, inputFields, logRecordLines, tempDir, writeJsonl, type GenAnalogy, asyncErrCode } from './helpers.js';

interface VerifyJson {
  valid: boolean;
  issues: Array<{ check: string; context?: string; message: string; offset?: number }>;
}

/** A store with `n` analogies imported in batches of `batch` into the default context. */
async function seeded(n: number, batch: number, seed: number): Promise<{ dir: string; storeDir: string; log: string; data: GenAnalogy[] }> {
  const dir = tempDir();
  const storeDir = join(dir, 'store');
  const data = genAnalogies(n, seed);
  const store = await openStore(storeDir, { create: true });
  try {
    await store.analogies.import(writeJsonl(join(dir, 'data.jsonl'), data), { batchSize: batch });
  } finally {
    await store.close();
  }
  return { dir, storeDir, log: join(storeDir, 'contexts', 'default', 'log.jsonl'), data };
}

function verifyCli(storeDir: string): { status: number | null; report: VerifyJson } {
  const r = cli(storeDir, ['verify']);
  return { status: r.status, report: r.json as VerifyJson };
}

/** A full record as the store writes it, for hand-made log lines. */
function fullRecord(a: GenAnalogy): Analogy {
  return { ...a, context: 'default', workflow_id: null, updated_at: a.created_at, version: 1, deleted_at: null } as Analogy;
}

/** The last seq committed in a log. */
function lastSeq(log: string): number {
  const lines = logRecordLines(join(log, '..', '..', '..'));
  return Number(/^\{"seq":(\d+)/.exec(lines[lines.length - 1])![1]);
}

async function assertIntact(storeDir: string, data: GenAnalogy[]): Promise<void> {
  const store = await openStore(storeDir);
  try {
    assert.equal(await store.analogies.count(), data.length);
    for (const a of data) assert.deepEqual(inputFields(await store.analogies.get(a.id)), a);
  } finally {
    await store.close();
  }
}

test('verify catches a flipped byte in the log: exit 1, a log_checksum issue', async () => {
  const { storeDir, log } = await seeded(20, 5, 200);
  assert.equal(verifyCli(storeDir).status, 0);
  const text = readFileSync(log, 'latin1');
  const at = text.indexOf('"item 7"') + 6; // the digit, inside a record line of the 2nd batch
  const bytes = readFileSync(log);
  bytes[at] = '8'.charCodeAt(0); // still valid JSON: only the checksum can tell
  writeFileSync(log, bytes);
  const { status, report } = verifyCli(storeDir);
  assert.equal(status, 1);
  assert.equal(report.valid, false);
  const issue = report.issues.find((i) => i.check === 'log_checksum');
  assert.ok(issue, JSON.stringify(report.issues));
  assert.equal(issue.context, 'default');
  assert.ok(issue.offset !== undefined && issue.offset <= at && at < issue.offset + 2000);
});

test('verify catches a row deleted behind its back (count_mismatch), and rebuild repairs it', async () => {
  const { storeDir, data } = await seeded(20, 5, 201);
  const db = new Database(join(storeDir, 'knowledge.sqlite'));
  assert.equal(db.prepare('DELETE FROM analogies WHERE id = ?').run(data[3].id).changes, 1);
  db.close();
  const { status, report } = verifyCli(storeDir);
  assert.equal(status, 1);
  assert.equal(report.valid, false);
  assert.ok(report.issues.some((i) => i.check === 'count_mismatch' && i.context === 'default'), JSON.stringify(report.issues));
  cliOk(storeDir, ['rebuild']);
  assert.equal(verifyCli(storeDir).status, 0);
  await assertIntact(storeDir, data);
});

test('verify catches a row whose content was changed behind its back', async () => {
  const { storeDir, data } = await seeded(10, 5, 202);
  const db = new Database(join(storeDir, 'knowledge.sqlite'));
  // point one row at another record's line
  const rows = db.prepare('SELECT id, off, len FROM analogies ORDER BY key').all() as Array<{ id: string; off: number; len: number }>;
  db.prepare('UPDATE analogies SET off = ?, len = ? WHERE id = ?').run(rows[1].off, rows[1].len, data[0].id);
  db.close();
  const { status, report } = verifyCli(storeDir);
  assert.equal(status, 1);
  assert.ok(report.issues.length > 0);
});

test('torn last line: half a line appended is truncated on open, audited, data intact, verify valid', async () => {
  const { storeDir, log, data } = await seeded(12, 5, 203);
  const size = statSync(log).size;
  const extra = fullRecord(genAnalogies(1, 999, 'torn-')[0]);
  const line = encodeRecordLine(lastSeq(log) + 1, 'put', 'analogy', JSON.stringify(extra), null);
  appendFileSync(log, line.slice(0, Math.floor(line.length / 2)));
  // the next command (any open of the store) recovers
  const q = cliOk(storeDir, ['analogies', 'query', '--limit', '100']);
  assert.equal(q.count, 12);
  assert.equal(statSync(log).size, size);
  const torn = auditEvents(storeDir).filter((e) => e.event === 'torn_tail_truncated');
  assert.equal(torn.length, 1);
  assert.equal(torn[0].context, 'default');
  assert.equal(torn[0].offset, size);
  assert.equal(torn[0].bytes, Math.floor(line.length / 2));
  assert.equal(verifyCli(storeDir).status, 0);
  await assertIntact(storeDir, data);
  // and writing continues at the right place
  cliOk(storeDir, ['analogies', 'import', writeJsonl(join(storeDir, '..', 'more.jsonl'), genAnalogies(3, 204))]);
  assert.equal(cliOk(storeDir, ['verify']).valid, true);
});

test('torn batch: complete record lines without their commit line are truncated on open', async () => {
  const { storeDir, log, data } = await seeded(10, 4, 205);
  const size = statSync(log).size;
  const seq = lastSeq(log);
  const extra = genAnalogies(3, 998, 'nocommit-').map(fullRecord);
  const lines = extra.map((r, i) => encodeRecordLine(seq + 1 + i, 'put', 'analogy', JSON.stringify(r), null));
  appendFileSync(log, lines.join(''));
  const store = await openStore(storeDir);
  try {
    assert.equal(await store.analogies.count(), 10);
    for (const r of extra) assert.equal(await asyncErrCode(() => store.analogies.get(r.id)), 'NOT_FOUND');
    assert.equal(statSync(log).size, size);
    const torn = auditEvents(storeDir).filter((e) => e.event === 'torn_tail_truncated');
    assert.equal(torn.length, 1);
    assert.equal(torn[0].lines, 3);
    assert.equal(torn[0].reason, 'batch without commit line');
    assert.equal((await store.verify()).valid, true);
  } finally {
    await store.close();
  }
  await assertIntact(storeDir, data);
});

test('a committed batch past the watermark (crash before the SQLite commit) is replayed on open', async () => {
  const { storeDir, log, data } = await seeded(10, 4, 206);
  const seq = lastSeq(log);
  const extra = genAnalogies(3, 997, 'replayed-').map(fullRecord);
  const lines = extra.map((r, i) => encodeRecordLine(seq + 1 + i, 'put', 'analogy', JSON.stringify(r), null));
  appendFileSync(log, lines.join('') + encodeCommitLine(seq + 3, 3, null));
  const store = await openStore(storeDir);
  try {
    assert.equal(await store.analogies.count(), 13);
    for (const r of extra) assert.deepEqual(await store.analogies.get(r.id), r);
    assert.equal((await store.verify()).valid, true);
  } finally {
    await store.close();
  }
  await assertIntact(storeDir, [...data, ...genAnalogies(3, 997, 'replayed-')]);
});

test('a checksum-failing last line (complete, with newline) is corruption, not a torn tail: kept, writes refused, verify invalid', async () => {
  const { storeDir, log, data } = await seeded(8, 4, 207);
  const seq = lastSeq(log);
  const extra = fullRecord(genAnalogies(1, 996, 'badcrc-')[0]);
  const commit = encodeCommitLine(seq + 1, 1, null).replace(/"crc":"[0-9a-f]{8}"/, '"crc":"00000000"');
  appendFileSync(log, encodeRecordLine(seq + 1, 'put', 'analogy', JSON.stringify(extra), null) + commit);
  const size = statSync(log).size;
  const store = await openStore(storeDir);
  try {
    assert.equal(await store.analogies.count(), 8);
    assert.equal(statSync(log).size, size);
    assert.ok(!auditEvents(storeDir).some((e) => e.event === 'torn_tail_truncated'));
    assert.equal(await asyncErrCode(() => store.analogies.save({ source_domain: 'a', target_domain: 'b', quality_score: 0.5 })), 'CORRUPT_LOG');
    assert.equal((await store.verify()).valid, false);
  } finally {
    await store.close();
  }
  await assertIntact(storeDir, data);
});

test('a bad line in the middle (followed by a valid commit) is corruption: reported, never silently skipped or truncated', async () => {
  const { storeDir, log, data } = await seeded(8, 4, 208);
  const seq = lastSeq(log);
  const a = genAnalogies(2, 995, 'mid-a-').map(fullRecord);
  const b = genAnalogies(2, 994, 'mid-b-').map(fullRecord);
  const batchA = a.map((r, i) => encodeRecordLine(seq + 1 + i, 'put', 'analogy', JSON.stringify(r), null)).join('') + encodeCommitLine(seq + 2, 2, null);
  const batchB = b.map((r, i) => encodeRecordLine(seq + 3 + i, 'put', 'analogy', JSON.stringify(r), null)).join('') + encodeCommitLine(seq + 4, 2, null);
  const corruptA = batchA.replace('mid-a-0"', 'mid-a-X"');
  assert.notEqual(corruptA, batchA);
  appendFileSync(log, corruptA + batchB);
  const size = statSync(log).size;
  const store = await openStore(storeDir);
  try {
    // the good data before is intact and readable
    assert.equal(await store.analogies.count(), 8);
    for (const x of data) assert.deepEqual(inputFields(await store.analogies.get(x.id)), x);
    // nothing was truncated: the evidence stays for verify / an operator
    assert.equal(statSync(log).size, size);
    const report = await store.verify();
    assert.equal(report.valid, false);
    assert.ok(report.issues.some((i) => i.check === 'log_checksum' && i.context === 'default'), JSON.stringify(report.issues));
    // writing on top of a corrupt log is refused rather than skipping the bad batch
    assert.equal(await asyncErrCode(() => store.analogies.save({ source_domain: 'a', target_domain: 'b', quality_score: 0.5 })), 'CORRUPT_LOG');
  } finally {
    await store.close();
  }
  const { status, report } = verifyCli(storeDir);
  assert.equal(status, 1);
  assert.ok(report.issues.some((i) => i.check === 'log_checksum'));
});

test('a bad line in the middle of already-applied batches is reported by verify (exit 1)', async () => {
  const { storeDir, log } = await seeded(12, 3, 209);
  const lines = readFileSync(log, 'utf8').split('\n');
  // line 2 is a record line of the first batch; break its JSON syntax outright
  lines[1] = lines[1].replace('{"seq":', '{"seq";');
  writeFileSync(log, lines.join('\n'));
  const { status, report } = verifyCli(storeDir);
  assert.equal(status, 1);
  assert.ok(report.issues.some((i) => i.check === 'log_checksum' && /line 2\b/.test(i.message)), JSON.stringify(report.issues));
});
