/**
 * A lenient import keeps why each line was refused: a reasons file beside the rejects file (line
 * number in the input, line in the rejects file, field, reason), the workflow's error_count and
 * error_log, an audit entry, the first reasons on stderr and in the --json result. Both staging
 * paths: one thread (a small file) and worker threads (a file over 8 MB).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { auditEvents, cli, cliOk, genAnalogies, tempDir } from './helpers.js';

interface Reason {
  line: number;
  rejects_line: number;
  field: string;
  reason: string;
}

const base = { source_domain: 'a', target_domain: 'b', quality_score: 0.5 };

/** `n` lines, every `every`-th one refused for a known field (alternating two kinds of fault). */
function mixedFile(path: string, n: number, every: number): { bad: Array<{ line: number; text: string; field: string }>; good: number } {
  const good = genAnalogies(n, 808, 'm-');
  const bad: Array<{ line: number; text: string; field: string }> = [];
  const lines = good.map((g, i) => {
    if ((i + 1) % every !== 0) return JSON.stringify({ ...g, metadata: { pad: 'p'.repeat(120) } });
    const text = bad.length % 2 === 0 ? JSON.stringify({ ...base, quality_score: 1.5 + i }) : JSON.stringify({ ...base, tags: [i] });
    bad.push({ line: i + 1, text, field: bad.length % 2 === 0 ? 'quality_score' : 'tags.0' });
    return text;
  });
  writeFileSync(path, lines.join('\n') + '\n');
  return { bad, good: n - bad.length };
}

for (const [name, n, every] of [
  ['one thread', 300, 7],
  ['worker threads (over 8 MB)', 40_000, 1000],
] as const) {
  test(`lenient import (${name}): every refused line's line, field and reason in the reasons file, the workflow, the audit log, stderr and --json`, { timeout: 180_000 }, () => {
    const dir = tempDir();
    const store = join(dir, 's');
    cliOk(store, ['init']);
    const { bad, good } = mixedFile(join(dir, 'mixed.jsonl'), n, every);
    const r = cli(store, ['analogies', 'import', join(dir, 'mixed.jsonl'), '--lenient', '--workflow-id', 'len']);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const out = r.json as { imported: number; rejected: number; rejects_file: string; reasons_file: string; rejected_reasons: Reason[]; workflow: { error_count: number; error_log: string[]; error_log_omitted: number } };
    assert.equal(out.imported, good);
    assert.equal(out.rejected, bad.length);

    // The reasons file: one entry per refused line here, in order, naming the line and the field.
    assert.equal(out.reasons_file, out.rejects_file.replace(/\.jsonl$/, '.reasons.jsonl'));
    const reasons = readFileSync(out.reasons_file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Reason);
    assert.deepEqual(reasons.map((x) => [x.line, x.rejects_line, x.field]), bad.map((b, i) => [b.line, i + 1, b.field]));
    for (const x of reasons) assert.ok(x.reason.length > 0);
    const rejects = readFileSync(out.rejects_file, 'utf8').split('\n');
    for (const x of reasons) assert.equal(rejects[x.rejects_line - 1], bad[x.rejects_line - 1].text);

    // --json: the first reasons; the workflow counts the refused lines as its errors.
    assert.deepEqual(out.rejected_reasons.slice(0, 3).map((x) => [x.line, x.field]), bad.slice(0, 3).map((b) => [b.line, b.field]));
    assert.equal(out.workflow.error_count, bad.length);
    assert.equal(out.workflow.error_log.length, Math.min(bad.length, 100));
    assert.equal(out.workflow.error_log_omitted, Math.max(0, bad.length - 100));
    assert.match(out.workflow.error_log[0], new RegExp(`^line ${bad[0].line}: ${bad[0].field.replace('.', '\\.')}: `));
    const shown = cliOk(store, ['workflows', 'show', 'len']) as { error_count: number; error_log: string[] };
    assert.equal(shown.error_count, bad.length);
    assert.deepEqual(shown.error_log, out.workflow.error_log);

    // stderr: how many, where, the first reasons.
    assert.match(r.stderr, new RegExp(`${bad.length} line\\(s\\) refused`));
    assert.ok(r.stderr.includes(out.reasons_file));
    assert.ok(r.stderr.includes(`line ${bad[0].line}: ${bad[0].field}: `), r.stderr);

    // The audit entry.
    const audit = auditEvents(store).find((e) => e.event === 'import_rejected_lines' && e.workflow_id === 'len') as { rejected: number; reasons_file: string; reasons: Reason[] } | undefined;
    assert.ok(audit);
    assert.equal(audit.rejected, bad.length);
    assert.equal(audit.reasons_file, out.reasons_file);
    assert.deepEqual(audit.reasons.map((x) => x.line), bad.slice(0, 20).map((b) => b.line));

    assert.equal(cliOk(store, ['analogies', 'query', '--limit', '1000000']).count, good);
  });
}
