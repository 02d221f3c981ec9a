/**
 * The console's only way to the service: the public REST and WebSocket API. With an API key
 * set on the server, the key is asked once per tab (sessionStorage) and sent as a bearer token;
 * a 401 asks again.
 */
const KEY_STORAGE = 'softlogic.apiKey';

export interface ApiErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown> };
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

type KeyAsker = () => Promise<string | null>;
let askForKey: KeyAsker = async () => null;
/** Set by the app: shows the key dialog and resolves with what the person typed (null: cancelled). */
export function setKeyAsker(asker: KeyAsker): void {
  askForKey = asker;
}

export function storedKey(): string | null {
  return sessionStorage.getItem(KEY_STORAGE);
}

function authHeaders(): Record<string, string> {
  const key = storedKey();
  return key ? { authorization: `Bearer ${key}` } : {};
}

/** One request; on 401 asks for the key and tries again with it (until the dialog is cancelled). */
export async function request(method: string, path: string, body?: BodyInit | object, contentType?: string): Promise<Response> {
  for (;;) {
    const headers: Record<string, string> = { ...authHeaders() };
    let payload: BodyInit | undefined;
    if (body instanceof Blob || body instanceof ArrayBuffer || typeof body === 'string') {
      payload = body;
      if (contentType) headers['content-type'] = contentType;
    } else if (body !== undefined) {
      payload = JSON.stringify(body);
      headers['content-type'] = 'application/json';
    }
    const res = await fetch(path, { method, headers, body: payload });
    if (res.status !== 401) return res;
    const key = await askForKey();
    if (key === null) return res;
    sessionStorage.setItem(KEY_STORAGE, key);
  }
}

async function errorOf(res: Response): Promise<ApiError> {
  try {
    const body = (await res.json()) as ApiErrorBody;
    return new ApiError(res.status, body.error.code, body.error.message, body.error.details);
  } catch {
    return new ApiError(res.status, 'HTTP_' + res.status, res.statusText || `HTTP ${res.status}`);
  }
}

export async function json<T>(method: string, path: string, body?: BodyInit | object, contentType?: string): Promise<T> {
  const res = await request(method, path, body, contentType);
  if (!res.ok) throw await errorOf(res);
  return (await res.json()) as T;
}

export const get = <T>(path: string): Promise<T> => json<T>('GET', path);

/** A query string from the defined, non-empty values. */
export function qs(params: Record<string, string | number | boolean | undefined | null>): string {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') u.set(k, String(v));
  const s = u.toString();
  return s ? `?${s}` : '';
}

/** A WebSocket to the service, carrying the key as the `bearer.<key>` subprotocol when there is one. */
export function openSocket(path: string): WebSocket {
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${path}`;
  const key = storedKey();
  return key ? new WebSocket(url, ['softlogic', `bearer.${key}`]) : new WebSocket(url);
}
