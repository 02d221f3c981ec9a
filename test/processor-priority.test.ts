/**
 * On a PostgreSQL store (shared by replicas, imports paced) the service's processing thread runs
 * at nice 10, the server's own thread at its default; on a directory store neither is changed.
 * Read from /proc (Linux: each thread's nice value), so skipped elsewhere.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { getPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store } from '../src/index.js';
import { ServerActivity } from '../src/service/activity.js';
import { workerProcessor } from '../src/service/processor.js';
import { inScratchDirectory, usePostgres } from './pg-helpers.js';

const linux = existsSync('/proc/thread-self');
const db = await usePostgres();
if (!('skip' in db)) inScratchDirectory();

/** This process's threads' nice values (field 19 of /proc/self/task/<tid>/stat). */
function niceValues(): number[] {
  return readdirSync('/proc/self/task').flatMap((tid) => {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      return [Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16])];
    } catch {
      return []; // a thread that ended meanwhile
    }
  });
}

async function nicedThreads(store: Store): Promise<{ before: number[]; during: number[] }> {
  const before = niceValues();
  const processor = workerProcessor(store, new ServerActivity(store.kind !== 'embedded').state());
  try {
    // Nothing to resume: the call only starts the processing thread and waits for its answer.
    assert.deepEqual(await processor.resume(2000), []);
    return { before, during: niceValues() };
  } finally {
    await processor.close();
  }
}

test('the processing thread runs at nice 10 on a PostgreSQL store, the server thread at its default', { skip: !linux ? 'no /proc/thread-self' : 'skip' in db ? db.skip : false }, async () => {
  if ('skip' in db) return;
  const store = await Store.init(db.freshStoreUrl());
  try {
    const mainBefore = getPriority(process.pid);
    const { before, during } = await nicedThreads(store);
    assert.equal(before.filter((n) => n === 10).length, 0);
    assert.equal(during.filter((n) => n === 10).length, 1, `one thread at nice 10 (${during.join(',')})`);
    assert.equal(getPriority(process.pid), mainBefore, "the server's thread keeps its priority");
  } finally {
    await store.close();
  }
});

test('on a directory store the processing thread keeps the default priority', { skip: !linux ? 'no /proc/thread-self' : false }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'softlogic-priority-'));
  const store = await Store.open(join(dir, 'store'), { create: true });
  try {
    const { during } = await nicedThreads(store);
    assert.equal(during.filter((n) => n === 10).length, 0, during.join(','));
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
