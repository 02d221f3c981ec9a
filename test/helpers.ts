/**
 * Shared test helpers for the store, CLI and workflow suites: temp dirs, a seeded data
 * generator, a brute-force reference filter, and a runner for the compiled CLI.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync, inflateRawSync } from 'node:zlib';
import { SoftlogicError } from '../src/core/errors.js';
import type { Analogy } from '../src/core/records.js';
import type { Store } from '../src/index.js';

const here = dirname(fileURLToPath(import.meta.url));
/** The compiled CLI: tests run from dist/test/, the CLI lives in dist/src/cli/. */
export const CLI_PATH = resolve(here, '../src/cli/main.js');

const tempDirs: string[] = [];
process.on('exit', () => {
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
});

/** A fresh directory under os.tmpdir(), removed when the test process exits. */
export function tempDir(prefix = 'softlogic-test-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(d);
  return d;
}

/** Deterministic PRNG (mulberry32): the same seed gives the same data on every run. */
/** `seed` with 1-3 random edits: a character of `alphabet` inserted or put in place of one, or one deleted. */
export function mutated(seed: string, r: () => number, alphabet: string): string {
  let line = seed;
  const edits = 1 + Math.floor(r() * 3);
  for (let e = 0; e < edits; e++) {
    const at = Math.floor(r() * (line.length + 1));
    const ch = alphabet[Math.floor(r() * alphabet.length)];
    const kind = Math.floor(r() * 3);
    if (kind === 0) line = line.slice(0, at) + ch + line.slice(at);
    else if (kind === 1) line = line.slice(0, at) + line.slice(at + 1);
    else line = line.slice(0, at) + ch + line.slice(at + 1);
  }
  return line;
}

export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const DOMAINS = ['finance', 'biology', 'music', 'war', 'cooking', 'sports', 'physics'];
export const TAGS = ['core', 'weak', 'review', 'gold', 'noisy'];
export const FRAMES = ['Commerce', 'Motion', 'Conflict', 'Ingestion', 'Performance'];
export const T0 = Date.parse('2021-01-01T00:00:00.000Z');
export const DAY = 86_400_000;

export interface GenAnalogy {
  id: string;
  source_domain: string;
  target_domain: string;
  quality_score: number;
  concept_mappings: Record<string, string>;
  frame_mappings: Record<string, string>;
  tags: string[];
  metadata: Record<string, unknown>;
  created_at: string;
}

/** n analogies with explicit ids, created_at spread over 1000 days, 3-decimal qualities. */
export function genAnalogies(n: number, seed: number, idPrefix = `s${seed}-`): GenAnalogy[] {
  const r = rng(seed);
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)];
  const out: GenAnalogy[] = [];
  for (let i = 0; i < n; i++) {
    const source = pick(DOMAINS);
    let target = pick(DOMAINS);
    if (target === source) target = DOMAINS[(DOMAINS.indexOf(source) + 1) % DOMAINS.length];
    const tags = TAGS.filter(() => r() < 0.3);
    const frames: Record<string, string> = {};
    for (const f of FRAMES) if (r() < 0.25) frames[f] = pick(FRAMES);
    out.push({
      id: `${idPrefix}${i}`,
      source_domain: source,
      target_domain: target,
      quality_score: Math.round(r() * 1000) / 1000,
      concept_mappings: { [`c${i}`]: `d${i}`, bank: 'river' },
      frame_mappings: frames,
      tags,
      metadata: { n: i, note: `item ${i}` },
      created_at: new Date(T0 + Math.floor(r() * 1000 * DAY)).toISOString(),
    });
  }
  return out;
}

/**
 * The body of a generated analogy line of a few hundred bytes, as real records are (the import
 * tests' shape): three draws of `r` in a fixed order, the rest from `i`.
 */
export function paddedAnalogy(i: number, r: () => number, note = 'padding to make lines of a few hundred bytes, as real records are; padding padding padding') {
  return {
    source_domain: `d${Math.floor(r() * 30)}`,
    target_domain: `t${Math.floor(r() * 30)}`,
    quality_score: Math.round(r() * 1000) / 1000,
    concept_mappings: { [`a${i % 7}`]: 'b' },
    frame_mappings: { [`F${i % 5}`]: 'G' },
    tags: [`tag${i % 9}`],
    metadata: { i, note },
  };
}

export function writeJsonl(path: string, values: unknown[]): string {
  writeFileSync(path, values.map((v) => JSON.stringify(v)).join('\n') + (values.length > 0 ? '\n' : ''));
  return path;
}

export function writeJsonArray(path: string, values: unknown[]): string {
  writeFileSync(path, JSON.stringify(values, null, 2));
  return path;
}

