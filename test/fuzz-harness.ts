/**
 * Fuzzing of the log reader (open, replay, verify, rebuild, reads, salvage) and the backup reader
 * (restore), shared by test/store-fuzz.test.ts (fixed seed, a few seconds) and
 * `npm run bench -- fuzz` (longer). The properties:
 *   - nothing fails but with a catalogued error of the damage kind (never INTERNAL, never a TypeError);
 *   - nothing serves a record whose line fails its checksum;
 *   - nothing loses a line whose checksum passes unless asked (only a torn tail may be cut on
 *     open: an incomplete last line, or intact record lines with no commit line at the very end);
 *   - salvage keeps, or sets aside byte for byte, every record line whose checksum passes;
 *   - a restore either refuses the damaged backup or yields a store that verifies.
 */
import assert from 'node:assert/strict';
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { Store } from '../src/index.js';
import { isSoftlogicError, type ErrorCode } from '../src/core/errors.js';
import { crc32Hex } from '../src/core/checksum.js';
import { checksumOk } from '../src/backend/embedded/log-format.js';
import { genAnalogies, rng, writeJsonl } from './helpers.js';

const LOG_CODES = new Set<ErrorCode>(['CORRUPT_LOG', 'CONFLICT']);
const BACKUP_CODES = new Set<ErrorCode>(['BACKUP_INVALID', 'INTEGRITY', 'CORRUPT_LOG', 'STORE_FORMAT']);

export interface FuzzStats {
  cases: number;
  refused: number;
  opened: number;
  salvaged: number;
  restores_refused: number;
  restores_ok: number;
  mutations: Record<string, number>;
}

/** Base stores: a plain log with updates and a deletion; the same compacted, then appended to. */
export async function fuzzBases(dir: string): Promise<{ plain: string; compacted: string; backup: string }> {
  const plain = join(dir, 'base-plain');
  const store = await Store.open(plain, { create: true });
  try {
    const data = genAnalogies(40, 1801);
    await store.analogies.import(writeJsonl(join(dir, 'a.jsonl'), data), { batchSize: 8 });
    for (const a of data.slice(0, 5)) await store.analogies.save({ ...a, quality_score: 0.25 });
    await store.analogies.delete(data[6].id);
    await store.concepts.add({ name: 'lion', description: 'a cat' });
  } finally {
    await store.close();
  }
  const compacted = join(dir, 'base-compacted');
  cpSync(plain, compacted, { recursive: true });
  const c = await Store.open(compacted);
  let backup: string;
  try {
    await c.compact();
    await c.analogies.import(writeJsonl(join(dir, 'b.jsonl'), genAnalogies(12, 1802)), { batchSize: 4 });
    backup = (await c.backup({ out: join(dir, 'base.slbak') })).file;
  } finally {
    await c.close();
  }
  return { plain, compacted, backup };
}

function seal(body: string): string {
  return `${body},"crc":"${crc32Hex(body)}"}\n`;
}

/** A damaged copy of `bytes`, and the name of what was done. */
function mutate(bytes: Buffer, r: () => number): { out: Buffer; kind: string } {
  const at = () => Math.floor(r() * bytes.length);
  const lineStart = () => {
    const p = at();
    return bytes.lastIndexOf(10, p - 1) + 1;
  };
  const choice = Math.floor(r() * 6);
  if (choice === 0) {
    const out = Buffer.from(bytes);
    const flips = 1 + Math.floor(r() * 3);
    for (let i = 0; i < flips; i++) out[at()] ^= 1 + Math.floor(r() * 255);
    return { out, kind: 'flip' };
  }
  if (choice === 1) return { out: bytes.subarray(0, at()), kind: 'truncate' };
  if (choice === 2) {
    const junk = Buffer.from(Array.from({ length: 1 + Math.floor(r() * 20) }, () => (r() < 0.2 ? 10 : Math.floor(r() * 256))));
    const p = at();
    return { out: Buffer.concat([bytes.subarray(0, p), junk, bytes.subarray(p)]), kind: 'insert' };
  }
  const lines = bytes.toString('utf8').split('\n').filter((l) => l.length > 0);
  const seq = 1 + Math.floor(r() * 80);
  const crafted = [
    seal(`{"seq":${seq},"op":"put","kind":"analogy","record":[1,2]`),
    seal(`{"seq":${seq},xx`),
    seal(`{"op":"commit","last":${seq},"n":${Math.floor(r() * 9)}`),
    seal(`{"seq":${1000 + seq},"op":"put","kind":"analogy","record":{"id":"crafted-${seq}"}`) + seal(`{"op":"commit","last":${1000 + seq},"n":1`),
    `${lines[Math.floor(r() * lines.length)] ?? ''}\n`,
    seal(`{"seq":${1000 + seq},"op":"put","kind":"concept","record":{"id":7}`),
  ][Math.floor(r() * 6)];
  const p = choice === 3 ? bytes.length : lineStart();
  return { out: Buffer.concat([bytes.subarray(0, p), Buffer.from(crafted), bytes.subarray(p)]), kind: choice === 3 ? 'crafted-end' : 'crafted' };
}

