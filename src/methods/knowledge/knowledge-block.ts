import type { FieldIssue } from '../../core/schemas.js';
import type { StagingTarget } from '../../core/staged-put.js';
import { StagedLines } from '../../core/staged-lines.js';
import type { MergeStrategy } from './import-applier.js';
import { exportLine, stagedKnowledgeJson, stageRecordLine } from './knowledge-lines.js';
import { stageExportedLineFast } from '../analogies/stage-fast.js';
import { DEFAULT_CONTEXT } from '../../core/names.js';

/**
 * The stager of a JSON-lines export's blocks on the staging workers (stage-parallel.ts): each
 * analogy line (a bare analogy or `{"kind":"analogy",...}`) is validated and staged as the main
 * thread would stage it (knowledge-lines.ts; a bare line that gives its id first, by the byte
 * scanner of stage-fast.ts); every other line (contexts, other kinds) is handed
 * back as its text, for the main thread to handle in file order.
 */

export interface KnowledgeBlockOptions {
  override: string | undefined;
  merge: MergeStrategy;
  /** false stages every line by the general path (the differential test compares the two) */
  fast?: boolean;
}

/** What a block holds, in line order; line numbers count from the block's first line. */
export type KnowledgeRun =
  /** `count` staged items of `context`, the next `bytes` of the block's staged lines */
  | { context: string; count: number; bytes: number }
  /** a line for the main thread */
  | { line: number; text: string }
  /** a refused line's reasons */
  | { line: number; issues: FieldIssue[] };

export interface KnowledgeBlock {
  block: number;
  staged: Uint8Array;
  lines: number;
  runs: KnowledgeRun[];
}

export function stageBlock(block: number, data: Buffer, target: StagingTarget, options: KnowledgeBlockOptions, spare?: ArrayBuffer | null): KnowledgeBlock {
  const staged = new StagedLines(Math.ceil(data.length * 1.3), spare);
  const runs: KnowledgeRun[] = [];
  // A bare analogy line goes to this context.
  const bare = options.override ?? DEFAULT_CONTEXT;
  let open: { context: string; count: number; bytes: number } | null = null;
  const added = (context: string, before: number) => {
    if (open === null || open.context !== context) {
      open = { context, count: 0, bytes: 0 };
      runs.push(open);
    }
    open.count += 1;
    open.bytes += staged.length - before;
  };
  let lines = 0;
  let start = 0;
  while (start < data.length) {
    let nl = data.indexOf(10, start);
    if (nl < 0) nl = data.length;
    const from = start;
    start = nl + 1;
    lines += 1;
    const before = staged.length;
    if (options.fast !== false && stageExportedLineFast(data, from, nl > from && data[nl - 1] === 13 ? nl - 1 : nl, target.now, bare, options.merge, staged)) {
      added(bare, before);
      continue;
    }
    const text = data.toString('utf8', from, nl);
    const l = exportLine(text, lines);
    if (l === null) continue;
    const staging = 'kind' in l && l.kind === 'analogy' ? stageRecordLine(l, options.override, options.merge) : null;
    if (staging === null || 'issues' in staging) {
      open = null;
      runs.push(staging ? { line: lines, issues: staging.issues } : 'error' in l ? { line: lines, issues: [{ line: lines, field: '(line)', reason: l.error }] } : { line: lines, text });
      continue;
    }
    staged.add(stagedKnowledgeJson(staging.item, staging.context, target.now));
    added(staging.context, before);
  }
  return { block, staged: staged.transferable(), lines, runs };
}
