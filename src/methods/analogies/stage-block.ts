import { parseInputLine, type InputItem } from '../../core/input-files.js';
import type { FieldIssue } from '../../core/schemas.js';
import type { StagingTarget } from '../../core/staged-put.js';
import { StagedLines } from '../../core/staged-lines.js';
import { stageAnalogyValue } from './analogy-record.js';
import { stageLineFast } from './stage-fast.js';
import { stageLegacyLineFast } from './stage-legacy.js';
import { mintId } from '../../core/id-hash.js';

/** One input item of an analogy file, staged: its staged JSON text, or the issues refusing it. */
export function stageInput(input: InputItem, target: StagingTarget): { json: string } | { issues: FieldIssue[] } {
  if ('error' in input) return { issues: [{ line: input.line, field: input.field ?? '(line)', reason: input.error }] };
  const staged = stageAnalogyValue(input.value, input.line, target, input.raw);
  if ('issues' in staged) return staged;
  return { json: 'json' in staged ? staged.json : JSON.stringify(staged.item) };
}

/** A block of whole lines staged (by a worker); line numbers in `issues` count from the block's first line. */
export interface StagedBlock {
  block: number;
  /** staged lines (encodeStagedLine), in input order */
  staged: Uint8Array;
  count: number;
  /** lines in the block, blank ones included (for numbering the next block's lines) */
  lines: number;
  rejected: number;
  issues: FieldIssue[];
  /** lenient only: the refused lines, unchanged, newline-terminated */
  rejects: string;
  /** the block's first line that is not JSON at all (its number in the block, JSON.parse's reason) */
  malformed: { line: number; reason: string } | null;
}

/** `fast: false` stages every line by the general path (the differential test compares the two). */
export function stageBlock(block: number, data: Buffer, target: StagingTarget, options: { lenient: boolean; maxIssues: number; fast?: boolean }, spare?: ArrayBuffer | null): StagedBlock {
  const staged = new StagedLines(Math.ceil(data.length * 1.7), spare);
  const issues: FieldIssue[] = [];
  const rejects: string[] = [];
  let rejected = 0;
  let lines = 0;
  let malformed: StagedBlock['malformed'] = null;
  let start = 0;
  while (start < data.length) {
    let nl = data.indexOf(10, start);
    if (nl < 0) nl = data.length;
    const end = nl > start && data[nl - 1] === 13 ? nl - 1 : nl;
    const from = start;
    start = nl + 1;
    lines += 1;
    if (options.fast !== false && (stageLineFast(data, from, end, target, mintId, staged) || stageLegacyLineFast(data, from, end, target, staged))) continue;
    const line = data.toString('utf8', from, end);
    if (line.trim().length === 0) continue;
    const input = parseInputLine(line, lines);
    if (malformed === null && 'syntax' in input && input.syntax !== undefined) malformed = { line: lines, reason: input.syntax };
    const result = stageInput(input, target);
    if ('json' in result) {
      staged.add(result.json);
      continue;
    }
    rejected += 1;
    if (issues.length < options.maxIssues) issues.push(...result.issues.slice(0, options.maxIssues - issues.length));
    if (options.lenient) rejects.push(line + '\n');
  }
  return { block, staged: staged.transferable(), count: staged.count, lines, rejected, issues, rejects: rejects.join(''), malformed };
}
