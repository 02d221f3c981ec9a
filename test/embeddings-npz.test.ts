import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SoftlogicError } from '../src/core/errors.js';
import { encodeNpy, parseNpy } from '../src/embeddings/npy.js';
import { encodeEmbeddingsNpz, encodeNpz, parseNpz, readEmbeddingsNpz, writeEmbeddingsNpz } from '../src/embeddings/npz.js';
import { errCode as code } from './helpers.js';

const PYTHON = '/usr/bin/python3';

/** Why numpy tests cannot run, or undefined when they can. */
function numpyUnavailable(): string | undefined {
  const r = spawnSync(PYTHON, ['-c', 'import numpy'], { encoding: 'utf8' });
  if (r.error) return `${PYTHON} cannot be run (${r.error.message}); run scripts/setup-debian.sh`;
  if (r.status !== 0) return `numpy cannot be imported by ${PYTHON} (${r.stderr.trim().split('\n').pop()}); run scripts/setup-debian.sh`;
  return undefined;
}
const skipNumpy = numpyUnavailable();
if (skipNumpy) console.log(`# skipping NumPy round-trip tests: ${skipNumpy}`);

function python(script: string, ...args: string[]): string {
  const r = spawnSync(PYTHON, ['-c', script, ...args], { encoding: 'utf8' });
  assert.equal(r.status, 0, `python failed: ${r.stderr}`);
  return r.stdout;
}

