import { useState } from 'preact/hooks';
import { get, json, qs } from '../api';
import { ContextSelect } from '../context-select';
import { PlotChart } from '../plot';
import { navigate } from '../router';
import { ErrorNote, fmt, Section, useLoad } from '../ui';

interface Field {
  id: string;
  name: string;
  core_concepts: string[];
  related_concepts: Record<string, number>;
  coherence: number;
  hypernym?: string;
}

interface Point {
  id: string;
  name: string;
  x: number;
  y: number;
  field: string | null;
}

export function Fields() {
  const [context, setContext] = useState('');
  const [k, setK] = useState('5');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const ctx = context || 'default';
  const fields = useLoad(() => get<{ fields: Field[] }>(`/api/fields${qs({ context: ctx })}`), [ctx]);
  const projection = useLoad(() => get<{ method: string; points: Point[] }>(`/api/fields/projection${qs({ context: ctx })}`), [ctx]);
  const discover = async () => {
    setBusy(true);
    setError(null);
    try {
      await json('POST', '/api/fields/discover', { k: Number(k), context: ctx, min_coherence: -1 });
      fields.reload();
      projection.reload();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const points = projection.data?.points ?? [];
  return (
    <>
      <h1>Semantic fields</h1>
      <Section title="Discover">
        <form
          class="filters"
          onSubmit={(e) => {
            e.preventDefault();
            void discover();
          }}
        >
          <ContextSelect value={context} onChange={setContext} />
          <label>
            Number of fields (k)
            <input type="number" min="1" value={k} onInput={(e) => setK(e.currentTarget.value)} />
          </label>
          <button type="submit" disabled={busy}>
            {busy ? 'Clustering…' : 'Discover fields'}
          </button>
        </form>
        <ErrorNote error={error} />
      </Section>
      <div class="split">
        <Section title="Concepts in 2-D">
          <ErrorNote error={projection.error} />
          <p class="muted small" role="status" data-testid="point-count">
            {fmt.format(points.length)} concepts ({projection.data?.method.toUpperCase() ?? '…'} of their vectors). Hover a point for its name; click it to open the concept.
          </p>
          {points.length > 0 ? (
            <PlotChart
              label={`Scatter plot of ${points.length} concepts coloured by field`}
              deps={[points]}
              make={(Plot) => {
                const chart = Plot.plot({
                  width: 640,
                  height: 460,
                  inset: 12,
                  x: { label: 'PC 1' },
                  y: { label: 'PC 2' },
                  color: { legend: true, label: 'field' },
                  marks: [
                    Plot.dot(points, { x: 'x', y: 'y', fill: (p: Point) => p.field ?? '(none)', r: 5, title: (p: Point) => `${p.name}${p.field ? ` — ${p.field}` : ''}` }),
                    Plot.text(points, { x: 'x', y: 'y', text: 'name', dy: -9, fontSize: 9, fill: '#4d5661' }),
                  ],
                });
                // One <circle> per concept, in the points' order: a click opens that concept.
                const circles = chart.querySelectorAll('circle');
                circles.forEach((circle, i) => {
                  const p = points[i];
                  if (!p) return;
                  circle.setAttribute('data-concept', p.id);
                  circle.style.cursor = 'pointer';
                  circle.addEventListener('click', () => navigate('concepts', { id: p.id }));
                });
                return chart;
              }}
            />
          ) : null}
        </Section>
        <Section title="Fields">
          <ErrorNote error={fields.error} />
          {(fields.data?.fields ?? []).length === 0 ? <p class="muted">No fields yet: discover them.</p> : null}
          <ul class="plain">
            {[...(fields.data?.fields ?? [])]
              .sort((a, b) => b.coherence - a.coherence)
              .map((f) => (
                <li key={f.id}>
                  <strong>{f.name}</strong> <span class="muted">coherence {f.coherence.toFixed(3)}</span>
                  <div class="chips" aria-label={`Members of ${f.name}`}>
                    {f.core_concepts.map((c) => (
                      <span class="chip" key={c}>
                        {c}
                      </span>
                    ))}
                  </div>
                </li>
              ))}
          </ul>
        </Section>
      </div>
    </>
  );
}
