/**
 * Property test of crash safety (issue 3): SIGKILL `analogies import` / `workflows resume` of a
 * 200k-line file at >= 20 random moments (fixed seed), and after every kill check that the
 * store holds exactly the committed batches (the first items of the file, each once); at the
 * end every round is completed by `workflows resume` alone and holds every item exactly once,
 * record for record equal to the input. No wall-clock budget: a loaded machine only makes it slower.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { initStore, openStore } from '../src/index.js';
import { cli, cliOk, cliSpawn, rng, tempDir } from './helpers.js';

const N = 200_000;
const BATCH = 2000;
const MIN_KILLS = 20;
/** Kills per round at most, so that rounds end and get checked whole. */
const KILLS_PER_ROUND = 8;

interface Item {
  id: string;
  source_domain: string;
  target_domain: string;
  quality_score: number;
  metadata: { i: number };
}

function writeBigFile(path: string): Item[] {
  const r = rng(31337);
  const parts: string[] = [];
  const items: Item[] = [];
  for (let i = 0; i < N; i++) {
    const item = {
        id: `k${i}`,
        source_domain: `d${Math.floor(r() * 50)}`,
        target_domain: `t${Math.floor(r() * 50)}`,
        quality_score: Math.round(r() * 1000) / 1000,
        concept_mappings: { a: 'b', c: 'd' },
        frame_mappings: { F: 'G' },
        tags: ['x'],
        metadata: { i },
      };
    items.push(item);
    parts.push(JSON.stringify(item));
  }
  writeFileSync(path, parts.join('\n') + '\n');
  return items;
}

/** The context's records are exactly items 0..n-1 of the input, each once, with its content, at version 1. */
async function assertFirstItems(store: Awaited<ReturnType<typeof openStore>>, context: string, items: Item[], n: number, label: string): Promise<void> {
  let count = 0;
  for await (const a of store.analogies.stream({ context })) {
    const i = (a.metadata as { i: number }).i;
    const want = items[i];
    assert.ok(want !== undefined && i < n, `${label}: item ${i} is there but only ${n} were committed`);
    assert.deepEqual([a.id, a.source_domain, a.target_domain, a.quality_score, a.version], [want.id, want.source_domain, want.target_domain, want.quality_score, 1], `${label}: item ${i}`);
    count += 1;
  }
  assert.equal(count, n, `${label}: ${count} records, ${n} committed`);
}

interface Peek {
  status: string;
  items_processed: number;
  items_total: number;
}

/** The workflow row as SQLite has it, read-only (no recovery, no resume). */
function peek(storeDir: string, wf: string): Peek | undefined {
  const db = new Database(join(storeDir, 'knowledge.sqlite'), { readonly: true, fileMustExist: true });
  try {
    return db.prepare('SELECT status, items_processed, items_total FROM workflows WHERE workflow_id = ?').get(wf) as Peek | undefined;
  } finally {
    db.close();
  }
}

/**
 * Runs the CLI and SIGKILLs it `delayMs` after `armed()` first holds (polled every 10 ms), if it
 * is still running; true when killed. Arming on the store's state, not on the clock alone, makes
 * kills land inside processing however loaded the machine is.
 */
function runAndKill(storeDir: string, args: string[], armed: () => boolean, delayMs: number): Promise<{ killed: boolean; code: number | null; stdout: string }> {
  return new Promise((resolve) => {
    const child = cliSpawn(storeDir, args);
    let stdout = '';
    let killed = false;
    let timer: NodeJS.Timeout | undefined;
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.resume();
    const poll = setInterval(() => {
      if (!armed()) return;
      clearInterval(poll);
      timer = setTimeout(() => {
        if (child.exitCode === null && child.signalCode === null) killed = child.kill('SIGKILL');
      }, delayMs);
    }, 10);
    child.on('exit', (code) => {
      clearInterval(poll);
      clearTimeout(timer);
      resolve({ killed, code, stdout });
    });
  });
}