const dir = mkdtempSync(join(tmpdir(), 'softlogic-npz-test-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));


const IDS = ['king', 'queen', 'café', '日本', 'a\u{1F600}b'];

test('numpy.savez float32 + unicode ids are read exactly', { skip: skipNumpy }, () => {
  const file = join(dir, 'savez.npz');
  python(
    `import numpy as np, sys
ids = np.array(['king', 'queen', 'caf\\u00e9', '\\u65e5\\u672c', 'a\\U0001F600b'])
v = (np.arange(15, dtype=np.float32).reshape(5, 3) / 7).astype(np.float32)
np.savez(sys.argv[1], ids=ids, vectors=v)`,
    file,
  );
  const t = readEmbeddingsNpz(file);
  assert.deepEqual(t.ids, IDS);
  assert.equal(t.dimension, 3);
  assert.deepEqual(Array.from(t.vectors), Array.from(new Float32Array(15).map((_, i) => Math.fround(i / 7))));
});

test('numpy.savez_compressed float64 is read and narrowed to float32', { skip: skipNumpy }, () => {
  const file = join(dir, 'compressed.npz');
  python(
    `import numpy as np, sys
np.savez_compressed(sys.argv[1], ids=np.array(['x', 'y']), vectors=np.array([[0.1, 0.2], [1e-3, -5.5]], dtype=np.float64))`,
    file,
  );
  const t = readEmbeddingsNpz(file);
  assert.deepEqual(t.ids, ['x', 'y']);
  assert.deepEqual(Array.from(t.vectors), [0.1, 0.2, 1e-3, -5.5].map(Math.fround));
});

test('files we write load in numpy as unicode ids + float32 N x D', { skip: skipNumpy }, () => {
  const file = join(dir, 'ours.npz');
  const vectors = new Float32Array([1.5, -2, 3.25, 0, 1e-7, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]);
  writeEmbeddingsNpz(file, { ids: IDS, dimension: 3, vectors });
  const out = python(
    `import numpy as np, sys, json
z = np.load(sys.argv[1])
print(json.dumps({'files': sorted(z.files), 'idsKind': z['ids'].dtype.kind, 'dtype': str(z['vectors'].dtype),
  'shape': list(z['vectors'].shape), 'ids': z['ids'].tolist(), 'v': z['vectors'].ravel().tolist(),
  'c': bool(z['vectors'].flags['C_CONTIGUOUS'])}))`,
    file,
  );
  const r = JSON.parse(out) as { files: string[]; idsKind: string; dtype: string; shape: number[]; ids: string[]; v: number[]; c: boolean };
  assert.deepEqual(r.files, ['ids', 'vectors']);
  assert.equal(r.idsKind, 'U');
  assert.equal(r.dtype, 'float32');
  assert.deepEqual(r.shape, [5, 3]);
  assert.deepEqual(r.ids, IDS);
  assert.deepEqual(r.v, Array.from(vectors));
  assert.equal(r.c, true);
  // The members are deflated, like savez_compressed.
  assert.ok(readFileSync(file).includes(Buffer.from([8, 0])), 'expected deflate method in the zip headers');
});

test('numpy refusals: Fortran order, int dtype, big-endian, pickled objects, NaN/Infinity', { skip: skipNumpy }, () => {
  const make = (name: string, expr: string): string => {
    const file = join(dir, `${name}.npz`);
    python(`import numpy as np, sys\nids = np.array(['a', 'b'])\nnp.savez(sys.argv[1], ids=ids, vectors=${expr})`, file);
    return file;
  };
  assert.equal(code(() => readEmbeddingsNpz(make('fortran', "np.asfortranarray(np.ones((2, 3), dtype=np.float32))"))), 'UNSUPPORTED_FORMAT');
  assert.equal(code(() => readEmbeddingsNpz(make('int', 'np.ones((2, 3), dtype=np.int32)'))), 'UNSUPPORTED_FORMAT');
  assert.equal(code(() => readEmbeddingsNpz(make('bigendian', "np.ones((2, 3), dtype='>f4')"))), 'UNSUPPORTED_FORMAT');
  assert.equal(code(() => readEmbeddingsNpz(make('object', 'np.array([[1, None], [2, 3]], dtype=object)'))), 'UNSUPPORTED_FORMAT');
  const nan = make('nan', 'np.array([[1, 2, 3], [4, np.nan, 6]], dtype=np.float32)');
  try {
    readEmbeddingsNpz(nan);
    assert.fail('NaN accepted');
  } catch (err) {
    assert.ok(err instanceof SoftlogicError);
    assert.equal(err.code, 'INVALID_INPUT');
    assert.equal(err.details.row, 1);
    assert.equal(err.details.column, 1);
    assert.match(err.message, /"b".*NaN.*column 1/);
  }
  assert.equal(code(() => readEmbeddingsNpz(make('inf', 'np.array([[1, 2, np.inf], [4, 5, 6]])'))), 'INVALID_INPUT');
});

test('round trip without numpy: encode then decode is exact', () => {
  const vectors = new Float32Array(4 * 7).map((_, i) => Math.sin(i) * 3);
  const ids = ['α', 'beta', 'gamma delta', 'x'];
  const back = readEmbeddingsNpz(encodeEmbeddingsNpz({ ids, dimension: 7, vectors }));
  assert.deepEqual(back.ids, ids);
  assert.equal(back.dimension, 7);
  assert.deepEqual(back.vectors, vectors);
  const arr = parseNpy(encodeNpy({ dtype: 'float64', shape: [2, 2], data: new Float64Array([1, 2, 3, 4]) }));
  assert.equal(arr.dtype, 'float64');
  assert.deepEqual(arr.shape, [2, 2]);
  // Vocabulary-sized tables (no argument-spread limits).
  const many = Array.from({ length: 200_000 }, (_, i) => `w${i}`);
  assert.deepEqual(readEmbeddingsNpz(encodeEmbeddingsNpz({ ids: many, dimension: 1, vectors: new Float32Array(200_000) })).ids, many);
  // Empty tables are legal (an empty context).
  assert.deepEqual(readEmbeddingsNpz(encodeEmbeddingsNpz({ ids: [], dimension: 5, vectors: new Float32Array(0) })).ids, []);
});

test('bad files: non-zip, truncated zip, truncated npy, missing arrays, count mismatch, duplicates', () => {
  const good = encodeEmbeddingsNpz({ ids: ['a', 'b'], dimension: 2, vectors: new Float32Array([1, 2, 3, 4]) });
  assert.equal(code(() => readEmbeddingsNpz(Buffer.from('hello, not a zip'))), 'UNSUPPORTED_FORMAT');
  assert.equal(code(() => readEmbeddingsNpz(new Uint8Array(0))), 'UNSUPPORTED_FORMAT');
  assert.equal(code(() => readEmbeddingsNpz(good.subarray(0, good.byteLength - 30))), 'UNSUPPORTED_FORMAT');
  assert.equal(code(() => readEmbeddingsNpz(good.subarray(0, 40))), 'UNSUPPORTED_FORMAT');
  const npy = encodeNpy({ dtype: 'float32', shape: [10, 10], data: new Float32Array(100) });
  assert.equal(code(() => parseNpy(npy.subarray(0, npy.byteLength - 4))), 'UNSUPPORTED_FORMAT');
  assert.equal(code(() => parseNpy(npy.subarray(0, 20))), 'UNSUPPORTED_FORMAT');
  const onlyVectors = parseNpz(good);
  onlyVectors.delete('ids');
  assert.equal(code(() => readEmbeddingsNpz(encodeNpz(onlyVectors))), 'INVALID_INPUT');
  const file = join(dir, 'missing.npz');
  writeFileSync(file, encodeEmbeddingsNpz({ ids: ['a'], dimension: 1, vectors: new Float32Array([1]) }).slice());
  assert.equal(readEmbeddingsNpz(file).ids[0], 'a');
  assert.equal(code(() => readEmbeddingsNpz(join(dir, 'nope.npz'))), 'FILE_NOT_FOUND');
  assert.equal(code(() => encodeEmbeddingsNpz({ ids: ['a', 'b'], dimension: 3, vectors: new Float32Array(4) })), 'DIMENSION_MISMATCH');
  assert.equal(code(() => readEmbeddingsNpz(encodeEmbeddingsNpz({ ids: ['a', 'a'], dimension: 1, vectors: new Float32Array(2) }))), 'INVALID_INPUT');
});
