import { useEffect, useRef, useState } from 'preact/hooks';
import { get, json, qs, request } from '../api';
import type { PageProps } from '../app';
import { navigate } from '../router';
import type { Analogy, AnalogyPage } from '../types';
import { ContextSelect } from '../context-select';
import { ErrorNote, fmt, Section, useLoad } from '../ui';
import { VirtualList } from '../virtual-list';

const PAGE_SIZE = 100;
const ROW_HEIGHT = 28;

interface Filter {
  context: string;
  domain: string;
  min_quality: string;
  max_quality: string;
  tag: string;
  frame_type: string;
  created_after: string;
  created_before: string;
}

const EMPTY: Filter = { context: '', domain: '', min_quality: '', max_quality: '', tag: '', frame_type: '', created_after: '', created_before: '' };

function filterParams(f: Filter): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(f)) {
    if (v === '') continue;
    // Dates from <input type=date> become the start of that day, UTC.
    out[k] = k.startsWith('created_') ? `${v}T00:00:00Z` : v;
  }
  return out;
}

/**
 * Pages of the current filter, fetched on demand (only the pages the visible rows fall in). The
 * first page comes before the count of every match, so the first rows show without waiting for
 * the count (which only sizes the scrollbar).
 */
function usePages(filter: Filter) {
  const [counted, setCounted] = useState<{ key: string; total: number } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [, setVersion] = useState(0);
  const pages = useRef(new Map<number, Analogy[] | 'loading'>());
  const generation = useRef(0);
  const base = filterParams(filter);
  const key = JSON.stringify(base);
  // A new filter drops the old rows in the same render that shows it: no stale row is painted.
  const pagesKey = useRef(key);
  if (pagesKey.current !== key) {
    pagesKey.current = key;
    generation.current++;
    pages.current = new Map();
  }

  const load = (page: number): Promise<unknown> => {
    if (pages.current.has(page)) return Promise.resolve();
    pages.current.set(page, 'loading');
    const gen = generation.current;
    return get<AnalogyPage>(`/api/analogies${qs({ ...base, limit: PAGE_SIZE, offset: page * PAGE_SIZE })}`).then(
      (res) => {
        if (gen !== generation.current) return;
        pages.current.set(page, res.analogies);
        setVersion((v) => v + 1);
      },
      (e: unknown) => {
        if (gen !== generation.current) return;
        pages.current.delete(page);
        setError(e);
      },
    );
  };
  const start = (fresh: boolean) => {
    if (fresh) {
      generation.current++;
      pages.current = new Map();
    }
    const gen = generation.current;
    setError(null);
    // The count after the first page: the service answers one query at a time, and a count over
    // a large match must not hold up the rows.
    void load(0).then(() => {
      if (gen !== generation.current) return;
      get<AnalogyPage>(`/api/analogies${qs({ ...base, limit: 1, total: true })}`).then(
        (res) => gen === generation.current && setCounted({ key, total: res.total ?? 0 }),
        (e: unknown) => gen === generation.current && setError(e),
      );
    });
  };
  useEffect(() => start(false), [key]);
  const count = counted?.key === key ? counted.total : null;
  const row = (r: number): Analogy | undefined => {
    const p = pages.current.get(Math.floor(r / PAGE_SIZE));
    return Array.isArray(p) ? p[r % PAGE_SIZE] : undefined;
  };
  const ensure = (first: number, last: number) => {
    for (let p = Math.floor(first / PAGE_SIZE); p <= Math.floor(last / PAGE_SIZE); p++) load(p);
  };
  // Until the count is in, the first page alone says how many rows there are at least.
  const first = pages.current.get(0);
  const rows = count ?? (Array.isArray(first) ? first.length : 0);
  return { total: count, rows, error, row, ensure, refresh: () => start(true), key };
}