export function writeGzJsonl(path: string, values: unknown[]): string {
  writeFileSync(path, gzipSync(Buffer.from(values.map((v) => JSON.stringify(v)).join('\n') + '\n')));
  return path;
}

/** The filter criteria the store supports, as the reference implementation reads them. */
export interface RefFilter {
  domain?: string;
  min_quality?: number;
  max_quality?: number;
  tag?: string;
  frame_type?: string;
  created_after?: string;
  created_before?: string;
}

/** Brute-force reference: what a filter should match (created bounds are exclusive). */
export function matches(a: Pick<GenAnalogy, 'source_domain' | 'target_domain' | 'quality_score' | 'tags' | 'frame_mappings' | 'created_at'>, f: RefFilter): boolean {
  if (f.domain !== undefined && a.source_domain !== f.domain && a.target_domain !== f.domain) return false;
  if (f.min_quality !== undefined && !(a.quality_score >= f.min_quality)) return false;
  if (f.max_quality !== undefined && !(a.quality_score <= f.max_quality)) return false;
  if (f.tag !== undefined && !a.tags.includes(f.tag)) return false;
  if (f.frame_type !== undefined && !Object.prototype.hasOwnProperty.call(a.frame_mappings, f.frame_type)) return false;
  if (f.created_after !== undefined && !(Date.parse(a.created_at) > Date.parse(f.created_after))) return false;
  if (f.created_before !== undefined && !(Date.parse(a.created_at) < Date.parse(f.created_before))) return false;
  return true;
}

/** The input fields of a stored analogy, for comparing with what was imported. */
export function inputFields(a: Analogy | GenAnalogy): GenAnalogy {
  return {
    id: a.id,
    source_domain: a.source_domain,
    target_domain: a.target_domain,
    quality_score: a.quality_score,
    concept_mappings: a.concept_mappings,
    frame_mappings: a.frame_mappings,
    tags: a.tags,
    metadata: a.metadata,
    created_at: a.created_at,
  };
}

export interface CliResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** stdout parsed as one JSON document (undefined when it is not one) */
  json: unknown;
}

/** Runs `node dist/src/cli/main.js --store STORE --json ...args` and parses its stdout. */
export function cli(store: string, args: string[], options: { timeout?: number; env?: NodeJS.ProcessEnv } = {}): CliResult {
  const r = spawnSync(process.execPath, [CLI_PATH, '--store', store, '--json', ...args], {
    encoding: 'utf8',
    maxBuffer: 512 * 1024 * 1024,
    timeout: options.timeout ?? 120_000,
    env: options.env ?? process.env,
  });
  if (r.error) throw r.error;
  let json: unknown;
  try {
    json = JSON.parse(r.stdout);
  } catch {
    json = undefined;
  }
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr, json };
}

/** cli() with its JSON read loosely, for tests that look into error and report shapes. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary JSON shapes
export function cliAny(store: string, args: string[]): CliResult & { json: any } {
  return cli(store, args);
}

/** A CLI call that must succeed (exit 0) and print one JSON document. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary JSON shapes
export function cliOk(store: string, args: string[]): any {
  const r = cli(store, args);
  assert.equal(r.status, 0, `softlogic ${args.join(' ')} exited ${r.status}: ${r.stdout.slice(0, 2000)} ${r.stderr.slice(0, 2000)}`);
  assert.notEqual(r.json, undefined, `stdout of softlogic ${args.join(' ')} is not one JSON document: ${r.stdout.slice(0, 500)}`);
  return r.json;
}

export interface CliError {
  code: string;
  message: string;
  details: Record<string, unknown>;
}

/** A CLI call that must fail with the given exit status and print {"error":{...}} on stdout. */
export function cliErr(store: string, args: string[], exit = 2): CliError {
  const r = cli(store, args);
  const parsed = r.json as { error?: CliError } | undefined;
  assert.ok(parsed && parsed.error, `expected a JSON error from softlogic ${args.join(' ')}, got (exit ${r.status}) ${r.stdout.slice(0, 500)} ${r.stderr.slice(0, 500)}`);
  assert.equal(r.status, exit, `softlogic ${args.join(' ')}: expected exit ${exit}, got ${r.status}: ${r.stdout.slice(0, 500)}`);
  assert.equal(typeof parsed.error.code, 'string');
  assert.equal(typeof parsed.error.message, 'string');
  return parsed.error;
}

/** JSON lines printed by `analogies stream`. */
export function streamLines(store: string, args: string[]): Analogy[] {
  const r = cli(store, ['analogies', 'stream', ...args]);
  assert.equal(r.status, 0, `stream failed: ${r.stdout.slice(0, 500)} ${r.stderr.slice(0, 500)}`);
  return r.stdout
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as Analogy);
}

