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

export async function writeAnalogyFile(path: string, n: number, seed = 42): Promise<number> {
  const rand = prng(seed);
  const out = createWriteStream(path);
  let bytes = 0;
  let buf: string[] = [];
  for (let i = 0; i < n; i++) {
    buf.push(JSON.stringify(generateAnalogy(rand, i)));
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
