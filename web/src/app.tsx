import type { ComponentType } from 'preact';
import { lazy, Suspense } from 'preact/compat';
import { KeyDialog } from './key-dialog';
import { href, useRoute, type Route } from './router';
import { Overview } from './pages/overview';

export interface PageProps {
  route: Route;
}

/** Every page but the overview loads on first visit, which keeps the initial script small. */
const PAGES: Array<{ id: string; title: string; component: ComponentType<PageProps> }> = [
  { id: 'overview', title: 'Overview', component: Overview },
  { id: 'analogies', title: 'Analogies', component: lazy(() => import('./pages/analogies').then((m) => m.Analogies)) },
  { id: 'import', title: 'Import', component: lazy(() => import('./pages/import').then((m) => m.ImportPage)) },
  { id: 'workflows', title: 'Workflows', component: lazy(() => import('./pages/workflows').then((m) => m.Workflows)) },
  { id: 'concepts', title: 'Concepts', component: lazy(() => import('./pages/concepts').then((m) => m.Concepts)) },
  { id: 'playground', title: 'Analogy playground', component: lazy(() => import('./pages/playground').then((m) => m.Playground)) },
  { id: 'fields', title: 'Semantic fields', component: lazy(() => import('./pages/fields').then((m) => m.Fields)) },
  { id: 'frames', title: 'Frames', component: lazy(() => import('./pages/frames').then((m) => m.Frames)) },
];

export function App() {
  const route = useRoute();
  const page = PAGES.find((p) => p.id === route.page);
  const Page = page?.component;
  return (
    <>
      <header class="top">
        <a class="brand" href={href('overview')}>
          softlogic
        </a>
        <nav aria-label="Pages">
          <ul>
            {PAGES.map((p) => (
              <li key={p.id}>
                <a href={href(p.id)} aria-current={p.id === route.page ? 'page' : undefined}>
                  {p.title}
                </a>
              </li>
            ))}
          </ul>
        </nav>
      </header>
      <main id="main">
        {Page ? (
          <Suspense fallback={<p role="status">Loading…</p>}>
            <Page route={route} />
          </Suspense>
        ) : (
          <section>
            <h1>Not found</h1>
            <p>
              No page “{route.page}”. <a href={href('overview')}>Back to the overview</a>.
            </p>
          </section>
        )}
      </main>
      <KeyDialog />
    </>
  );
}