function expectCatalogued(err: unknown, codes: Set<ErrorCode>, what: string): void {
  if (!isSoftlogicError(err) || !codes.has(err.code)) {
    throw new assert.AssertionError({ message: `${what}: ${isSoftlogicError(err) ? `${err.code}: ${err.message}` : String((err as Error)?.stack ?? err)}` });
  }
}

interface LineInfo {
  text: string;
  ok: boolean;
  complete: boolean;
}

function linesOf(bytes: Buffer): LineInfo[] {
  const out: LineInfo[] = [];
  let start = 0;
  for (let nl = bytes.indexOf(10); nl >= 0; nl = bytes.indexOf(10, start)) {
    const text = bytes.toString('utf8', start, nl);
    out.push({ text, ok: checksumOk(text), complete: true });
    start = nl + 1;
  }
  if (start < bytes.length) out.push({ text: bytes.toString('utf8', start), ok: false, complete: false });
  return out;
}

/** Intact record JSON texts of a log, including those inside intact compressed blocks. */
function intactRecords(bytes: Buffer): Set<string> {
  const out = new Set<string>();
  for (const l of linesOf(bytes)) {
    if (!l.ok) continue;
    if (l.text.startsWith('{"op":"block"')) {
      try {
        const block = JSON.parse(l.text) as { z: string };
        for (const inner of linesOf(zlibInflate(block.z))) if (inner.ok && inner.text.startsWith('{"seq":')) out.add(recordOf(inner.text));
      } catch {
        // a block whose CRC passes but does not inflate holds nothing servable
      }
    } else if (l.text.startsWith('{"seq":')) out.add(recordOf(l.text));
  }
  return out;
}

function zlibInflate(z: string): Buffer {
  return inflateRawSync(Buffer.from(z, 'base64'));
}

function recordOf(line: string): string {
  const at = line.indexOf(',"record":');
  return line.slice(at + ',"record":'.length, line.length - ',"crc":"xxxxxxxx"}'.length);
}

function normal(json: string): string {
  try {
    return JSON.stringify(JSON.parse(json));
  } catch {
    return json;
  }
}

/**
 * What open may have cut from `before` to leave `after`: only a torn tail (the removed part holds
 * no damaged complete line and no commit line, and `after` is a prefix of `before`).
 */
function assertOnlyTornCut(before: Buffer, after: Buffer, what: string): void {
  if (after.equals(before)) return;
  assert.ok(after.length < before.length && before.subarray(0, after.length).equals(after), `${what}: the log was changed, not cut`);
  for (const l of linesOf(before.subarray(after.length))) {
    if (!l.complete) continue;
    assert.ok(l.ok && l.text.startsWith('{"seq":'), `${what}: a cut took a line that is not a torn tail: ${l.text.slice(0, 80)}`);
  }
}

