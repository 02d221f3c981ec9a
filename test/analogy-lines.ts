/**
 * The ~300 B analogy lines of the large-import suites (store-import-fast, store-import-bulk) and
 * the content fields they compare.
 */
import type { Analogy } from '../src/core/records.js';

/** Lines of ~300 B; `n` of them make a file past the 8 MB parallel-staging threshold at n >= 30k. */
export function analogyLine(i: number, r: () => number): Record<string, unknown> {
  return {
    source_domain: `d${Math.floor(r() * 40)}`,
    target_domain: `t${Math.floor(r() * 40)}`,
    quality_score: Math.round(r() * 1000) / 1000,
    concept_mappings: { [`a${i % 7}`]: 'b', c: `é${i % 3}` },
    frame_mappings: { [`F${i % 5}`]: 'G' },
    tags: [`tag${i % 9}`, 'x'],
    metadata: { i, note: 'a line long enough to make the file cross the parallel staging threshold quickly' },
  };
}

export function contentOf(a: Analogy | Record<string, unknown>): Record<string, unknown> {
  const { source_domain, target_domain, quality_score, concept_mappings, frame_mappings, tags, metadata } = a as Analogy;
  return { source_domain, target_domain, quality_score, concept_mappings, frame_mappings, tags, metadata };
}
