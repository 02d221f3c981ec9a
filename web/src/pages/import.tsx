import { useState } from 'preact/hooks';
import { json, qs } from '../api';
import { ContextSelect } from '../context-select';
import { href } from '../router';
import type { Workflow } from '../types';
import { ErrorNote, fmt, ProgressBar, Section, useWorkflowProgress } from '../ui';

interface Refused {
  line: number | null;
  field: string;
  reason: string;
}

interface StageResult {
  workflow: Workflow;
  /** invalid lines set aside (lenient) */
  rejected?: number;
  rejects_file?: string | null;
  reasons_file?: string | null;
  /** the first reasons (at most 100 problems; the reasons file has them all) */
  rejected_reasons?: Refused[];
}

function contentType(file: File): string {
  if (/\.gz$/i.test(file.name) || file.type === 'application/gzip') return 'application/gzip';
  if (/\.json$/i.test(file.name)) return 'application/json';
  return 'application/x-ndjson';
}

/** The refused lines: a strict refusal's issues (every one), else a lenient import's listed reasons. */
function refusedLines(staged: StageResult | null, err: unknown): Refused[] {
  const issues = (err as { details?: { issues?: Array<{ line?: number; field: string; reason: string }> } } | null)?.details?.issues;
  if (issues) return issues.map((i) => ({ line: i.line ?? null, field: i.field, reason: i.reason }));
  return (staged?.rejected_reasons ?? []).map((r) => ({ line: r.line ?? null, field: r.field, reason: r.reason }));
}

/** How many refused lines a lenient import did not list (the listed reasons stop at 100 problems). */
function unlistedLines(staged: StageResult | null): number {
  const listed = new Set((staged?.rejected_reasons ?? []).map((r) => r.line)).size;
  return Math.max(0, (staged?.rejected ?? 0) - listed);
}

export function ImportPage() {
  const [file, setFile] = useState<File | null>(null);
  const [over, setOver] = useState(false);
  const [lenient, setLenient] = useState(false);
  const [context, setContext] = useState('');
  const [batchSize, setBatchSize] = useState('');
  const [staged, setStaged] = useState<StageResult | null>(null);
  const [final, setFinal] = useState<Workflow | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const live = useWorkflowProgress(staged?.workflow.workflow_id ?? null, staged?.workflow);

  if (live?.final && staged && (!final || final.workflow_id !== staged.workflow.workflow_id)) {
    json<Workflow>('GET', `/api/workflows/${encodeURIComponent(staged.workflow.workflow_id)}`).then(setFinal, setError);
  }

  const start = async () => {
    if (!file) return;
    setBusy(true);
    setError(null);
    setStaged(null);
    setFinal(null);
    try {
      const res = await json<StageResult>('POST', `/api/analogies/batch${qs({ async: true, lenient: lenient || undefined, context: context || undefined, batch_size: batchSize || undefined })}`, file, contentType(file));
      setStaged(res);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const refused = refusedLines(error ? null : staged, error);
  const unlisted = error ? 0 : unlistedLines(staged);
  const rejected = staged?.rejected ?? 0;

  return (
    <>
      <h1>Import analogies</h1>
      <Section title="File">
        <div
          class={`dropzone${over ? ' over' : ''}`}
          onDragOver={(e) => {
            e.preventDefault();
            setOver(true);
          }}
          onDragLeave={() => setOver(false)}
          onDrop={(e) => {
            e.preventDefault();
            setOver(false);
            const f = e.dataTransfer?.files[0];
            if (f) setFile(f);
          }}
        >
          <p>Drop a file here (JSON lines, a JSON array, or either gzip'd), or choose one:</p>
          <label>
            Analogy file
            <input type="file" accept=".jsonl,.ndjson,.json,.gz,application/json,application/gzip" onChange={(e) => setFile(e.currentTarget.files?.[0] ?? null)} />
          </label>
          {file ? (
            <p data-testid="chosen-file">
              {file.name} · {fmt.format(file.size)} bytes
            </p>
          ) : null}
        </div>
        <div class="row" style={{ marginTop: '0.75rem' }}>
          <ContextSelect value={context} onChange={setContext} />
          <fieldset class="row">
            <legend>Invalid lines</legend>
            <label class="inline">
              <input type="radio" name="mode" checked={!lenient} onChange={() => setLenient(false)} /> strict: one refuses the file
            </label>
            <label class="inline">
              <input type="radio" name="mode" checked={lenient} onChange={() => setLenient(true)} /> lenient: set them aside
            </label>
          </fieldset>
          <label>
            Items per commit
            <input type="number" min="1" name="batch_size" placeholder="server default" value={batchSize} onInput={(e) => setBatchSize(e.currentTarget.value)} />
          </label>
          <button type="button" disabled={!file || busy} onClick={start}>
            {busy ? 'Uploading…' : 'Import'}
          </button>
        </div>
      </Section>
      <ErrorNote error={error} />
      {staged && live ? (
        <Section title="Progress">
          <ProgressBar progress={live} label="Import" />
          <p>
            Workflow <a href={href('workflows', { id: staged.workflow.workflow_id })}>{staged.workflow.workflow_id}</a>
          </p>
        </Section>
      ) : null}
      {final ? (
        <Section title="Result">
          <dl class="facts" data-testid="import-result">
            <dt>Status</dt>
            <dd>{final.status}</dd>
            <dt>Imported</dt>
            {/* error_count also counts the lines refused while staging: the rest failed to apply. */}
            <dd>{fmt.format(final.items_processed - (final.error_count - rejected))}</dd>
            <dt>Valid lines</dt>
            <dd>{fmt.format(final.items_total)}</dd>
            <dt>Refused lines</dt>
            <dd>{fmt.format(rejected)}</dd>
          </dl>
          {staged?.rejects_file ? (
            <p data-testid="rejects-files">
              Refused lines copied unchanged to <span class="mono">{staged.rejects_file}</span>; every reason (line, field, reason) in{' '}
              <span class="mono">{staged.reasons_file}</span> (in the store directory on the server).
            </p>
          ) : null}
        </Section>
      ) : null}
      {refused.length > 0 ? (
        <Section title="Refused lines">
          <table aria-label="Refused lines">
            <thead>
              <tr>
                <th scope="col">Line</th>
                <th scope="col">Field</th>
                <th scope="col">Reason</th>
              </tr>
            </thead>
            <tbody>
              {refused.map((r, i) => (
                <tr key={i}>
                  <td>{r.line ?? '—'}</td>
                  <td class="mono">{r.field}</td>
                  <td>{r.reason}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {unlisted > 0 ? (
            <p class="muted" data-testid="refused-more">
              …and {fmt.format(unlisted)} more refused {unlisted === 1 ? 'line' : 'lines'} not listed here: all are in <span class="mono">{staged?.reasons_file}</span>.
            </p>
          ) : null}
        </Section>
      ) : null}
    </>
  );
}
