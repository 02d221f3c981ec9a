import { useState } from 'preact/hooks';
import { get, qs } from '../api';
import type { PageProps } from '../app';
import { ContextSelect } from '../context-select';
import { href } from '../router';
import { ErrorNote, Section, useLoad } from '../ui';

interface Element {
  name: string;
  type?: string | null;
}

interface Frame {
  id: string;
  name: string;
  context: string;
  definition: string | null;
  core_elements: Element[];
  peripheral_elements: Element[];
  lexical_units: string[];
  inherits_from: string[];
  relations?: Array<{ id: string; source: string; target: string; type: string }>;
}

interface Instance {
  id: string;
  frame_name: string;
  element_bindings: Record<string, string>;
  confidence: number;
}

export function Frames({ route }: PageProps) {
  const [context, setContext] = useState('');
  const ctx = context || 'default';
  const list = useLoad(() => get<{ count: number; frames: Frame[] }>(`/api/frames${qs({ context: ctx })}`), [ctx]);
  const selected = route.params.get('name');
  return (
    <>
      <h1>Frames</h1>
      <div class="split">
        <Section title="Frames of the context and its parents">
          <ContextSelect value={context} onChange={setContext} />
          <ErrorNote error={list.error} />
          <ul class="plain">
            {(list.data?.frames ?? []).map((f) => (
              <li key={f.id}>
                <a href={href('frames', { name: f.name })} aria-current={f.name === selected ? 'true' : undefined}>
                  {f.name}
                </a>{' '}
                <span class="muted small">{f.context}</span>
                {f.definition ? <div class="small muted">{f.definition}</div> : null}
              </li>
            ))}
          </ul>
          {list.data && list.data.count === 0 ? <p class="muted">No frames in this context.</p> : null}
        </Section>
        {selected ? <FrameDetail key={selected + ctx} name={selected} context={ctx} /> : <p class="card muted">Select a frame to see its elements and instances.</p>}
      </div>
    </>
  );
}

function ElementList({ title, elements }: { title: string; elements: Element[] }) {
  return (
    <>
      <h3>{title}</h3>
      {elements.length === 0 ? <p class="muted">none</p> : null}
      <ul>
        {elements.map((e) => (
          <li key={e.name}>
            {e.name}
            {e.type ? <span class="muted"> ({e.type})</span> : null}
          </li>
        ))}
      </ul>
    </>
  );
}

function FrameDetail({ name, context }: { name: string; context: string }) {
  const frame = useLoad(() => get<Frame>(`/api/frames/${encodeURIComponent(name)}${qs({ context })}`), [name, context]);
  const instances = useLoad(() => get<{ count: number; instances: Instance[] }>(`/api/frames/${encodeURIComponent(name)}/instances${qs({ context })}`), [name, context]);
  const f = frame.data;
  // The frame's own elements, then any inherited ones the instances bind.
  const elementNames = [...new Set([...(f ? [...f.core_elements, ...f.peripheral_elements].map((e) => e.name) : []), ...(instances.data?.instances ?? []).flatMap((i) => Object.keys(i.element_bindings))])];
  return (
    <section class="card" aria-labelledby="frame-title">
      <h2 id="frame-title">Frame {name}</h2>
      <ErrorNote error={frame.error ?? instances.error} />
      {f ? (
        <>
          {f.definition ? <p>{f.definition}</p> : null}
          <ElementList title="Core elements" elements={f.core_elements} />
          <ElementList title="Peripheral elements" elements={f.peripheral_elements} />
          {f.lexical_units.length > 0 ? <p>Lexical units: {f.lexical_units.join(', ')}</p> : null}
          {f.inherits_from.length > 0 ? <p>Inherits from: {f.inherits_from.join(', ')}</p> : null}
          {f.relations && f.relations.length > 0 ? (
            <>
              <h3>Relations</h3>
              <ul>
                {f.relations.map((r) => (
                  <li key={r.id}>
                    {r.source} —{r.type}→ {r.target}
                  </li>
                ))}
              </ul>
            </>
          ) : null}
        </>
      ) : null}
      <h3>Instances</h3>
      <table aria-label={`Instances of ${name}`}>
        <thead>
          <tr>
            <th scope="col">Instance</th>
            {elementNames.map((e) => (
              <th scope="col" key={e}>
                {e}
              </th>
            ))}
            <th scope="col" class="num">Confidence</th>
          </tr>
        </thead>
        <tbody>
          {(instances.data?.instances ?? []).map((i) => (
            <tr key={i.id}>
              <td class="mono">{i.id}</td>
              {elementNames.map((e) => (
                <td key={e}>{i.element_bindings[e] ?? '—'}</td>
              ))}
              <td class="num">{i.confidence}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {instances.data && instances.data.count === 0 ? <p class="muted">No instances.</p> : null}
    </section>
  );
}
