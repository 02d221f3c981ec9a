import { useEffect, useState } from 'preact/hooks';
import { ApiError, get, json, qs } from '../api';
import type { PageProps } from '../app';
import { ContextSelect } from '../context-select';
import { href } from '../router';
import { ErrorNote, Section, useLoad } from '../ui';

interface Concept {
  id: string;
  name: string;
  context: string;
  synset_id: string | null;
  disambiguation: string | null;
  description: string | null;
  deleted_at: string | null;
  version: number;
  embedding?: { provider: string; dimension: number; fallback: boolean } | null;
}

/** GET /api/wordnet/senses: the word's senses with glosses and scores, and the automatic choice. */
interface SenseChoice {
  word: string;
  synset_id: string;
  method?: string;
  reason?: string;
  candidates?: Array<{ synset_id: string; gloss: string; lemmas?: string[]; score?: number; rank?: number }>;
}

export function Concepts({ route }: PageProps) {
  const [context, setContext] = useState(route.params.get('context') ?? '');
  const [search, setSearch] = useState('');
  const [query, setQuery] = useState('');
  const list = useLoad(() => get<{ count: number; concepts: Concept[] }>(`/api/concepts${qs({ search: query, context, limit: 200 })}`), [query, context]);
  const selected = route.params.get('id');
  return (
    <>
      <h1>Concepts</h1>
      <div class="split">
        <div>
          <Section title="Search">
            <form
              class="filters"
              onSubmit={(e) => {
                e.preventDefault();
                setQuery(search.trim());
              }}
            >
              <ContextSelect value={context} onChange={setContext} />
              <label>
                Name, description or gloss contains
                <input type="search" value={search} onInput={(e) => setSearch(e.currentTarget.value)} />
              </label>
              <button type="submit">Search</button>
            </form>
            <ErrorNote error={list.error} />
            <p class="muted" role="status">
              {list.data ? `${list.data.count} concepts` : '…'}
            </p>
            <ul class="plain">
              {(list.data?.concepts ?? []).map((c) => (
                <li key={c.id}>
                  <a href={href('concepts', { id: c.id, ...(context ? { context } : {}) })}>{c.name}</a> <span class="muted mono">{c.id}</span>
                  {c.disambiguation ? <div class="small muted">{c.disambiguation}</div> : null}
                </li>
              ))}
            </ul>
          </Section>
          <AddConcept context={context} onAdded={list.reload} />
        </div>
        <div>
          {selected ? <ConceptDetail id={selected} context={context} /> : null}
          <Similarity context={context} />
        </div>
      </div>
    </>
  );
}

/** Whether this server lists WordNet senses (asked once, from its OpenAPI document, so no request 404s). */
let sensesRoute: Promise<boolean> | undefined;
function hasSensesRoute(): Promise<boolean> {
  sensesRoute ??= fetch('/openapi.json')
    .then((r) => r.json() as Promise<{ paths?: Record<string, unknown> }>)
    .then((doc) => doc.paths?.['/api/wordnet/senses'] !== undefined)
    .catch(() => false);
  return sensesRoute;
}

function AddConcept({ context, onAdded }: { context: string; onAdded: () => void }) {
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [senses, setSenses] = useState<SenseChoice | null>(null);
  const [sensesNote, setSensesNote] = useState('');
  const [synset, setSynset] = useState('auto');
  const [added, setAdded] = useState<Concept | null>(null);
  const [error, setError] = useState<unknown>(null);

  // The senses of the word as typed, scored against the context and the description.
  useEffect(() => {
    const word = name.trim();
    setSenses(null);
    setSensesNote('');
    setSynset('auto');
    if (!word) return;
    const timer = setTimeout(async () => {
      if (!(await hasSensesRoute())) {
        setSensesNote('This server does not list WordNet senses: the automatic choice will be used.');
        return;
      }
      get<SenseChoice>(`/api/wordnet/senses${qs({ word, context, text: description })}`).then(
        (s) => setSenses(s),
        (e: unknown) => setSensesNote(e instanceof ApiError ? `${e.code}: ${e.message}` : String(e)),
      );
    }, 300);
    return () => clearTimeout(timer);
  }, [name, context, description]);

  const add = async () => {
    setError(null);
    setAdded(null);
    try {
      const c = await json<Concept>('POST', '/api/concepts', { name: name.trim(), synset: synset || null, description: description || null, ...(context ? { context } : {}) });
      setAdded(c);
      onAdded();
    } catch (e) {
      setError(e);
    }
  };
  const candidates = senses?.candidates ?? [];
  return (
    <Section title="Add a concept">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void add();
        }}
      >
        <div class="row">
          <label>
            Name
            <input value={name} name="concept-name" onInput={(e) => setName(e.currentTarget.value)} required />
          </label>
          <label>
            Description
            <input value={description} onInput={(e) => setDescription(e.currentTarget.value)} />
          </label>
        </div>
        <fieldset>
          <legend>Word sense</legend>
          <label class="inline sense">
            <input type="radio" name="synset" checked={synset === 'auto'} onChange={() => setSynset('auto')} /> automatic{senses?.synset_id ? ` (${senses.synset_id})` : ''}
          </label>
          {candidates.map((c) => (
            <label key={c.synset_id} class={`inline sense${c.synset_id === senses?.synset_id ? ' auto' : ''}`}>
              <input type="radio" name="synset" checked={synset === c.synset_id} onChange={() => setSynset(c.synset_id)} />
              <span>
                <strong>{c.synset_id}</strong>
                {c.synset_id === senses?.synset_id ? <span class="chip">automatic choice</span> : null}
                {c.score !== undefined ? <span class="muted small"> score {c.score.toFixed(3)}</span> : null}
                <br />
                {c.gloss}
              </span>
            </label>
          ))}
          <label class="inline sense">
            <input type="radio" name="synset" checked={synset === ''} onChange={() => setSynset('')} /> no WordNet sense
          </label>
          {senses?.reason ? <p class="small muted">{senses.reason}</p> : null}
          {sensesNote ? <p class="small muted">{sensesNote}</p> : null}
        </fieldset>
        <button type="submit" disabled={!name.trim()}>
          Add concept
        </button>
      </form>
      <ErrorNote error={error} />
      {added ? (
        <p role="status" class="ok">
          Added <a href={href('concepts', { id: added.id })}>{added.id}</a> (version {added.version}){added.disambiguation ? `: ${added.disambiguation}` : ''}
        </p>
      ) : null}
    </Section>
  );
}

