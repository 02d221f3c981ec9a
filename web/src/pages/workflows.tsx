import { useState } from 'preact/hooks';
import { get, json, qs } from '../api';
import type { PageProps } from '../app';
import { ContextSelect } from '../context-select';
import { href, navigate } from '../router';
import { WORKFLOW_STATUSES, type AuditEntry, type Workflow } from '../types';
import { ErrorNote, fmt, ProgressBar, Section, useLoad, useWorkflowProgress } from '../ui';

export function Workflows({ route }: PageProps) {
  const [status, setStatus] = useState('');
  const list = useLoad(() => get<{ workflows: Workflow[] }>(`/api/workflows${qs({ status })}`), [status]);
  const selected = route.params.get('id');
  const rows = [...(list.data?.workflows ?? [])].sort((a, b) => b.created_at.localeCompare(a.created_at));
  return (
    <>
      <h1>Workflows</h1>
      <div class="split">
        <Section title="All workflows">
          <div class="row">
            <label>
              Status
              <select value={status} onChange={(e) => setStatus(e.currentTarget.value)}>
                <option value="">any</option>
                {WORKFLOW_STATUSES.map((s) => (
                  <option key={s} value={s}>
                    {s}
                  </option>
                ))}
              </select>
            </label>
            <button type="button" class="secondary" onClick={list.reload}>
              Refresh
            </button>
          </div>
          <ErrorNote error={list.error} />
          <table>
            <thead>
              <tr>
                <th scope="col">Id</th>
                <th scope="col">Type</th>
                <th scope="col">Status</th>
                <th scope="col">Context</th>
                <th scope="col" class="num">Items</th>
                <th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((w) => (
                <tr key={w.workflow_id}>
                  <td>
                    <a href={href('workflows', { id: w.workflow_id })} aria-current={w.workflow_id === selected ? 'true' : undefined}>
                      {w.workflow_id}
                    </a>
                  </td>
                  <td>{w.workflow_type}</td>
                  <td>{w.status}</td>
                  <td>{w.context}</td>
                  <td class="num">
                    {fmt.format(w.items_processed)} / {fmt.format(w.items_total)}
                  </td>
                  <td>{w.created_at}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {rows.length === 0 && !list.loading ? <p class="muted">No workflows{status ? ` with status ${status}` : ''}.</p> : null}
        </Section>
        {selected ? <WorkflowDetail key={selected} id={selected} onChanged={list.reload} /> : <DeleteByCriteria onDone={list.reload} />}
      </div>
      {selected ? <DeleteByCriteria onDone={list.reload} /> : null}
    </>
  );
}

function WorkflowDetail({ id, onChanged }: { id: string; onChanged: () => void }) {
  const wf = useLoad(() => get<Workflow>(`/api/workflows/${encodeURIComponent(id)}`), [id]);
  const live = useWorkflowProgress(wf.data ? id : null, wf.data);
  const [error, setError] = useState<unknown>(null);
  const [note, setNote] = useState('');
  const act = async (action: 'cancel' | 'rollback' | 'process') => {
    setError(null);
    setNote('');
    try {
      const res = await json<Workflow & { records_deleted?: number; records_restored?: number }>('POST', `/api/workflows/${encodeURIComponent(id)}/${action}`);
      const undone = res.records_deleted !== undefined ? `, ${fmt.format(res.records_deleted)} records deleted, ${fmt.format(res.records_restored ?? 0)} restored` : '';
      setNote(`${action}: now ${res.status}${undone}`);
      wf.reload();
      onChanged();
    } catch (e) {
      setError(e);
    }
  };
  const w = wf.data;
  return (
    <section class="card" aria-labelledby="wf-title">
      <h2 id="wf-title">
        Workflow <span class="mono">{id}</span>
      </h2>
      <ErrorNote error={wf.error ?? error} />
      {note ? (
        <p role="status" class="ok">
          {note}
        </p>
      ) : null}
      {w ? (
        <>
          {live ? <ProgressBar progress={live} label="Progress" /> : null}
          <dl class="facts">
            <dt>Type</dt>
            <dd>{w.workflow_type}</dd>
            <dt>Status</dt>
            <dd data-testid="wf-status">{w.status}</dd>
            <dt>Context</dt>
            <dd>{w.context}</dd>
            <dt>Items</dt>
            <dd>
              {fmt.format(w.items_processed)} of {fmt.format(w.items_total)}
            </dd>
            <dt>Errors</dt>
            <dd>{fmt.format(w.error_count)}</dd>
            <dt>Created</dt>
            <dd>{w.created_at}</dd>
            <dt>Updated</dt>
            <dd>{w.updated_at}</dd>
          </dl>
          <div class="row" style={{ margin: '0.75rem 0' }}>
            <button type="button" class="secondary" onClick={() => act('cancel')} disabled={!['pending', 'processing'].includes(w.status)}>
              Cancel
            </button>
            <button type="button" class="danger" onClick={() => act('rollback')} disabled={w.status === 'rolled_back'}>
              Roll back
            </button>
            <button type="button" class="secondary" onClick={() => act('process')} disabled={!['pending', 'failed'].includes(w.status)}>
              Resume
            </button>
          </div>
          {w.error_log && w.error_log.length > 0 ? (
            <>
              <h3>Errors</h3>
              <ul>
                {w.error_log.map((e, i) => (
                  <li key={i} class="mono">
                    {e}
                  </li>
                ))}
              </ul>
              {w.error_log_omitted ? <p class="muted">…and {fmt.format(w.error_log_omitted)} more</p> : null}
            </>
          ) : null}
          <AuditEntries id={id} version={`${w.status} ${w.updated_at}`} />
          <h3>Metadata</h3>
          <pre class="json" tabIndex={0} aria-label="Workflow metadata">
            {JSON.stringify(w.metadata, null, 2)}
          </pre>
        </>
      ) : null}
    </section>
  );
}

const AUDIT_SHOWN = 200;

/** An entry's fields other than time, event and workflow (shown above it), as `key: value` text. */
function auditSummary(entry: AuditEntry): string {
  const { time: _t, event: _e, workflow_id: _w, workflow_type: _y, ...rest } = entry;
  return Object.entries(rest)
    .map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join('; ');
}

/** The audit log's entries about one workflow (newest first); reloaded when the workflow changes. */
function AuditEntries({ id, version }: { id: string; version: string }) {
  const audit = useLoad(() => get<{ entries: AuditEntry[] }>(`/api/audit${qs({ workflow_id: id, limit: AUDIT_SHOWN })}`), [id, version]);
  const entries = audit.data?.entries ?? [];
  return (
    <>
      <h3 id="wf-audit">Audit entries</h3>
      <ErrorNote error={audit.error} />
      {entries.length > 0 ? (
        <table aria-labelledby="wf-audit" data-testid="wf-audit">
          <thead>
            <tr>
              <th scope="col">Time</th>
              <th scope="col">Event</th>
              <th scope="col">Summary</th>
            </tr>
          </thead>
          <tbody>
            {entries.map((e, i) => (
              <tr key={`${e.time}-${i}`}>
                <td class="mono" style={{ whiteSpace: 'nowrap' }}>
                  {e.time}
                </td>
                <td>{e.event}</td>
                <td class="mono">{auditSummary(e)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : audit.loading ? null : (
        <p class="muted">No audit entries for this workflow.</p>
      )}
      {entries.length === AUDIT_SHOWN ? <p class="muted">The newest {AUDIT_SHOWN} are shown (softlogic audit --workflow {id} lists more).</p> : null}
    </>
  );
}

interface DeleteResult {
  dry_run: boolean;
  matched: number;
  workflow?: Workflow;
}

/** Deletion by criteria: a dry run counts the matches, and only then can the deletion be confirmed. */
function DeleteByCriteria({ onDone }: { onDone: () => void }) {
  const [criteria, setCriteria] = useState({ context: '', domain: '', max_quality: '', tag: '', frame_type: '', created_before: '' });
  const [counted, setCounted] = useState<{ key: string; matched: number } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const params = () => ({ ...criteria, created_before: criteria.created_before ? `${criteria.created_before}T00:00:00Z` : '' });
  const key = JSON.stringify(criteria);
  const run = async (dryRun: boolean) => {
    setError(null);
    try {
      const res = await json<DeleteResult>('DELETE', `/api/analogies${qs({ ...params(), dry_run: dryRun })}`);
      if (dryRun) setCounted({ key, matched: res.matched });
      else {
        setCounted(null);
        onDone();
        if (res.workflow) navigate('workflows', { id: res.workflow.workflow_id });
      }
    } catch (e) {
      setError(e);
    }
  };
  const input = (name: keyof typeof criteria, label: string, type: 'text' | 'number' | 'date' = 'text') => (
    <label>
      {label}
      <input type={type as 'text'} value={criteria[name]} step={type === 'number' ? '0.01' : undefined} onInput={(e) => setCriteria({ ...criteria, [name]: e.currentTarget.value })} />
    </label>
  );
  return (
    <Section title="Delete analogies by criteria">
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          void run(true);
        }}
      >
        <ContextSelect value={criteria.context} onChange={(v) => setCriteria({ ...criteria, context: v })} />
        {input('domain', 'Domain')}
        {input('max_quality', 'Max quality', 'number')}
        {input('tag', 'Tag')}
        {input('frame_type', 'Frame type')}
        {input('created_before', 'Created before', 'date')}
        <button type="submit" class="secondary">
          Count matches (dry run)
        </button>
      </form>
      <ErrorNote error={error} />
      {counted && counted.key === key ? (
        <div class="row" style={{ marginTop: '0.75rem' }}>
          <p role="status">
            <strong>{fmt.format(counted.matched)}</strong> analogies match.
          </p>
          <button type="button" class="danger" disabled={counted.matched === 0} onClick={() => run(false)}>
            Delete {fmt.format(counted.matched)} analogies
          </button>
        </div>
      ) : null}
    </Section>
  );
}
