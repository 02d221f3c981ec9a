/**
 * Fuzzing of the input parsers (issue 13): JSON-lines import lines (both staging paths), the
 * NPZ reader, YAML/JSON frames documents and the backup container's framing, fed random damage
 * of valid inputs and crafted hostile ones. The property: every input is either accepted or
 * refused with an error from the catalog that names the input's fault (never INTERNAL, never a
 * stack overflow or a plain Error), each within a time bound, with memory bounded overall.
 * Run briefly by test/fuzz-input.test.ts (fixed seed) and at length by `npm run bench -- fuzz-input`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SoftlogicError, type ErrorCode } from '../src/core/errors.js';
import { duplicateKeyIn, valueIssue } from '../src/core/json-limits.js';
import { encodeEmbeddingsNpz, readEmbeddingsNpz } from '../src/embeddings/npz.js';
import { stageBlock } from '../src/methods/analogies/stage-block.js';
import { parseFramesDocument } from '../src/reasoning/frames.js';
import { openContainer, readMembers } from '../src/backend/backup-container.js';
import { assertManifestNames } from '../src/backend/embedded/backup-names.js';
import { backupStore } from '../src/backend/embedded/backup.js';
import { Store } from '../src/api/store.js';
import type { StagingTarget } from '../src/core/staged-put.js';
import { closeSync } from 'node:fs';
import { genAnalogies, rng, tempDir, writeJsonl } from './helpers.js';

export interface FuzzOptions {
  seed: number;
  /** cases per parser */
  cases: number;
  /** slowest acceptable single case, ms */
  maxCaseMs: number;
}

export interface FuzzReport {
  cases: Record<string, number>;
  refused: Record<string, Record<string, number>>;
  slowest_ms: Record<string, number>;
  rss_growth_mb: number;
  failures: string[];
}

/** What each parser may answer with; anything else is a failure of the property. */
const ALLOWED: Record<string, ReadonlySet<ErrorCode>> = {
  lines: new Set<ErrorCode>(),
  npz: new Set<ErrorCode>(['UNSUPPORTED_FORMAT', 'INVALID_INPUT', 'DIMENSION_MISMATCH']),
  frames: new Set<ErrorCode>(['INVALID_INPUT', 'EMPTY_INPUT']),
  backup: new Set<ErrorCode>(['BACKUP_INVALID']),
};

const target: StagingTarget = { workflowId: '01a2b3c4-0000-7000-8000-000000000009', context: 'default', now: '2026-01-02T03:04:05.678Z' };

type Rand = () => number;

/** Random damage: byte flips, insertions, deletions, truncation, duplicated spans. */
function damage(r: Rand, input: Buffer): Buffer {
  let b = Buffer.from(input);
  const n = 1 + Math.floor(r() * 4);
  for (let k = 0; k < n && b.length > 0; k++) {
    const at = Math.floor(r() * b.length);
    switch (Math.floor(r() * 6)) {
      case 0:
        b[at] ^= 1 << Math.floor(r() * 8);
        break;
      case 1:
        b = Buffer.concat([b.subarray(0, at), Buffer.from([Math.floor(r() * 256)]), b.subarray(at)]);
        break;
      case 2:
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + Math.floor(r() * 16))]);
        break;
      case 3:
        b = b.subarray(0, at);
        break;
      case 4: {
        const len = Math.min(b.length - at, 1 + Math.floor(r() * 64));
        b = Buffer.concat([b.subarray(0, at + len), b.subarray(at, at + len), b.subarray(at + len)]);
        break;
      }
      default:
        b[at] = '{}[]",:0e-9\\'.charCodeAt(Math.floor(r() * 12));
    }
  }
  return b;
}

const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);

function craftedLines(r: Rand): string[] {
  const f = '"source_domain":"a","target_domain":"b","quality_score":0.5,"concept_mappings":{},"frame_mappings":{},"tags":[]';
  return [
    `{${f},"metadata":{"x":${deep(32_000)}}}`,
    `{"id":"x",${f},"metadata":{"x":${deep(1 + Math.floor(r() * 200))}}}`,
    `{${f},"metadata":{"a":1,"a":2}}`,
    `{${f},"metadata":{"x":1e999}}`,
    `{${f},"metadata":{"x":${'9'.repeat(400)}}}`,
    `{${f},"metadata":{"x":"${'\\u0000'.repeat(1000)}"}}`,
    `{${f},"metadata":{"__proto__":{"polluted":true}}}`,
    `{"id":"x","context":"../../etc",${f}}`,
    `{"type":"deletion","target_id":"${'x'.repeat(300)}"}`,
    `{${f},"metadata":{"s":"${'x'.repeat(70_000)}"}}`,
  ];
}