/** Spawns the CLI without waiting (for kill and concurrency tests). */
export function cliSpawn(store: string, args: string[], options: { env?: NodeJS.ProcessEnv } = {}): ChildProcess {
  return spawn(process.execPath, [CLI_PATH, '--store', store, '--json', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: options.env ?? process.env });
}

/** The code of the SoftlogicError a sync call throws. */
export function errCode(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof SoftlogicError, `expected a SoftlogicError, got ${String(err)}`);
    return err.code;
  }
  assert.fail('expected an error, got none');
}

export { collect } from '../src/api/async-iter.js';

/** The code of the SoftlogicError a (possibly async) call throws. */
export async function asyncErrCode(fn: () => unknown): Promise<string> {
  return (await asyncErr(async () => fn())).code;
}

/** Points GloVe's converted-vector cache at one directory shared by every test process. */
export function useTestGloveCache(): void {
  process.env.SOFTLOGIC_CACHE_DIR = join(tmpdir(), 'softlogic-test-glove-cache');
}

/** Two frames, a relation and an instance (YAML), shared by the frame tests of the library and service. */
export const COMMERCE_FRAMES_YAML = `frames:
  - name: Commerce
    definition: an exchange of goods for money
    core_elements:
      - {name: Buyer, type: Sentient}
      - {name: Goods}
    peripheral_elements:
      - {name: Seller}
    lexical_units: [buy.v, purchase.v]
  - name: Commerce_buy
    inherits_from: [Commerce]
    core_elements: [{name: Money}]
relations:
  - {source: Commerce_buy, target: Commerce, type: inherits_from, element_mappings: {Buyer: Buyer}}
instances:
  - instance_id: sale1
    frame_name: Commerce_buy
    element_bindings: {Buyer: "shop:customer", Goods: "shop:bread", Money: "shop:coin"}
    confidence: 0.9
`;

/**
 * Lines of an original-system analogies.jsonl, loose, broken and hostile: a record with an extra
 * field, a blank line, broken JSON, a record with an invalid id and values, a deletion of it, a
 * deletion of a record that never existed, one without a target, an unknown type, an array.
 */
export const LOOSE_LEGACY_LINES: readonly string[] = [
  JSON.stringify({ type: 'analogy', id: 'a1', source_domain: 'war', target_domain: 'chess', quality_score: 0.5, extra: 1 }),
  '',
  '{broken',
  JSON.stringify({ type: 'analogy', id: 'bad id with spaces', quality_score: 'high', tags: 'x' }),
  JSON.stringify({ type: 'deletion', target_id: 'a1' }),
  JSON.stringify({ type: 'deletion', target_id: 'never-existed' }),
  JSON.stringify({ type: 'deletion' }),
  JSON.stringify({ type: 'mystery' }),
  JSON.stringify([1, 2]),
];

export async function asyncErr(fn: () => Promise<unknown>): Promise<SoftlogicError> {
  try {
    await fn();
  } catch (err) {
    assert.ok(err instanceof SoftlogicError, `expected a SoftlogicError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected an error, got none');
}

/** Record lines (not commit lines) of a context's log, those inside compacted blocks included. */
export function logRecordLines(store: string, context = 'default'): string[] {
  return readFileSync(join(store, 'contexts', context, 'log.jsonl'), 'utf8')
    .split('\n')
    .flatMap((l) => (l.startsWith('{"op":"block"') ? blockLines(l) : [l]))
    .filter((l) => l.startsWith('{"seq":'));
}

/** The lines a compacted block line holds: base64 of raw deflate, decoded here independently of the store. */
export function blockLines(line: string): string[] {
  const block = JSON.parse(line) as { op: string; v: number; n: number; z: string };
  const raw = inflateRawSync(Buffer.from(block.z, 'base64'));
  assert.equal(raw.length, block.v);
  const lines = raw.toString('utf8').split('\n');
  assert.equal(lines.pop(), '');
  assert.equal(lines.length, block.n);
  return lines;
}

/** Audit events of a store. */
export function auditEvents(store: string): Array<Record<string, unknown>> {
  return readFileSync(join(store, 'audit.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Stable ordering for comparing sets of records. */
export function byId<T extends { id: string }>(xs: T[]): T[] {
  return [...xs].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Every streamed record's metadata.i (test data numbers its records so), asserting none is there twice. */
export async function itemsOnce(store: Store): Promise<Set<number>> {
  const seen = new Set<number>();
  for await (const a of store.analogies.stream()) {
    const i = (a.metadata as { i: number }).i;
    assert.ok(!seen.has(i), `item ${i} is there twice`);
    seen.add(i);
  }
  return seen;
}