export function Analogies({ route }: PageProps) {
  const initial: Filter = { ...EMPTY, context: route.params.get('context') ?? '' };
  const [draft, setDraft] = useState<Filter>(initial);
  const [filter, setFilter] = useState<Filter>(initial);
  const data = usePages(filter);
  const [selected, setSelected] = useState<number | null>(null);
  const selectedId = route.params.get('id');
  const selectedContext = route.params.get('in') ?? filter.context;

  const field = (name: keyof Filter, label: string, type: 'text' | 'number' | 'date' = 'text', extra: Record<string, string> = {}) => (
    <label>
      {label}
      <input type={type as "text"} name={name} value={draft[name]} onInput={(e) => setDraft({ ...draft, [name]: e.currentTarget.value })} {...extra} />
    </label>
  );
  const open = (r: number) => {
    setSelected(r);
    const a = data.row(r);
    if (a) navigate('analogies', { ...(filter.context ? { context: filter.context } : {}), id: a.id, in: a.context });
  };

  return (
    <>
      <h1>Analogies</h1>
      <Section title="Filters">
        <form
          class="filters"
          onSubmit={(e) => {
            e.preventDefault();
            setSelected(null);
            setFilter(draft);
          }}
        >
          <ContextSelect value={draft.context} onChange={(v) => setDraft({ ...draft, context: v })} />
          {field('domain', 'Domain (source or target)')}
          {field('min_quality', 'Min quality', 'number', { min: '0', max: '1', step: '0.01' })}
          {field('max_quality', 'Max quality', 'number', { min: '0', max: '1', step: '0.01' })}
          {field('tag', 'Tag')}
          {field('frame_type', 'Frame type')}
          {field('created_after', 'Created after', 'date')}
          {field('created_before', 'Created before', 'date')}
          <button type="submit">Apply filters</button>
          <button
            type="button"
            class="secondary"
            onClick={() => {
              setDraft(EMPTY);
              setFilter(EMPTY);
            }}
          >
            Clear
          </button>
          <ExportButton filter={filter} />
        </form>
      </Section>
      <div class="split">
        <section aria-labelledby="results-title" class="card">
          <h2 id="results-title">
            Results{' '}
            <span class="muted" role="status" data-testid="total">
              {data.total === null ? 'counting…' : `${fmt.format(data.total)} matching`}
            </span>
          </h2>
          <ErrorNote error={data.error} />
          <div class="vtable">
            <div class="vhead" aria-hidden="true">
              <span>Id</span>
              <span>Source</span>
              <span>Target</span>
              <span>Quality</span>
              <span>Tags</span>
            </div>
            <VirtualList
              total={data.rows}
              rowHeight={ROW_HEIGHT}
              height={520}
              label="Matching analogies, best quality first"
              selected={selected}
              onSelect={open}
              onRange={data.ensure}
              rowId={(r) => `analogy-row-${r}`}
              resetKey={data.key}
              renderRow={(r) => {
                const a = data.row(r);
                if (!a) return <span class="muted">row {fmt.format(r + 1)} …</span>;
                return (
                  <>
                    <span class="mono">{a.id}</span>
                    <span>{a.source_domain}</span>
                    <span>{a.target_domain}</span>
                    <span class="num">{a.quality_score.toFixed(3)}</span>
                    <span>{a.tags.join(', ')}</span>
                  </>
                );
              }}
            />
          </div>
        </section>
        {selectedId ? <Detail id={selectedId} context={selectedContext} onChanged={data.refresh} /> : <section class="card muted">Select an analogy to see it in full, with its history.</section>}
      </div>
    </>
  );
}

function ExportButton({ filter }: { filter: Filter }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  return (
    <>
      <button
        type="button"
        class="secondary"
        disabled={busy}
        onClick={async () => {
          setBusy(true);
          setError(null);
          try {
            const res = await request('GET', `/api/analogies/stream${qs(filterParams(filter))}`);
            if (!res.ok) throw new Error(`export failed: HTTP ${res.status}`);
            const url = URL.createObjectURL(await res.blob());
            const a = document.createElement('a');
            a.href = url;
            a.download = 'analogies.jsonl';
            a.click();
            setTimeout(() => URL.revokeObjectURL(url), 10_000);
          } catch (e) {
            setError(e);
          } finally {
            setBusy(false);
          }
        }}
      >
        {busy ? 'Exporting…' : 'Export as JSON lines'}
      </button>
      <ErrorNote error={error} />
    </>
  );
}

type Version = Analogy & { op?: string };