function craftedYaml(r: Rand): string[] {
  const laughs = ['a0: &a0 [lol,lol,lol,lol,lol,lol,lol,lol,lol]'];
  for (let i = 1; i < 10; i++) laughs.push(`a${i}: &a${i} [${Array.from({ length: 9 }, () => `*a${i - 1}`).join(',')}]`);
  return [
    laughs.join('\n') + '\nframes: [{name: F, metadata: {x: *a9}}]\n',
    `frames:\n  - name: F\n    metadata: {x: ${deep(10_000)}}\n`,
    `frames:\n  - &f {name: F, definition: "${'x'.repeat(70_000)}"}\n  - *f\n`,
    'frames:\n  - name: F\n    name: G\n',
    `frames: [${Array.from({ length: 1 + Math.floor(r() * 200) }, (_, i) => `*x${i}`).join(',')}]\n`,
    '!!binary AAAA\n',
    'frames:\n  - !!js/function "function(){}"\n',
    `${'- '.repeat(5000)}x\n`,
    '{"frames":[{"name":"F","name":"G"}]}',
    `{"frames":[{"name":"F","metadata":{"x":${deep(20_000)}}}]}`,
  ];
}

function classify(report: FuzzReport, parser: string, input: string, fn: () => void, options: FuzzOptions): void {
  report.cases[parser] = (report.cases[parser] ?? 0) + 1;
  const t0 = performance.now();
  try {
    fn();
  } catch (err) {
    const code = err instanceof SoftlogicError ? err.code : `${(err as Error)?.name ?? typeof err}: ${String((err as Error)?.message ?? err).slice(0, 120)}`;
    const counts = (report.refused[parser] ??= {});
    counts[code] = (counts[code] ?? 0) + 1;
    if (!(err instanceof SoftlogicError) || !ALLOWED[parser].has(err.code)) {
      if (report.failures.length < 20) report.failures.push(`${parser}: ${code} on ${JSON.stringify(input.slice(0, 160))}`);
    }
  }
  const ms = performance.now() - t0;
  report.slowest_ms[parser] = Math.max(report.slowest_ms[parser] ?? 0, Math.round(ms));
  if (ms > options.maxCaseMs && report.failures.length < 20) report.failures.push(`${parser}: ${Math.round(ms)} ms on ${JSON.stringify(input.slice(0, 160))}`);
}

/** One staged line: neither staging path may throw; the checks after JSON.parse must not either. */
function fuzzLine(line: Buffer): void {
  for (const fast of [true, false]) stageBlock(0, line, target, { lenient: true, maxIssues: 10, fast });
  const text = line.toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return;
  }
  valueIssue(value);
  duplicateKeyIn(text);
}

async function backupBytes(): Promise<Buffer> {
  const root = tempDir();
  const store = await Store.open(join(root, 's'), { create: true });
  try {
    await store.analogies.import(writeJsonl(join(root, 'in.jsonl'), genAnalogies(30, 1)));
    const b = await backupStore(store.backend, { out: join(root, 'b.slbak') });
    return readFileSync(b.file);
  } finally {
    await store.close();
  }
}

function readBackup(path: string): void {
  const c = openContainer(path);
  try {
    assertManifestNames(c.manifest.contexts);
    readMembers(
      c,
      () => undefined,
      () => undefined,
    );
  } finally {
    closeSync(c.fd);
  }
}

export async function fuzzInputs(options: FuzzOptions): Promise<FuzzReport> {
  const r = rng(options.seed);
  const report: FuzzReport = { cases: {}, refused: {}, slowest_ms: {}, rss_growth_mb: 0, failures: [] };
  const rss0 = process.memoryUsage().rss;
  const dir = tempDir();

  const lines = genAnalogies(8, options.seed).map((a, i) => Buffer.from(JSON.stringify(i % 2 ? a : { ...a, id: undefined })));
  for (const l of craftedLines(r)) classify(report, 'lines', l, () => fuzzLine(Buffer.from(l)), options);
  for (let i = 0; i < options.cases; i++) {
    const l = damage(r, lines[i % lines.length]);
    classify(report, 'lines', l.toString('latin1'), () => fuzzLine(l), options);
  }

  const npz = Buffer.from(encodeEmbeddingsNpz({ ids: ['a', 'b', 'c'], dimension: 4, vectors: Float32Array.from({ length: 12 }, (_, i) => i / 7) }));
  for (let i = 0; i < options.cases; i++) {
    const b = damage(r, npz);
    classify(report, 'npz', b.toString('latin1'), () => readEmbeddingsNpz(b), options);
  }

  const yaml = 'frames:\n  - name: Commerce\n    definition: buying\n    core_elements: [{name: Buyer}, {name: Goods}]\n    lexical_units: &lu [buy, sell]\n  - name: Trade\n    lexical_units: *lu\nrelations: []\n';
  for (const y of craftedYaml(r)) classify(report, 'frames', y, () => parseFramesDocument(y, 'auto'), options);
  for (let i = 0; i < options.cases; i++) {
    const y = damage(r, Buffer.from(yaml)).toString('utf8');
    classify(report, 'frames', y, () => parseFramesDocument(y, 'auto'), options);
  }

  const backup = await backupBytes();
  const path = join(dir, 'fuzz.slbak');
  for (let i = 0; i < Math.ceil(options.cases / 4); i++) {
    // Damage near the framing (the start, the headers, the trailer) more often than in the bulk.
    const b = damage(r, backup);
    writeFileSync(path, b);
    classify(report, 'backup', `backup case ${i}`, () => readBackup(path), options);
  }
  report.rss_growth_mb = Math.round((process.memoryUsage().rss - rss0) / 1048576);
  return report;
}
