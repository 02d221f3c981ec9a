import { get } from '../api';
import { href } from '../router';
import type { ContextInfo, Workflow } from '../types';
import { ErrorNote, fmt, formatBytes, ProgressBar, Section, useLoad, useWorkflowProgress } from '../ui';

interface Stats {
  store: string;
  contexts: Array<{ context: string; parent: string | null; analogies: { active: number; deleted: number }; entities: Record<string, { active: number; deleted: number }>; log_bytes: number }>;
  workflows: Record<string, number>;
  total_bytes: number;
}

interface Status {
  status: string;
  version: string;
  uptime_seconds: number;
}

function ContextTree({ contexts, parent, depth }: { contexts: ContextInfo[]; parent: string | null; depth: number }) {
  const children = contexts.filter((c) => c.parent === parent);
  if (children.length === 0) return null;
  return (
    <ul class={depth === 0 ? 'tree' : undefined}>
      {children.map((c) => (
        <li key={c.name}>
          <a href={href('analogies', { context: c.name })}>{c.name}</a>
          {c.description ? <span class="muted"> — {c.description}</span> : null}
          <ContextTree contexts={contexts} parent={c.name} depth={depth + 1} />
        </li>
      ))}
    </ul>
  );
}

function RecentWorkflow({ wf }: { wf: Workflow }) {
  const live = useWorkflowProgress(wf.workflow_id, wf);
  return (
    <li>
      <a href={href('workflows', { id: wf.workflow_id })}>{wf.workflow_id}</a> <span class="muted">{wf.workflow_type}</span>
      {live ? <ProgressBar progress={live} label={`Progress of ${wf.workflow_id}`} caption="Progress" /> : null}
    </li>
  );
}

export function Overview() {
  const stats = useLoad(() => get<Stats>('/api/stats'), []);
  const status = useLoad(() => get<Status>('/status'), []);
  const health = useLoad(() => fetch('/health').then((r) => r.json() as Promise<{ status: string }>), []);
  const contexts = useLoad(() => get<{ contexts: ContextInfo[] }>('/api/contexts'), []);
  const workflows = useLoad(() => get<{ workflows: Workflow[] }>('/api/workflows'), []);
  const kinds = new Set<string>();
  for (const c of stats.data?.contexts ?? []) for (const k of Object.keys(c.entities)) kinds.add(k);
  const kindList = [...kinds].sort();
  const recent = [...(workflows.data?.workflows ?? [])].sort((a, b) => b.created_at.localeCompare(a.created_at)).slice(0, 8);
  return (
    <>
      <h1>Overview</h1>
      <div class="grid">
        <Section title="Health">
          <ErrorNote error={health.error ?? status.error} />
          <dl class="facts">
            <dt>Service</dt>
            <dd>{health.data?.status ?? '…'}</dd>
            <dt>Version</dt>
            <dd>{status.data?.version ?? '…'}</dd>
            <dt>Uptime</dt>
            <dd>{status.data ? `${fmt.format(Math.round(status.data.uptime_seconds))} s` : '…'}</dd>
            <dt>Store</dt>
            <dd class="mono">{stats.data?.store ?? '…'}</dd>
            <dt>Store size</dt>
            <dd>{stats.data ? formatBytes(stats.data.total_bytes) : '…'}</dd>
          </dl>
        </Section>
        <Section title="Context tree">
          <ErrorNote error={contexts.error} />
          {contexts.data ? <ContextTree contexts={contexts.data.contexts} parent={null} depth={0} /> : null}
        </Section>
      </div>
      <Section title="Counts per context">
        <ErrorNote error={stats.error} />
        <table>
          <thead>
            <tr>
              <th scope="col">Context</th>
              <th scope="col">Parent</th>
              <th scope="col" class="num">Analogies</th>
              <th scope="col" class="num">Deleted</th>
              {kindList.map((k) => (
                <th scope="col" class="num" key={k}>
                  {k}
                </th>
              ))}
              <th scope="col" class="num">Log size</th>
            </tr>
          </thead>
          <tbody>
            {(stats.data?.contexts ?? []).map((c) => (
              <tr key={c.context}>
                <th scope="row">
                  <a href={href('analogies', { context: c.context })}>{c.context}</a>
                </th>
                <td>{c.parent ?? '—'}</td>
                <td class="num">{fmt.format(c.analogies.active)}</td>
                <td class="num">{fmt.format(c.analogies.deleted)}</td>
                {kindList.map((k) => (
                  <td class="num" key={k}>
                    {fmt.format(c.entities[k]?.active ?? 0)}
                  </td>
                ))}
                <td class="num">{formatBytes(c.log_bytes)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </Section>
      <Section title="Recent workflows">
        <ErrorNote error={workflows.error} />
        {stats.data ? (
          <p class="muted">
            {Object.entries(stats.data.workflows)
              .map(([s, n]) => `${s}: ${fmt.format(n)}`)
              .join(' · ') || 'No workflows yet.'}
          </p>
        ) : null}
        <ul class="plain">
          {recent.map((wf) => (
            <RecentWorkflow key={wf.workflow_id} wf={wf} />
          ))}
        </ul>
      </Section>
    </>
  );
}
