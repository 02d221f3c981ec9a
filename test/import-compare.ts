/**
 * What the import tests compare: generated analogy values of every id shape, and what a store
 * holds, record by record and version by version (see dump).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { openStore, type Store } from '../src/index.js';
import { cli, paddedAnalogy, rng } from './helpers.js';

/**
 * `n` analogy values of a few hundred bytes: ids (UUIDv4 or string) first or not, some without,
 * about one in ten repeating an earlier id (a new version), some with created_at, some in the
 * original system's shape ({"type":"analogy",...}).
 */
export function values(n: number, seed: number): Array<Record<string, unknown>> {
  const r = rng(seed);
  const ids: string[] = [];
  // Membership by set: a scan of `ids` per value made 40,000 values cost seconds.
  const seen = new Set<string>();
  const out: Array<Record<string, unknown>> = [];
  for (let i = 0; i < n; i++) {
    // Quotes and brackets inside a string: the array reader must not take them for structure.
    const c = paddedAnalogy(i, r, 'padding to make lines of a few hundred bytes, as real records are: padding, padding, "quoted" ]} padding');
    const pick = r();
    const id = ids.length > 0 && pick < 0.1 ? ids[Math.floor(r() * ids.length)] : pick < 0.2 ? null : pick < 0.6 ? randomUUID() : `item-${seed}-${i}`;
    if (id !== null && !seen.has(id)) {
      ids.push(id);
      seen.add(id);
    }
    const shape = r();
    if (id === null) out.push(c);
    else if (shape < 0.9) out.push({ id, ...c });
    else if (shape < 0.95) out.push({ id, ...c, created_at: `2020-01-0${1 + (i % 9)}T00:00:00Z` });
    else out.push({ type: 'analogy', id, ...c, reasoning: 'kept under metadata.legacy' });
  }
  return out;
}

/** An array with elements written several ways: compact, indented, and spaced across lines. */
export function arrayText(vs: unknown[]): string {
  return '[\n' + vs.map((v, k) => (k % 3 === 0 ? JSON.stringify(v) : k % 3 === 1 ? JSON.stringify(v, null, 2) : JSON.stringify(v).replace(/,"/g, ' ,\n\t"'))).join(',\n') + '\n]\n';
}

/**
 * What a store holds, independent of the import's own clock (times from `since` on) and, unless
 * kept, of its workflow ids: every record's versions (newest first), keyed by its id where the
 * input gave one, else by the line it came from.
 */
export async function dump(store: Store, given: Set<string>, since = '2021', keepWorkflow = false): Promise<Map<string, unknown[]>> {
  const normal = (a: Record<string, unknown>) => {
    const { workflow_id: workflow, id, ...rest } = a;
    for (const k of ['created_at', 'updated_at']) if (typeof rest[k] === 'string' && (rest[k] as string) >= since) rest[k] = 'import time';
    return { id: given.has(id as string) ? id : 'minted', ...rest, ...(keepWorkflow ? { workflow_id: workflow } : {}) };
  };
  const out = new Map<string, unknown[]>();
  for await (const a of store.analogies.stream()) {
    const key = given.has(a.id) ? a.id : `line ${(a.metadata as { i: number }).i}`;
    out.set(key, (await store.analogies.history(a.id)).map((h) => normal(h as unknown as Record<string, unknown>)));
  }
  return out;
}

export function givenIds(vs: Array<Record<string, unknown>>): Set<string> {
  return new Set(vs.flatMap((v) => (typeof v.id === 'string' ? [v.id] : [])));
}

/**
 * The CLI's import (`args`) into a new store under `dir` with the kill point after a decompressed
 * copy set: it must not be reached, the records must equal `expected` and no copy be left.
 */
export async function cliWithoutCopy(dir: string, args: string[], expected: Map<string, unknown[]>, given: Set<string>): Promise<void> {
  const storeDir = join(dir, `cli-${args[0]}`);
  await (await openStore(storeDir, { create: true })).close();
  const run = cli(storeDir, args, { env: { ...process.env, SOFTLOGIC_KILL_AT: 'import-after-gunzip' } });
  assert.equal(run.signal, null, `${args.join(' ')}: not killed after a decompressed copy`);
  assert.equal(run.status, 0, run.stdout + run.stderr);
  const store = await openStore(storeDir);
  try {
    assert.deepEqual(await dump(store, given), expected);
    const tmp = join(storeDir, 'tmp');
    assert.deepEqual(existsSync(tmp) ? readdirSync(tmp).filter((n) => n.startsWith('gunzip-')) : [], []);
  } finally {
    await store.close();
  }
}