/** One damaged copy of a base store, put through open, reads, verify, rebuild and salvage. */
async function logCase(base: string, work: string, r: () => number, stats: FuzzStats): Promise<void> {
  const dir = join(work, `case-${stats.cases}`);
  cpSync(base, dir, { recursive: true });
  const log = join(dir, 'contexts', 'default', 'log.jsonl');
  const { out, kind } = mutate(readFileSync(log), r);
  stats.mutations[kind] = (stats.mutations[kind] ?? 0) + 1;
  writeFileSync(log, out);
  const valid = new Set([...intactRecords(out)].map(normal));
  const what = `case ${stats.cases} (${kind})`;
  let store: Store | null = null;
  try {
    store = await Store.open(dir);
    stats.opened += 1;
    assertOnlyTornCut(out, readFileSync(log), `${what} open`);
    try {
      for await (const json of store.analogies.streamJson()) assert.ok(valid.has(normal(json)), `${what}: stream served a record no intact line holds: ${json.slice(0, 80)}`);
    } catch (err) {
      if (err instanceof assert.AssertionError) throw err;
      expectCatalogued(err, LOG_CODES, `${what} stream`);
    }
    for (const id of genAnalogies(40, 1801).map((a) => a.id)) {
      try {
        const got = await store.analogies.get(id);
        assert.ok(valid.has(normal(JSON.stringify(got))) || got.deleted_at !== null, `${what}: get served a record no intact line holds: ${id}`);
      } catch (err) {
        if (err instanceof assert.AssertionError) throw err;
        if (isSoftlogicError(err) && (err.code === 'NOT_FOUND' || err.code === 'PURGED')) continue;
        expectCatalogued(err, LOG_CODES, `${what} get`);
      }
    }
    await store.verify();
    try {
      await store.rebuild();
    } catch (err) {
      expectCatalogued(err, LOG_CODES, `${what} rebuild`);
      stats.refused += 1;
    }
    assertOnlyTornCut(out, readFileSync(log), `${what} rebuild`);
    try {
      await store.rebuild({ salvage: true });
    } catch (err) {
      throw new assert.AssertionError({ message: `${what}: salvage failed: ${String((err as Error).stack ?? err)}` });
    }
    stats.salvaged += 1;
    const kept = new Set([...intactRecords(readFileSync(log))].map(normal));
    const asideDir = join(dir, 'salvaged');
    const aside = existsSync(asideDir) ? readdirSync(asideDir).map((n) => readFileSync(join(asideDir, n), 'utf8')).join('') : '';
    for (const l of linesOf(out)) {
      if (!l.ok || !l.text.startsWith('{"seq":')) continue;
      assert.ok(kept.has(normal(recordOf(l.text))) || aside.includes(l.text), `${what}: salvage lost an intact line: ${l.text.slice(0, 80)}`);
    }
    const report = await store.verify();
    assert.equal(report.valid, true, `${what}: not valid after salvage: ${JSON.stringify(report.issues.slice(0, 2))}`);
  } catch (err) {
    if (err instanceof assert.AssertionError) throw err;
    expectCatalogued(err, LOG_CODES, what);
    stats.refused += 1;
  } finally {
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One damaged copy of a backup, restored. */
async function backupCase(backup: string, work: string, r: () => number, stats: FuzzStats): Promise<void> {
  const file = join(work, `case-${stats.cases}.slbak`);
  const target = join(work, `restored-${stats.cases}`);
  const bytes = readFileSync(backup);
  const { out, kind } = mutate(bytes, r);
  stats.mutations[`backup-${kind}`] = (stats.mutations[`backup-${kind}`] ?? 0) + 1;
  writeFileSync(file, out);
  try {
    await Store.restore(file, target, { verify: true });
    stats.restores_ok += 1;
  } catch (err) {
    expectCatalogued(err, BACKUP_CODES, `backup case ${stats.cases} (${kind})`);
    stats.restores_refused += 1;
    assert.equal(existsSync(join(target, 'store.json')), false, 'a refused restore left a store');
  } finally {
    rmSync(file, { force: true });
    rmSync(target, { recursive: true, force: true });
  }
}

export async function fuzz(work: string, seed: number, logCases: number, backupCases: number): Promise<FuzzStats> {
  const r = rng(seed);
  const bases = await fuzzBases(work);
  const stats: FuzzStats = { cases: 0, refused: 0, opened: 0, salvaged: 0, restores_refused: 0, restores_ok: 0, mutations: {} };
  for (let i = 0; i < logCases; i++, stats.cases++) await logCase(i % 2 === 0 ? bases.plain : bases.compacted, work, r, stats);
  for (let i = 0; i < backupCases; i++, stats.cases++) await backupCase(bases.backup, work, r, stats);
  return stats;
}
