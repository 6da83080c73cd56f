import { API_URL } from '../config';
import { tokenStore, type Tokens } from './tokens';

/** A platform error: `{"error": {"code", "message", "details"}}` with its status. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  /** An object (`{field, ...}`) or, for 422 invalid_input, a list of `{loc, msg, type}`. */
  readonly details: Record<string, unknown> | Array<Record<string, unknown>> | null;

  constructor(status: number, code: string, message: string, details: ApiError['details'] = null) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.details = details;
  }

  /** The request field the error is about (`details.field`), if any. */
  get field(): string | null {
    const details = this.details;
    if (Array.isArray(details)) {
      // request validation: [{"loc": ["body", "price"], "msg", "type"}]
      const loc = details[0]?.loc;
      return Array.isArray(loc) && loc.length > 1 ? String(loc[loc.length - 1]) : null;
    }
    const field = details?.field;
    return typeof field === 'string' ? field : null;
  }
}

export type Query = Record<string, string | number | boolean | null | undefined | Array<string | number>>;

export interface RequestOptions {
  body?: unknown;
  query?: Query;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Send the bearer token (and refresh it once on 401). Default true. */
  auth?: boolean;
}

export function buildUrl(path: string, query?: Query): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query ?? {})) {
    if (value === undefined || value === null || value === '') continue;
    if (Array.isArray(value)) for (const item of value) params.append(name, String(item));
    else params.append(name, String(value));
  }
  const search = params.toString();
  return `${API_URL}${path}${search ? `?${search}` : ''}`;
}

async function toError(response: Response): Promise<ApiError> {
  let body: unknown = null;
  try {
    body = await response.json();
  } catch {
    /* not JSON */
  }
  const error = (body as { error?: { code?: string; message?: string; details?: ApiError['details'] } } | null)?.error;
  if (error) return new ApiError(response.status, error.code ?? 'error', error.message ?? response.statusText, error.details ?? null);
  const detail = (body as { detail?: unknown } | null)?.detail;
  return new ApiError(response.status, `http_${response.status}`, typeof detail === 'string' ? detail : response.statusText || `HTTP ${response.status}`);
}

let refreshing: Promise<Tokens | null> | null = null;

/** Spend the refresh token for a new pair (one request at a time); null when refused. */
export function refreshTokens(): Promise<Tokens | null> {
  if (refreshing) return refreshing;
  const tokens = tokenStore.get();
  if (!tokens?.refreshToken) return Promise.resolve(null);
  refreshing = (async () => {
    try {
      const response = await fetch(buildUrl('/api/v1/auth/refresh'), {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ refreshToken: tokens.refreshToken }),
      });
      if (!response.ok) {
        tokenStore.set(null);
        return null;
      }
      const fresh = (await response.json()) as Tokens;
      tokenStore.set(fresh);
      return fresh;
    } catch {
      return null;
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

export async function request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
  const { body, query, headers = {}, signal, auth = true } = options;
  const send = (token: string | undefined) => {
    const all: Record<string, string> = { Accept: 'application/json', ...headers };
    if (body !== undefined) all['Content-Type'] = 'application/json';
    if (auth && token) all.Authorization = `Bearer ${token}`;
    return fetch(buildUrl(path, query), {
      method,
      headers: all,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    });
  };
  let response = await send(tokenStore.get()?.accessToken);
  if (response.status === 401 && auth && tokenStore.get()?.refreshToken) {
    const fresh = await refreshTokens();
    if (fresh) response = await send(fresh.accessToken);
    else tokenStore.set(null);
  }
  if (!response.ok) throw await toError(response);
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

export const http = {
  get: <T>(path: string, query?: Query, signal?: AbortSignal) => request<T>('GET', path, { query, signal }),
  post: <T>(path: string, body?: unknown, headers?: Record<string, string>) => request<T>('POST', path, { body, headers }),
  put: <T>(path: string, body?: unknown) => request<T>('PUT', path, { body }),
  patch: <T>(path: string, body?: unknown) => request<T>('PATCH', path, { body }),
  del: <T>(path: string) => request<T>('DELETE', path),
};

/** RFC 4122 v4, from crypto.randomUUID when present. */
export function uuid(): string {
  if (typeof crypto !== 'undefined' && typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
