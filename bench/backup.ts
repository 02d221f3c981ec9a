/**
 * npm run bench -- backup [--n 1000000]
 * A store of N analogies; backup MB/s and restore MB/s (bytes of the .slbak over wall time)
 * beside a plain recursive copy of the store directory (the baseline for both), and export to
 * JSON lines in analogies/s beside a plain line-by-line read of the context's log.
 */
import { cpSync, rmSync } from 'node:fs';
import { openStore } from '../src/index.js';
import { backupStore } from '../src/backend/embedded/backup.js';
import { restoreStore } from '../src/backend/embedded/restore.js';
import { readLines } from '../src/backend/embedded/log-reader.js';
import { writeAnalogyFile } from './data.js';
import { argValue, cleanup, dirBytes, report, scratchDir } from './util.js';

export default async function backup(args: string[]): Promise<void> {
  const n = argValue(args, 'n', 1_000_000);
  const dir = scratchDir('backup');
  try {
    const file = `${dir}/input.jsonl`;
    await writeAnalogyFile(file, n);
    const store = await openStore(`${dir}/store`, { create: true });
    await store.analogies.import(file);
    store.backend.db.pragma('wal_checkpoint(TRUNCATE)');
    rmSync(file);
    const storeBytes = dirBytes(`${dir}/store`);

    let t = performance.now();
    cpSync(`${dir}/store`, `${dir}/copy`, { recursive: true });
    const copySeconds = (performance.now() - t) / 1000;
    rmSync(`${dir}/copy`, { recursive: true });

    const b = await backupStore(store.backend, { out: `${dir}/b.slbak` });

    t = performance.now();
    const exp = await store.export({ out: `${dir}/export.jsonl` });
    const exportSeconds = (performance.now() - t) / 1000;
    t = performance.now();
    let lines = 0;
    for (const line of readLines(store.backend.layout.log('default'))) if (line.text.startsWith('{"seq"')) lines += 1;
    const readSeconds = (performance.now() - t) / 1000;
    await store.close();
    if (exp.records !== n) throw new Error(`exported ${exp.records} of ${n}`);
    rmSync(`${dir}/export.jsonl`);

    const r = restoreStore(`${dir}/b.slbak`, `${dir}/restored`);
    rmSync(`${dir}/restored`, { recursive: true });
    t = performance.now();
    const rv = restoreStore(`${dir}/b.slbak`, `${dir}/restored2`, { verify: true });
    const restoreVerifySeconds = (performance.now() - t) / 1000;
    if (!rv.verify?.valid) throw new Error('restored store does not verify');

    const mb = b.bytes / 1e6;
    report('backup', {
      n,
      store_mb: +(storeBytes / 1e6).toFixed(1),
      backup_mb: +mb.toFixed(1),
      backup_seconds: +b.seconds.toFixed(2),
      backup_mb_per_second: +(mb / b.seconds).toFixed(1),
      restore_seconds: +r.seconds.toFixed(2),
      restore_mb_per_second: +(mb / r.seconds).toFixed(1),
      restore_with_full_verify_seconds: +restoreVerifySeconds.toFixed(2),
      restore_with_full_verify_mb_per_second: +(mb / restoreVerifySeconds).toFixed(1),
      baseline_dir_copy_seconds: +copySeconds.toFixed(2),
      baseline_dir_copy_mb_per_second: +(storeBytes / 1e6 / copySeconds).toFixed(1),
      export_jsonl_seconds: +exportSeconds.toFixed(2),
      export_analogies_per_second: Math.round(n / exportSeconds),
      export_mb: +(exp.bytes / 1e6).toFixed(1),
      baseline_log_read_lines_per_second: Math.round(lines / readSeconds),
      targets: { backup_mb_per_second: 50, restore_mb_per_second: 50, export_analogies_per_second: 200_000 },
    });
  } finally {
    cleanup(dir);
  }
}
