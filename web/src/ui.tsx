import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, openSocket } from './api';
import type { ProgressMessage, Workflow } from './types';

export interface Loaded<T> {
  data: T | undefined;
  error: Error | undefined;
  loading: boolean;
  reload: () => void;
}

/** Runs `load` when `deps` change; keeps the last data while reloading. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [state, setState] = useState<{ data?: T; error?: Error; loading: boolean }>({ loading: true });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => live && setState({ data, loading: false }),
      (error: unknown) => live && setState({ error: error instanceof Error ? error : new Error(String(error)), loading: false }),
    );
    return () => {
      live = false;
    };
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data: state.data, error: state.error, loading: state.loading, reload };
}

export function ErrorNote({ error }: { error: unknown }) {
  if (!error) return null;
  const e = error as Error;
  return (
    <p class="error" role="alert">
      {e instanceof ApiError ? <strong>{e.code}: </strong> : null}
      {e.message}
    </p>
  );
}

export function Section({ title, children, id }: { title: string; children: ComponentChildren; id?: string }) {
  const headingId = `${id ?? title.toLowerCase().replace(/\W+/g, '-')}-title`;
  return (
    <section aria-labelledby={headingId} class="card">
      <h2 id={headingId}>{title}</h2>
      {children}
    </section>
  );
}

export function formatBytes(n: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

export function formatSeconds(s: number | null | undefined): string {
  if (s === null || s === undefined || !Number.isFinite(s)) return '—';
  if (s < 60) return `${Math.round(s)} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${Math.round(s % 60)} s`;
}

export const fmt = new Intl.NumberFormat('en');

export interface LiveProgress {
  status: string;
  processed: number;
  total: number;
  rate: number | null;
  eta: number | null;
  final: boolean;
  errors: number;
}

function fromWorkflow(wf: Workflow): LiveProgress {
  const final = ['completed', 'failed', 'cancelled', 'rolled_back', 'interrupted'].includes(wf.status);
  return { status: wf.status, processed: wf.items_processed, total: wf.items_total, rate: null, eta: null, final, errors: wf.error_count };
}

/**
 * Follows a workflow over /ws/workflows/:id: its state, then each progress event until the final
 * one. The progress is kept with the id it belongs to, so a new id never shows the last one's.
 */
export function useWorkflowProgress(id: string | null, initial?: Workflow): LiveProgress | null {
  const [latest, setLatest] = useState<{ id: string; progress: LiveProgress } | null>(null);
  const started = useRef<number>(0);
  useEffect(() => {
    if (!id) return;
    if (initial && fromWorkflow(initial).final) return;
    started.current = performance.now();
    const ws = openSocket(`/ws/workflows/${encodeURIComponent(id)}`);
    ws.onmessage = (ev: MessageEvent<string>) => {
      const m = JSON.parse(ev.data) as ProgressMessage & { rate?: number; eta_seconds?: number | null; error_count?: number };
      if (m.type === 'state' && m.workflow) setLatest({ id, progress: fromWorkflow(m.workflow) });
      else if (m.type === 'progress') {
        setLatest({
          id,
          progress: {
            status: m.status ?? 'processing',
            processed: m.items_processed ?? 0,
            total: m.items_total ?? 0,
            rate: m.rate ?? null,
            eta: m.eta_seconds ?? null,
            final: m.final === true,
            errors: m.error_count ?? 0,
          },
        });
      }
    };
    return () => ws.close();
  }, [id]);
  if (id && latest?.id === id) return latest.progress;
  return initial && initial.workflow_id === id ? fromWorkflow(initial) : null;
}

/** `label` names the bar for assistive technology; `caption` is the text shown beside it (default: the label). */
export function ProgressBar({ progress, label, caption }: { progress: LiveProgress; label: string; caption?: string }) {
  const pct = progress.total > 0 ? Math.min(100, (progress.processed / progress.total) * 100) : progress.final ? 100 : 0;
  return (
    <div class="progress">
      <div class="progress-line">
        <span>{caption ?? label}</span>
        <progress max={100} value={pct} aria-label={`${label}: ${pct.toFixed(0)}%`} data-value={pct.toFixed(1)} />
        <span class="pct">{pct.toFixed(0)}%</span>
      </div>
      <div class="muted small" aria-live="polite">
        {progress.status} · {fmt.format(progress.processed)} / {fmt.format(progress.total)} items
        {progress.rate !== null ? ` · ${fmt.format(Math.round(progress.rate))} items/s` : ''}
        {!progress.final && progress.eta !== null ? ` · ETA ${formatSeconds(progress.eta)}` : ''}
        {progress.errors > 0 ? ` · ${fmt.format(progress.errors)} errors` : ''}
      </div>
    </div>
  );
}
