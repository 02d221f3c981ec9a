import { useEffect, useState } from 'preact/hooks';

/** Hash routes (#/analogies?id=...): the service serves one index.html, and links survive reloads. */
export interface Route {
  page: string;
  params: URLSearchParams;
}

function current(): Route {
  const hash = location.hash.replace(/^#\/?/, '');
  const [page, query] = hash.split('?', 2);
  return { page: page || 'overview', params: new URLSearchParams(query ?? '') };
}

export function useRoute(): Route {
  const [route, setRoute] = useState(current);
  useEffect(() => {
    const onChange = () => setRoute(current());
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

export function href(page: string, params: Record<string, string> = {}): string {
  const q = new URLSearchParams(params).toString();
  return `#/${page}${q ? `?${q}` : ''}`;
}

export function navigate(page: string, params: Record<string, string> = {}): void {
  location.hash = href(page, params);
}
