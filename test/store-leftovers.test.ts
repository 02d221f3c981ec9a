import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { openStore, Store } from '../src/index.js';
import { auditEvents, cli, cliOk, genAnalogies, tempDir, writeJsonl } from './helpers.js';

/** The pid of a process that has exited (its number is not reused this soon in practice). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

async function seeded(n = 40): Promise<{ dir: string; storeDir: string }> {
  const dir = tempDir();
  const storeDir = join(dir, 'store');
  const store = await openStore(storeDir, { create: true });
  try {
    await store.analogies.import(writeJsonl(join(dir, 'a.jsonl'), genAnalogies(n, 1701)));
  } finally {
    await store.close();
  }
  return { dir, storeDir };
}

test('issue 13.9: leftovers of killed runs are listed in stats and verify, removed by doctor (or the next open) when their owner is dead', async () => {
  const { storeDir } = await seeded();
  const dead = deadPid();
  const old = new Date(Date.now() - 3600_000);
  const make = (path: string, dir = false) => {
    mkdirSync(dir ? path : dirname(path), { recursive: true });
    if (!dir) writeFileSync(path, 'x'.repeat(100));
    else writeFileSync(join(path, 'knowledge.sqlite'), 'y'.repeat(50));
  };
  make(join(storeDir, 'backups', `.backup-${dead}-2026`), true);
  make(join(storeDir, 'backups', `b.slbak.partial-${dead}`));
  make(join(storeDir, 'backups', `.backup-${process.pid}-live`), true); // owner alive: kept
  make(join(storeDir, 'contexts', 'default', 'log.jsonl.compacting'));
  const orphan = join(storeDir, 'workflows', 'pending', '01a21b27-b8a4-7000-af4a-a4240662232d.jsonl');
  make(orphan);
  utimesSync(orphan, old, old);
  const fresh = join(storeDir, 'workflows', 'pending', '01a21b27-b8a4-7000-af4a-a4240662232e.jsonl');
  make(fresh); // being staged right now, for all we know: kept
  const restoring = `${storeDir}.restoring-${dead}-2026`;
  make(restoring, true);

  const store = await Store.open(storeDir, { repair: true, resume: false });
  try {
    const kinds = (ls: Array<{ kind: string; removable: boolean }>) => ls.map((l) => `${l.kind}:${l.removable}`).sort();
    const expected = ['backup_partial:true', 'backup_work:false', 'backup_work:true', 'compacting_log:true', 'restore_staging:true', 'staged_orphan:false', 'staged_orphan:true'];
    assert.deepEqual(kinds((await store.stats()).leftovers), expected);
    const report = await store.verify();
    assert.equal(report.valid, true);
    assert.deepEqual(kinds(report.leftovers), expected);
    assert.ok((await store.stats()).leftovers.find((l) => l.kind === 'restore_staging')!.path.startsWith('../'));
  } finally {
    await store.close();
  }
  const doctor = cliOk(storeDir, ['doctor']) as { removed: Array<{ kind: string; bytes: number }>; remaining: Array<{ kind: string }> };
  assert.deepEqual(doctor.removed.map((l) => l.kind).sort(), ['backup_partial', 'backup_work', 'compacting_log', 'restore_staging', 'staged_orphan']);
  assert.deepEqual(doctor.remaining.map((l) => l.kind).sort(), ['backup_work', 'staged_orphan']);
  assert.equal(existsSync(restoring), false);
  assert.equal(existsSync(orphan), false);
  assert.equal(existsSync(fresh), true);
  assert.deepEqual(readdirSync(join(storeDir, 'backups')), [`.backup-${process.pid}-live`]);
  assert.ok(auditEvents(storeDir).some((e) => e.event === 'leftovers_removed'));
  assert.equal(cliOk(storeDir, ['analogies', 'query', '--limit', '100']).count, 40);
});

test('issue 13.9: a backup SIGKILLed mid-way leaves its work directory and partial file; the next open removes them', async () => {
  const { storeDir } = await seeded();
  const killed = cli(storeDir, ['backup'], { env: { ...process.env, SOFTLOGIC_KILL_AT: 'backup-mid-container' } });
  assert.equal(killed.signal, 'SIGKILL');
  const left = readdirSync(join(storeDir, 'backups'));
  assert.ok(left.some((n) => n.startsWith('.backup-')) && left.some((n) => n.includes('.partial-')), left.join(','));
  const stats = cliOk(storeDir, ['stats']) as { leftovers: unknown[] };
  assert.deepEqual(stats.leftovers, []);
  assert.deepEqual(readdirSync(join(storeDir, 'backups')), []);
  assert.ok(auditEvents(storeDir).some((e) => e.event === 'leftovers_removed'));
});

test('issue 13.9: restore --force SIGKILLed between its renames is finished by the next open (and by the next restore)', async () => {
  const { dir, storeDir } = await seeded(30);
  const backup = cliOk(storeDir, ['backup', '--out', join(dir, 'b.slbak')]) as { file: string };
  // The store changes after the backup: the restore must bring back the backup's 30.
  cliOk(storeDir, ['analogies', 'import', writeJsonl(join(dir, 'more.jsonl'), genAnalogies(5, 1702))]);
  for (const next of [['stats'], ['restore', backup.file, '--force']]) {
    const killed = cli(storeDir, ['restore', backup.file, '--force'], { env: { ...process.env, SOFTLOGIC_KILL_AT: 'restore-between-renames' } });
    assert.equal(killed.signal, 'SIGKILL');
    assert.equal(existsSync(storeDir), false, 'killed between the renames: nothing at DIR');
    const aside = readdirSync(dir).filter((n) => n.startsWith(`${basename(storeDir)}.old-`));
    assert.ok(aside.length >= 1);
    const r = cli(storeDir, next);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.equal(cliOk(storeDir, ['analogies', 'query', '--limit', '100']).count, 30);
    assert.equal(cliOk(storeDir, ['verify']).valid, true);
    // (A restore that finishes the swap then replaces that store: its audit log goes aside with it.)
    if (next[0] === 'stats') assert.ok(auditEvents(storeDir).some((e) => e.event === 'restore_finished'));
    assert.equal(readdirSync(dir).filter((n) => n.includes('.restoring-')).length, 0);
    assert.equal(existsSync(join(storeDir, 'restore-complete.json')), false);
  }
});

test('issue 13.9: an export SIGKILLed mid-way (its partial file outside the store) and a gzip import\'s decompressed copy an earlier version left are listed, then removed by the next open', async () => {
  // Enough records that the export's stream has opened and written its partial file.
  const { dir, storeDir } = await seeded(3000);
  const leftovers = async () => {
    const store = await Store.open(storeDir, { repair: true, resume: false });
    try {
      return (await store.stats()).leftovers.map((l) => `${l.kind}:${l.removable}`).sort();
    } finally {
      await store.close();
    }
  };
  const out = join(dir, 'elsewhere', 'export.jsonl');
  mkdirSync(dirname(out), { recursive: true });
  const killed = cli(storeDir, ['export', '--out', out], { env: { ...process.env, SOFTLOGIC_KILL_AT: 'export-after-context' } });
  assert.equal(killed.signal, 'SIGKILL');
  assert.equal(readdirSync(dirname(out)).filter((n) => n.includes('.partial-')).length, 1);
  // The partial file and the marker naming it in the store.
  assert.deepEqual(await leftovers(), ['export_partial:true', 'export_partial:true']);

  // A gzip'd JSON array is decompressed as it is staged (issue 16), so its import killed where a
  // decompressed copy used to be complete is not killed and writes no copy; a copy an earlier
  // version left (its owner dead) is listed, and this command's open removes it with the export's leftovers.
  const big = genAnalogies(30_000, 1702, 'gz-');
  const gz = join(dir, 'big.json.gz');
  writeFileSync(gz, gzipSync(JSON.stringify(big)));
  const notKilled = cli(storeDir, ['analogies', 'import', gz], { env: { ...process.env, SOFTLOGIC_KILL_AT: 'import-after-gunzip' } });
  assert.equal(notKilled.signal, null);
  assert.equal(notKilled.status, 0, notKilled.stdout + notKilled.stderr);
  mkdirSync(join(storeDir, 'tmp'), { recursive: true });
  assert.deepEqual(readdirSync(join(storeDir, 'tmp')).filter((n) => n.startsWith('gunzip-')), []);
  writeFileSync(join(storeDir, 'tmp', `gunzip-${deadPid()}-01a21b27-b8a4-7000-af4a-a4240662232d.jsonl`), JSON.stringify(big[0]) + '\n');
  assert.deepEqual(readdirSync(dirname(out)), []);
  assert.deepEqual(readdirSync(join(storeDir, 'tmp')).filter((n) => n.startsWith('output-')), []);
  assert.deepEqual(await leftovers(), ['import_temp:true']);

  const stats = cliOk(storeDir, ['stats']) as { leftovers: unknown[] };
  assert.deepEqual(stats.leftovers, []);
  assert.deepEqual(readdirSync(join(storeDir, 'tmp')).filter((n) => n.startsWith('gunzip-')), []);
  assert.equal(cliOk(storeDir, ['analogies', 'query', '--limit', '50000']).count, 33_000);
});
