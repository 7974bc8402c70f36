/**
 * The console's one door to the admin JSON API. The admin token lives in sessionStorage
 * for the tab's lifetime and goes out as a bearer token; a 401 on the stored token logs the
 * designer out (a 401 on a token being tried at sign-in does not).
 */
const TOKEN_KEY = 'playpulse.adminToken';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(apiMessage(status, body));
  }
}

function apiMessage(status: number, body: unknown): string {
  if (body && typeof body === 'object') {
    const b = body as { message?: unknown; error?: unknown };
    const inner = b.error && typeof b.error === 'object' ? (b.error as { message?: unknown }).message : b.error;
    const msg = typeof b.message === 'string' ? b.message : typeof inner === 'string' ? inner : null;
    if (msg) return `${status}: ${msg}`;
  }
  return `HTTP ${status}`;
}

export function getToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(token: string | null): void {
  if (token === null) sessionStorage.removeItem(TOKEN_KEY);
  else sessionStorage.setItem(TOKEN_KEY, token);
}

let onUnauthorized: () => void = () => undefined;
export function whenUnauthorized(fn: () => void): void {
  onUnauthorized = fn;
}

export async function api<T>(method: string, path: string, body?: unknown, token = getToken()): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let parsed: unknown = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = text;
  }
  if (res.status === 401) {
    if (token !== null && token === getToken()) onUnauthorized();
    throw new ApiError(401, parsed);
  }
  if (!res.ok) throw new ApiError(res.status, parsed);
  return parsed as T;
}