function ConceptDetail({ id, context }: { id: string; context: string }) {
  const concept = useLoad(() => get<Concept>(`/api/concepts/${encodeURIComponent(id)}${qs({ context })}`), [id, context]);
  const [scope, setScope] = useState('registry');
  const c = concept.data;
  const similar = useLoad(
    () => (c ? get<{ results: Array<{ id: string; name: string; score: number }> }>(`/api/concepts/${encodeURIComponent(c.name)}/similar${qs({ context: c.context, k: 10, scope })}`) : Promise.resolve(null)),
    [c?.id, scope],
  );
  return (
    <section class="card" aria-labelledby="concept-title">
      <h2 id="concept-title">
        Concept <span class="mono">{id}</span>
      </h2>
      <ErrorNote error={concept.error} />
      {c ? (
        <dl class="facts">
          <dt>Name</dt>
          <dd>{c.name}</dd>
          <dt>Context</dt>
          <dd>{c.context}</dd>
          <dt>Sense</dt>
          <dd>{c.synset_id ?? '—'}</dd>
          <dt>Gloss</dt>
          <dd>{c.disambiguation ?? '—'}</dd>
          <dt>Description</dt>
          <dd>{c.description ?? '—'}</dd>
          <dt>Vector</dt>
          <dd>{c.embedding ? `${c.embedding.provider}, ${c.embedding.dimension} dimensions${c.embedding.fallback ? ' (fallback)' : ''}` : 'none'}</dd>
        </dl>
      ) : null}
      <h3>Nearest neighbours</h3>
      <label>
        Among
        <select value={scope} onChange={(e) => setScope(e.currentTarget.value)}>
          <option value="registry">concepts of the context</option>
          <option value="vocabulary">GloVe vocabulary</option>
        </select>
      </label>
      <ErrorNote error={similar.error} />
      <table aria-label="Nearest neighbours">
        <thead>
          <tr>
            <th scope="col">Neighbour</th>
            <th scope="col" class="num">Cosine</th>
          </tr>
        </thead>
        <tbody>
          {(similar.data?.results ?? []).map((r) => (
            <tr key={r.id}>
              <td>{r.name}</td>
              <td class="num">{r.score.toFixed(4)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

const METHODS = ['cosine', 'euclidean', 'manhattan', 'hybrid'] as const;

interface SimilarityAnswer {
  method: string;
  score: number;
  kind: string;
  note?: string | null;
}

function Similarity({ context }: { context: string }) {
  const [a, setA] = useState('');
  const [b, setB] = useState('');
  const [answers, setAnswers] = useState<Array<{ method: string; answer?: SimilarityAnswer; error?: unknown }>>([]);
  const compare = async () => {
    const out = await Promise.all(
      METHODS.map((method) =>
        get<SimilarityAnswer>(`/api/similarity${qs({ a: a.trim(), b: b.trim(), method, context })}`).then(
          (answer) => ({ method, answer }),
          (error: unknown) => ({ method, error }),
        ),
      ),
    );
    setAnswers(out);
  };
  return (
    <Section title="Similarity of two concepts">
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          void compare();
        }}
      >
        <label>
          First
          <input value={a} onInput={(e) => setA(e.currentTarget.value)} required />
        </label>
        <label>
          Second
          <input value={b} onInput={(e) => setB(e.currentTarget.value)} required />
        </label>
        <button type="submit">Compare</button>
      </form>
      {answers.length > 0 ? (
        <table aria-label="Similarity by each method">
          <thead>
            <tr>
              <th scope="col">Method</th>
              <th scope="col" class="num">Score</th>
              <th scope="col">Kind</th>
            </tr>
          </thead>
          <tbody>
            {answers.map((r) => (
              <tr key={r.method}>
                <td>{r.method}</td>
                <td class="num">{r.answer ? r.answer.score.toFixed(4) : '—'}</td>
                <td>{r.answer ? r.answer.kind : <ErrorNote error={r.error} />}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </Section>
  );
}
