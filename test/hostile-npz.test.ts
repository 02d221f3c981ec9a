/**
 * NPZ zip bombs (issue 13, item 6): an .npz of a few MB standing for gigabytes is refused from
 * its declared sizes before anything is inflated, an entry that inflates past what it declares
 * is stopped there, through the library, the CLI and HTTP, with memory and time bounded and the
 * service answering meanwhile.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { constants, deflateRawSync } from 'node:zlib';
import { readEmbeddingsNpz, encodeEmbeddingsNpz } from '../src/embeddings/npz.js';
import { CLI_PATH, cliAny, cliOk, tempDir } from './helpers.js';
import { startHarness } from './service-helpers.js';

/** A raw deflate stream of `chunks` x 16 MiB of zeros after `head`, built without inflating anything. */
function zeroStream(head: Buffer, chunks: number): Buffer {
  const first = deflateRawSync(head, { finishFlush: constants.Z_FULL_FLUSH });
  const zeros = deflateRawSync(Buffer.alloc(16 << 20), { finishFlush: constants.Z_FULL_FLUSH });
  return Buffer.concat([first, ...Array.from({ length: chunks }, () => zeros), Buffer.from([0x03, 0x00])]);
}

/** A zip of deflated entries, each with the uncompressed size it *declares* (which may lie). */
function zip(entries: Array<{ name: string; data: Buffer; declared: number }>): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(8, 8);
    local.writeUInt32LE(0, 14);
    local.writeUInt32LE(e.data.length, 18);
    local.writeUInt32LE(e.declared, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(8, 10);
    central.writeUInt32LE(0, 16);
    central.writeUInt32LE(e.data.length, 20);
    central.writeUInt32LE(e.declared, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, e.data);
    centrals.push(central, name);
    offset += 30 + name.length + e.data.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

function npyHeader(descr: string, shape: string): Buffer {
  let h = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  h += ' '.repeat((64 - ((10 + h.length + 1) % 64)) % 64) + '\n';
  const b = Buffer.alloc(10);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]).copy(b);
  b.writeUInt16LE(h.length, 8);
  return Buffer.concat([b, Buffer.from(h, 'latin1')]);
}

const ROWS = 3_300_000;
const ids = (): { name: string; data: Buffer; declared: number } => {
  const raw = Buffer.concat([npyHeader('<U1', '(1,)'), Buffer.from([0x61, 0, 0, 0])]);
  return { name: 'ids.npy', data: deflateRawSync(raw), declared: raw.length };
};
/** vectors.npy: 3.3M x 300 float32 of zeros (3.96 GB inflated, ~4 MB compressed). */
function bomb(declared: 'honest' | 'lying'): Buffer {
  const head = npyHeader('<f4', `(${ROWS}, 300)`);
  const data = zeroStream(head, 236);
  return zip([ids(), { name: 'vectors.npy', data, declared: declared === 'honest' ? head.length + ROWS * 300 * 4 : head.length + 1200 }]);
}

function timed<T>(fn: () => T): { value: T | Error; ms: number; rssGrowth: number } {
  const rss0 = process.memoryUsage().rss;
  const t0 = performance.now();
  let value: T | Error;
  try {
    value = fn();
  } catch (err) {
    value = err as Error;
  }
  return { value, ms: performance.now() - t0, rssGrowth: process.memoryUsage().rss - rss0 };
}

test('the library refuses both bombs quickly, without inflating them', () => {
  for (const kind of ['honest', 'lying'] as const) {
    const file = bomb(kind);
    assert.ok(file.length > 3_000_000 && file.length < 5_000_000, `${file.length} bytes`);
    const r = timed(() => readEmbeddingsNpz(file));
    assert.ok(r.value instanceof Error, kind);
    assert.equal((r.value as { code?: string }).code, 'INVALID_INPUT', `${kind}: ${(r.value as Error).message}`);
    assert.match((r.value as Error).message, kind === 'honest' ? /over the 1073741824-byte limit/ : /inflates past the \d+ bytes it declares/);
    assert.ok(r.ms < 3000, `${kind}: ${r.ms} ms`);
    assert.ok(r.rssGrowth < 200 * 1024 * 1024, `${kind}: RSS grew ${r.rssGrowth} bytes`);
  }
  // An honest, ordinary file still reads.
  const ok = encodeEmbeddingsNpz({ ids: ['a', 'b'], dimension: 3, vectors: Float32Array.from([1, 2, 3, 4, 5, 6]) });
  assert.deepEqual(readEmbeddingsNpz(ok).ids, ['a', 'b']);
});

test('CLI embeddings import refuses the bomb: exit 2, bounded memory (max RSS), nothing stored', () => {
  const root = tempDir();
  const store = join(root, 's');
  cliOk(store, ['init']);
  const file = join(root, 'bomb.npz');
  writeFileSync(file, bomb('honest'));
  const lying = join(root, 'lying.npz');
  writeFileSync(lying, bomb('lying'));
  for (const f of [file, lying]) {
    const r = spawnSync('/usr/bin/time', ['-f', 'maxrss_kb=%M', process.execPath, CLI_PATH, '--store', store, '--json', 'embeddings', 'import', f], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 2, r.stdout + r.stderr.slice(0, 500));
    assert.equal((JSON.parse(r.stdout) as { error: { code: string } }).error.code, 'INVALID_INPUT');
    const kb = Number(/maxrss_kb=(\d+)/.exec(r.stderr)?.[1]);
    assert.ok(kb > 0 && kb < 400 * 1024, `max RSS ${kb} KB`);
  }
  // nothing stored: no embedding settings, no concept
  assert.equal(cliAny(store, ['embeddings', 'info']).json.settings, null);
  assert.equal(cliAny(store, ['concepts', 'list']).json.concepts.length, 0);
});

test('HTTP upload of the bomb: 400, and /health keeps answering meanwhile', async () => {
  const h = await startHarness();
  try {
    const body = bomb('lying');
    let slowest = 0;
    let polling = true;
    const poller = (async () => {
      while (polling) {
        const t0 = performance.now();
        assert.equal((await fetch(`${h.base}/health`)).status, 200);
        slowest = Math.max(slowest, performance.now() - t0);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    for (const b of [body, bomb('honest')]) {
      const r = await fetch(`${h.base}/api/embeddings/import`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: new Uint8Array(b) });
      assert.equal(r.status, 400, await r.clone().text());
      assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'INVALID_INPUT');
    }
    polling = false;
    await poller;
    assert.ok(slowest < 2000, `/health took ${slowest} ms at worst`);
  } finally {
    await h.close();
  }
});
