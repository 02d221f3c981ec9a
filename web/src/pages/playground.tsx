import { useState } from 'preact/hooks';
import { json, qs } from '../api';
import { ContextSelect } from '../context-select';
import { PlotChart } from '../plot';
import { ErrorNote, fmt, Section } from '../ui';

interface Completion {
  question: { a: string; b: string; c: string };
  scope: string;
  method: string;
  results: Array<{ id: string; name: string; score: number }>;
}

interface EvalSection {
  name: string;
  kind: string;
  correct: number;
  seen: number;
  accuracy: number;
  skipped: number;
}

interface EvalResult {
  method: string;
  top: number;
  sections: EvalSection[];
  total: { correct: number; seen: number; accuracy: number; skipped: number; questions: number };
}

export function Playground() {
  const [q, setQ] = useState({ a: 'man', b: 'king', c: 'woman', k: '5', method: 'cosadd', scope: 'vocabulary', context: '' });
  const [answer, setAnswer] = useState<Completion | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const ask = async () => {
    setBusy(true);
    setError(null);
    try {
      setAnswer(await json<Completion>('GET', `/api/analogy/complete${qs({ a: q.a.trim(), b: q.b.trim(), c: q.c.trim(), k: q.k, method: q.method, scope: q.scope, context: q.context })}`));
    } catch (e) {
      setAnswer(null);
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const term = (name: 'a' | 'b' | 'c', label: string) => (
    <label>
      {label}
      <input value={q[name]} name={name} onInput={(e) => setQ({ ...q, [name]: e.currentTarget.value })} required />
    </label>
  );
  return (
    <>
      <h1>Analogy playground</h1>
      <Section title="A : B :: C : ?">
        <form
          class="filters"
          onSubmit={(e) => {
            e.preventDefault();
            void ask();
          }}
        >
          {term('a', 'A')}
          {term('b', 'B')}
          {term('c', 'C')}
          <label>
            Method
            <select value={q.method} onChange={(e) => setQ({ ...q, method: e.currentTarget.value })}>
              <option value="cosadd">3CosAdd</option>
              <option value="cosmul">3CosMul</option>
            </select>
          </label>
          <label>
            Scope
            <select value={q.scope} onChange={(e) => setQ({ ...q, scope: e.currentTarget.value })}>
              <option value="vocabulary">GloVe vocabulary</option>
              <option value="registry">concepts of the context</option>
            </select>
          </label>
          <ContextSelect value={q.context} onChange={(v) => setQ({ ...q, context: v })} />
          <label>
            Top k
            <input type="number" min="1" max="100" value={q.k} onInput={(e) => setQ({ ...q, k: e.currentTarget.value })} />
          </label>
          <button type="submit" disabled={busy}>
            {busy ? 'Thinking…' : 'Complete'}
          </button>
        </form>
        <ErrorNote error={error} />
        {answer ? (
          <table aria-label="Answers, best first">
            <caption class="muted">
              {answer.question.a} : {answer.question.b} :: {answer.question.c} : ? ({answer.method}, {answer.scope})
            </caption>
            <thead>
              <tr>
                <th scope="col">#</th>
                <th scope="col">Answer</th>
                <th scope="col" class="num">Score</th>
              </tr>
            </thead>
            <tbody>
              {answer.results.map((r, i) => (
                <tr key={r.id}>
                  <td>{i + 1}</td>
                  <td data-testid="answer">{r.name}</td>
                  <td class="num">{r.score.toFixed(4)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : null}
      </Section>
      <Evaluation />
    </>
  );
}

function Evaluation() {
  const [file, setFile] = useState<File | null>(null);
  const [top, setTop] = useState('30000');
  const [method, setMethod] = useState('cosadd');
  const [result, setResult] = useState<EvalResult | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const run = async () => {
    if (!file) return;
    setBusy(true);
    setError(null);
    try {
      setResult(await json<EvalResult>('POST', `/api/analogy/eval${qs({ top, method })}`, file, 'text/plain'));
    } catch (e) {
      setResult(null);
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Section title="Accuracy on a questions-words file">
      <form
        class="filters"
        onSubmit={(e) => {
          e.preventDefault();
          void run();
        }}
      >
        <label>
          Questions file (“: section” lines, then “a b c d”)
          <input type="file" accept=".txt,text/plain" onChange={(e) => setFile(e.currentTarget.files?.[0] ?? null)} />
        </label>
        <label>
          Vocabulary (most frequent words)
          <input type="number" min="1" value={top} onInput={(e) => setTop(e.currentTarget.value)} />
        </label>
        <label>
          Method
          <select value={method} onChange={(e) => setMethod(e.currentTarget.value)}>
            <option value="cosadd">3CosAdd</option>
            <option value="cosmul">3CosMul</option>
          </select>
        </label>
        <button type="submit" disabled={!file || busy}>
          {busy ? 'Evaluating…' : 'Evaluate'}
        </button>
      </form>
      <ErrorNote error={error} />
      {result ? (
        <>
          <p role="status">
            Overall: {(result.total.accuracy * 100).toFixed(1)}% ({fmt.format(result.total.correct)} of {fmt.format(result.total.seen)}; {fmt.format(result.total.skipped)} skipped)
          </p>
          <PlotChart
            label="Accuracy per section"
            deps={[result]}
            make={(Plot) =>
              Plot.plot({
                marginLeft: 160,
                width: 640,
                x: { domain: [0, 100], label: 'accuracy (%)', grid: true },
                y: { label: null },
                color: { legend: true },
                marks: [
                  Plot.barX(result.sections, { y: 'name', x: (d: EvalSection) => d.accuracy * 100, fill: 'kind', title: (d: EvalSection) => `${d.name}: ${(d.accuracy * 100).toFixed(1)}% of ${d.seen}` }),
                  Plot.ruleX([0]),
                ],
              })
            }
          />
          <table aria-label="Accuracy per section">
            <thead>
              <tr>
                <th scope="col">Section</th>
                <th scope="col">Kind</th>
                <th scope="col" class="num">Correct</th>
                <th scope="col" class="num">Seen</th>
                <th scope="col" class="num">Accuracy</th>
              </tr>
            </thead>
            <tbody>
              {result.sections.map((s) => (
                <tr key={s.name}>
                  <td>{s.name}</td>
                  <td>{s.kind}</td>
                  <td class="num">{fmt.format(s.correct)}</td>
                  <td class="num">{fmt.format(s.seen)}</td>
                  <td class="num">{(s.accuracy * 100).toFixed(1)}%</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      ) : null}
    </Section>
  );
}
