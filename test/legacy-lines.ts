/**
 * A large file of the original system's analogy lines, for the import tests: the lines of its
 * sample store (the fixture, and ../shared's whole analogies.jsonl when present) over and over,
 * each copy with its own ids (`<prefix><original id>-<copy>`), some ids repeated later (new
 * versions), a few deletions, and (`bad`) lines the schema or JSON refuses.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const FIXTURE = [resolve(here, 'fixtures/legacy-analogies.jsonl'), resolve(here, '../../test/fixtures/legacy-analogies.jsonl')].find((p) => existsSync(p)) as string;
export const LEGACY_SAMPLE = '/work/shared/legacy-store-sample/storage/contexts/default/analogies.jsonl';

/** The original system's lines at hand, as written (Python's separators). */
export function legacySampleLines(): string[] {
  const read = (path: string) => readFileSync(path, 'utf8').split('\n').filter((l) => l.trim() !== '');
  return [...read(FIXTURE), ...(existsSync(LEGACY_SAMPLE) ? read(LEGACY_SAMPLE) : [])];
}

/** The refused lines `bad` mixes in, each with the field its issue names. */
export const BAD_LINES: Array<{ line: string; field: string }> = [
  // (A value the schema refuses, such as a quality of 7, is kept under metadata.legacy.invalid, not refused.)
  { line: `{"type": "analogy", "id": "bad-size", "reasoning": "${'x'.repeat(65_300)}"}`, field: '(record)' },
  { line: '{"type": "analogy", "id": "bad-json", "source_pair": ["a",, "b"]}', field: '(line)' },
  { line: '{"type": "analogy", "id": "bad-dup", "reasoning": "x", "reasoning": "y"}', field: 'reasoning' },
  { line: '{"type": "deletion"}', field: 'target_id' },
  { line: '{"type": "analogy", "id": "bad-context", "context": "c", "context": "d"}', field: 'context' },
];

/**
 * `n` lines (at least): copies of the sample's lines with new ids; from the second copy on, one
 * line in 500 repeats an id of the copy before (a new version, quality changed); in the last 5%
 * (a deletion ends the pipelined part of an import) one line in 500 deletes one; `bad`: one of BAD_LINES every 5,000 lines (at lines 4,999, 9,999, ...).
 */
export function legacyFile(n: number, prefix: string, bad = false): string[] {
  const sample = legacySampleLines().filter((l) => l.includes('"type": "analogy"'));
  const out: string[] = [];
  for (let copy = 0; out.length < n; copy++) {
    for (const line of sample) {
      const k = out.length;
      if (bad && k % 5000 === 4998) {
        out.push(BAD_LINES[Math.floor(k / 5000) % BAD_LINES.length].line);
        continue;
      }
      const withId = line.replace(/"id": "([^"]+)"/, (_, id: string) => `"id": "${prefix}${id}-${copy}"`);
      if (copy > 0 && k % 500 === 7) out.push(withId.replace(/"id": "([^"]+)-\d+"/, `"id": "$1-${copy - 1}"`).replace(/"quality_score": [0-9.]+/, '"quality_score": 0.5'));
      else if (k > n * 0.95 && k % 500 === 11) out.push(`{"type": "deletion", "target_id": "${/"id": "([^"]+)"/.exec(withId)?.[1].replace(/-\d+$/, `-${copy - 1}`)}"}`);
      else out.push(withId);
    }
  }
  return out;
}
