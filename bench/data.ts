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
