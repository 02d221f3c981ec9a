import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { FieldIssue } from '../../core/schemas.js';
import { ERROR_LOG_LIMIT } from '../../backend/workflow-table.js';
import { fileTimestamp } from '../../core/file-stamp.js';

/** How many reasons an import's result lists (the reasons file has them all). */
export const LISTED_REASONS = 100;

/**
 * What a lenient import refused: each refused line unchanged in rejects/<name>.jsonl, and beside
 * it rejects/<name>.reasons.jsonl with one `{"line","rejects_line","field","reason"}` per problem
 * (`line`: in the input file; `rejects_line`: in the rejects file). Both are opened on the first
 * refusal only.
 */
export class RejectLog {
  rejectsFile: string | null = null;
  reasonsFile: string | null = null;
  /** the first reasons, for the result and the audit entry */
  readonly listed: FieldIssue[] = [];
  /** one message per refused line, at most ERROR_LOG_LIMIT, for the workflow's error log */
  readonly messages: string[] = [];
  /** refused lines whose reasons were recorded */
  lines = 0;
  private rejectsFd: number | null = null;
  private reasonsFd: number | null = null;

  constructor(private readonly root: string) {}

  private open(): void {
    if (this.rejectsFd !== null) return;
    const dir = join(this.root, 'rejects');
    mkdirSync(dir, { recursive: true });
    const base = join(dir, `${fileTimestamp()}-${process.pid}`);
    this.rejectsFile = `${base}.jsonl`;
    this.reasonsFile = `${base}.reasons.jsonl`;
    this.rejectsFd = openSync(this.rejectsFile, 'w');
    this.reasonsFd = openSync(this.reasonsFile, 'w');
  }

  /** Refused lines, unchanged and newline-terminated. */
  reject(raw: string): void {
    this.open();
    writeSync(this.rejectsFd as number, raw);
  }

  /** The problems of refused lines, in input order (several per line possible). */
  reasons(issues: FieldIssue[]): void {
    if (issues.length === 0) return;
    this.open();
    const out: string[] = [];
    let last: number | undefined;
    let message = '';
    const flush = () => {
      if (message && this.messages.length < ERROR_LOG_LIMIT) this.messages.push(message);
    };
    for (const issue of issues) {
      if (issue.line === undefined || issue.line !== last) {
        flush();
        this.lines += 1;
        last = issue.line;
        message = `line ${issue.line ?? '?'}: ${issue.field}: ${issue.reason}`;
      } else {
        message += `; ${issue.field}: ${issue.reason}`;
      }
      if (this.listed.length < LISTED_REASONS) this.listed.push(issue);
      out.push(JSON.stringify({ line: issue.line ?? null, rejects_line: this.lines, field: issue.field, reason: issue.reason }));
    }
    flush();
    writeSync(this.reasonsFd as number, out.join('\n') + '\n');
  }

  close(): void {
    if (this.rejectsFd !== null) closeSync(this.rejectsFd);
    if (this.reasonsFd !== null) closeSync(this.reasonsFd);
    this.rejectsFd = this.reasonsFd = null;
  }
}
