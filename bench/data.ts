/** Deterministic analogy generator for benchmarks (~300-byte records, fixed seed). */
import { createWriteStream } from 'node:fs';

export function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const DOMAINS = ['biology', 'music', 'finance', 'physics', 'cooking', 'warfare', 'sports', 'politics', 'medicine', 'architecture', 'law', 'astronomy'];
const WORDS = ['cell', 'note', 'gene', 'chord', 'bank', 'river', 'atom', 'orbit', 'recipe', 'heat', 'army', 'general', 'team', 'coach', 'vote', 'party', 'doctor', 'patient', 'beam', 'arch'];

export function generateAnalogy(rand: () => number, i: number): Record<string, unknown> {
  const w = () => WORDS[Math.floor(rand() * WORDS.length)];
  return {
    source_domain: DOMAINS[Math.floor(rand() * DOMAINS.length)],
    target_domain: DOMAINS[Math.floor(rand() * DOMAINS.length)],
    quality_score: Math.round(rand() * 10000) / 10000,
    concept_mappings: { [w() + '_a']: w(), [w() + '_b']: w() },
    frame_mappings: { ['frame_' + w()]: 'frame_' + w() },
    tags: ['tag' + Math.floor(rand() * 20), 'bench'],
    metadata: { origin: 'benchmark', n: i, note: 'generated analogy for throughput tests' },
  };
}

/** What ids the generated lines give (first in the line, as exports write them): none, UUIDv4s, or strings. */
export type IdShape = 'none' | 'uuid4' | 'string';

/** A deterministic UUIDv4 (random bits from the generator's own stream, not the analogies'). */
function uuid4(rand: () => number): string {
  const hex = (n: number) => Array.from({ length: n }, () => Math.floor(rand() * 16).toString(16)).join('');
  return `${hex(8)}-${hex(4)}-4${hex(3)}-${'89ab'[Math.floor(rand() * 4)]}${hex(3)}-${hex(12)}`;
}

export async function writeAnalogyFile(path: string, n: number, seed = 42, ids: IdShape = 'none', idSeed = seed): Promise<number> {
  const rand = prng(seed);
  const idRand = prng(idSeed + 1_000_003);
  const withId = (a: Record<string, unknown>, i: number) => (ids === 'none' ? a : { id: ids === 'uuid4' ? uuid4(idRand) : `item-${idSeed}-${i}`, ...a });
  const out = createWriteStream(path);
  let bytes = 0;
  let buf: string[] = [];
  for (let i = 0; i < n; i++) {
    buf.push(JSON.stringify(withId(generateAnalogy(rand, i), i)));
    if (buf.length === 10_000 || i === n - 1) {
      const text = buf.join('\n') + '\n';
      bytes += Buffer.byteLength(text);
      if (!out.write(text)) await new Promise<void>((r) => out.once("drain", () => r()));
      buf = [];
    }
  }
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  return bytes;
}

/** Python's json.dumps separators (`", "` and `": "`), which the original system wrote its lines with. */
function pythonJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(pythonJson).join(', ')}]`;
  if (typeof value === 'object' && value !== null) return `{${Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}: ${pythonJson(v)}`).join(', ')}}`;
  return JSON.stringify(value);
}

// The original's batch timestamps: microseconds and an explicit UTC offset (Python's isoformat()).
const LEGACY_EPOCH = Date.parse('2025-07-09T15:22:52Z');
function legacyTime(i: number): string {
  const micros = String(i % 1_000_000).padStart(6, '0');
  return new Date(LEGACY_EPOCH + Math.floor(i / 1000) * 1000).toISOString().slice(0, 19) + `.${micros}+00:00`;
}

/**
 * One line of the original system's analogies.jsonl (../shared/legacy-store-sample): `type`,
 * its batch's workflow_id, a UUIDv4, created_at with microseconds and an offset, source_pair /
 * target_pair (no domains), a free-text context, quality_score and reasoning, in that order,
 * with Python's separators. Like the sample (90 of its 94 lines have that shape), one line in 25
 * has one of the sample's other shapes: no fields at all, a concept pair with a relation,
 * `source_a`/`source_b`/`target_a`, or pairs and context without quality or reasoning.
 * Made from a generated analogy (its domains, quality, mappings and tags), with the id given.
 */
export function legacyLine(a: Record<string, unknown>, id: string, i: number): string {
  const mappings = Object.entries(a.concept_mappings as Record<string, string>);
  const head = { type: 'analogy', workflow_id: `batch_${Math.floor(i / 200)}`, id, created_at: legacyTime(i) };
  const pairs = { source_pair: mappings.map(([s]) => s), target_pair: mappings.map(([, t]) => t) };
  const context = `${String(a.source_domain)} to ${String(a.target_domain)} relationships`;
  const [[s0, t0], [s1]] = mappings;
  switch (i % 25 === 24 ? Math.floor(i / 25) % 4 : -1) {
    case 0:
      return pythonJson(head);
    case 1:
      return pythonJson({ ...head, source_concept: s0, target_concept: t0, relation: String(a.target_domain) });
    case 2:
      return pythonJson({ ...head, source_a: s0, source_b: s1, target_a: t0 });
    case 3:
      return pythonJson({ ...head, ...pairs, context });
    default:
      return pythonJson({ ...head, ...pairs, context, quality_score: a.quality_score, reasoning: `Both represent ${(a.tags as string[]).join(' and ')} pairings across ${context}` });
  }
}