/** Field-by-field differences of two versions (top-level fields, compared as JSON). */
function diff(older: Version, newer: Version): Array<{ field: string; before: string; after: string }> {
  const keys = new Set([...Object.keys(older), ...Object.keys(newer)]);
  const out: Array<{ field: string; before: string; after: string }> = [];
  for (const k of keys) {
    const a = JSON.stringify((older as unknown as Record<string, unknown>)[k]);
    const b = JSON.stringify((newer as unknown as Record<string, unknown>)[k]);
    if (a !== b) out.push({ field: k, before: a ?? '—', after: b ?? '—' });
  }
  return out;
}

function Detail({ id, context, onChanged }: { id: string; context: string; onChanged: () => void }) {
  const q = qs({ context: context || undefined });
  const record = useLoad(() => get<Analogy>(`/api/analogies/${encodeURIComponent(id)}${q}`), [id, context]);
  const history = useLoad(() => get<{ id: string; versions: Version[] }>(`/api/analogies/${encodeURIComponent(id)}/history${q}`), [id, context]);
  const [pair, setPair] = useState<[number, number]>([1, 0]);
  const [error, setError] = useState<unknown>(null);
  const versions = history.data?.versions ?? [];
  useEffect(() => setPair([Math.min(1, Math.max(0, versions.length - 1)), 0]), [versions.length]);
  const act = async (method: string, path: string) => {
    setError(null);
    try {
      await json(method, path);
      record.reload();
      history.reload();
      onChanged();
    } catch (e) {
      setError(e);
    }
  };
  const a = record.data;
  const older = versions[pair[0]];
  const newer = versions[pair[1]];
  const label = (v: Version, i: number) => `v${v.version} ${v.op ?? ''} ${v.updated_at}${i === 0 ? ' (latest)' : ''}`;
  return (
    <section aria-labelledby="detail-title" class="card">
      <h2 id="detail-title">
        Analogy <span class="mono">{id}</span>
      </h2>
      <ErrorNote error={record.error ?? history.error ?? error} />
      {a ? (
        <>
          <p>
            {a.source_domain} → {a.target_domain} · quality {a.quality_score} · version {a.version} ·{' '}
            <strong data-testid="record-state">{a.deleted_at ? `deleted ${a.deleted_at}` : 'active'}</strong>
          </p>
          <div class="row">
            {a.deleted_at ? (
              <button type="button" onClick={() => act('POST', `/api/analogies/${encodeURIComponent(id)}/restore${q}`)}>
                Restore
              </button>
            ) : (
              <button type="button" class="danger" onClick={() => act('DELETE', `/api/analogies/${encodeURIComponent(id)}${q}`)}>
                Delete
              </button>
            )}
          </div>
          <h3>Record</h3>
          <pre class="json" tabIndex={0} aria-label="Full record as JSON">
            {JSON.stringify(a, null, 2)}
          </pre>
        </>
      ) : null}
      <h3>History</h3>
      <ol class="plain" aria-label="Versions, newest first">
        {versions.map((v, i) => (
          <li key={i}>{label(v, i)}</li>
        ))}
      </ol>
      {versions.length > 1 && older && newer ? (
        <>
          <div class="row">
            {(['From', 'To'] as const).map((name, side) => (
              <label key={name}>
                {name}
                <select value={String(pair[side])} onChange={(e) => setPair(side === 0 ? [Number(e.currentTarget.value), pair[1]] : [pair[0], Number(e.currentTarget.value)])}>
                  {versions.map((v, i) => (
                    <option key={i} value={String(i)}>
                      {label(v, i)}
                    </option>
                  ))}
                </select>
              </label>
            ))}
          </div>
          <table aria-label="Differences between the two versions">
            <thead>
              <tr>
                <th scope="col">Field</th>
                <th scope="col">From</th>
                <th scope="col">To</th>
              </tr>
            </thead>
            <tbody>
              {diff(older, newer).map((d) => (
                <tr key={d.field}>
                  <th scope="row">{d.field}</th>
                  <td class="diff-del mono">{d.before}</td>
                  <td class="diff-add mono">{d.after}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      ) : null}
    </section>
  );
}