test(`SIGKILL at >= ${MIN_KILLS} random points of import / resume: every item applied exactly once`, { timeout: 900_000 }, async () => {
  const started = Date.now();
  const dir = tempDir('softlogic-kill-');
  const storeDir = join(dir, 'store');
  const file = join(dir, 'big.jsonl');
  const items = writeBigFile(file);
  await (await initStore(storeDir)).close();
  const r = rng(20240601);
  let kills = 0;
  let effectiveKills = 0;
  const rounds: Array<{ context: string; wf: string }> = [];

  for (let round = 0; kills < MIN_KILLS; round++) {
    const context = `r${round}`;
    const wf = `w${round}`;
    rounds.push({ context, wf });
    for (let inRound = 0; inRound < KILLS_PER_ROUND; ) {
      const state = peek(storeDir, wf);
      if (state?.status === 'completed') break;
      let args: string[];
      let delay: number;
      let armed: () => boolean = () => true;
      if (!state) {
        args = ['analogies', 'import', file, '--context', context, '--workflow-id', wf, '--batch-size', String(BATCH)];
        // Most kills once the first chunk is committed (inside processing); some at any moment
        // (staging, opening). Records with their own ids take the pipelined path, so a whole
        // import can end within ~3 s: the unarmed kills land within that.
        if (r() < 0.7) {
          armed = () => (peek(storeDir, wf)?.items_processed ?? 0) > 0;
          delay = r() * 1500;
        } else delay = 200 + r() * 2500;
      } else if (state.status === 'pending') {
        // An import killed after staging leaves its workflow pending: resume must finish it.
        args = ['workflows', 'resume'];
        delay = 450 + r() * 1300;
      } else {
        assert.equal(state.status, 'processing', `unexpected status ${state.status}`);
        args = ['workflows', 'resume'];
        delay = 450 + r() * 1300;
      }
      const before = state?.items_processed ?? -1;
      if (state && r() < 0.7) {
        armed = () => (peek(storeDir, wf)?.items_processed ?? 0) > before;
        delay = r() * 1500;
      }
      const run = await runAndKill(storeDir, args, armed, delay);
      if (!run.killed) {
        assert.equal(run.code, 0, `softlogic ${args.join(' ')} failed: ${run.stdout.slice(0, 1000)}`);
        // A run nobody killed finishes the round's workflow, whatever state it found it in.
        assert.equal(peek(storeDir, wf)?.status, 'completed', `softlogic ${args.join(' ')} ran to its end but ${wf} is not completed`);
        continue;
      }
      kills += 1;
      inRound += 1;

      // Reopen without resuming: exactly the committed batches are there, each once.
      const store = await openStore(storeDir, { resume: false });
      try {
        const exists = (await store.workflows.list()).find((w) => w.workflow_id === wf);
        // A kill before the import created its context leaves none (counting it would be CONTEXT_NOT_FOUND).
        const count = (await store.contexts.list()).some((c) => c.name === context) ? await store.analogies.count({ context }) : 0;
        if (!exists) {
          assert.equal(count, 0, `kill ${kills}: records without a workflow`);
          assert.ok(!existsSync(join(storeDir, 'contexts', context, 'log.jsonl')) || count === 0);
        } else {
          const processed = exists.items_processed;
          assert.equal(count, processed, `kill ${kills}: ${count} records but items_processed ${processed}`);
          assert.ok(processed % BATCH === 0 || processed === N, `kill ${kills}: items_processed ${processed} is not a batch boundary`);
          assert.equal(exists.error_count, 0);
          await assertFirstItems(store, context, items, processed, `kill ${kills}`);
          if (processed !== before && processed > 0) effectiveKills += 1;
        }
      } finally {
        await store.close();
      }
    }
  }
  console.log(`# ${kills} kills (${effectiveKills} moved progress) over ${rounds.length} round(s) in ${Math.round((Date.now() - started) / 1000)} s`);
  assert.ok(kills >= MIN_KILLS);

  // `workflows resume` alone finishes whatever is left (a round never started is imported); then every round is checked whole.
  cliOk(storeDir, ['workflows', 'resume']);
  for (const { context, wf } of rounds) {
    if (!peek(storeDir, wf)) cliOk(storeDir, ['analogies', 'import', file, '--context', context, '--workflow-id', wf, '--batch-size', String(BATCH)]);
    const shown = cliOk(storeDir, ['workflows', 'show', wf]);
    assert.equal(shown.status, 'completed', `round ${wf} not finished by resume`);
    assert.equal(shown.items_total, N);
    assert.equal(shown.items_processed, N);
    assert.equal(shown.error_count, 0);
    const store = await openStore(storeDir, { resume: false });
    try {
      assert.equal(await store.analogies.count({ context }), N);
      const ids = new Set<string>();
      let versions = 0;
      for await (const a of store.analogies.stream({ context })) {
        ids.add(a.id);
        if (a.version !== 1) versions += 1;
      }
      assert.equal(ids.size, N, 'duplicate or missing ids');
      for (const i of [0, 1, 1999, 2000, 99_999, N - 1]) assert.ok(ids.has(`k${i}`));
      assert.equal(versions, 0, `${versions} records were applied more than once (version > 1)`);
      await assertFirstItems(store, context, items, N, `round ${wf}`);
    } finally {
      await store.close();
    }
    const logText = readFileSync(join(storeDir, 'contexts', context, 'log.jsonl'), 'latin1');
    let recordLines = 0;
    for (let at = logText.indexOf('\n{"seq":'); at >= 0; at = logText.indexOf('\n{"seq":', at + 1)) recordLines += 1;
    if (logText.startsWith('{"seq":')) recordLines += 1;
    assert.equal(recordLines, N, 'every item is in the log exactly once');
  }
  const v = cli(storeDir, ['verify']);
  assert.equal(v.status, 0, v.stdout.slice(0, 2000));
  assert.equal((v.json as { valid: boolean }).valid, true);
});
