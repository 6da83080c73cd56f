/** Calls typed by the platform's OpenAPI document (schema.d.ts is generated from
 * web/openapi.json by `npm run gen:api`): a renamed path or field fails `npm run check`. */
import type { components, paths } from './schema';
import { request, type Query } from './client';

export type Schemas = components['schemas'];
type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';
type Op<P extends keyof paths, M extends Method> = NonNullable<paths[P][M]>;

type Json<R> = R extends { content: { 'application/json': infer J } } ? J : void;
export type Ok<O> = O extends { responses: infer R }
  ? 200 extends keyof R
    ? Json<R[200]>
    : 201 extends keyof R
      ? Json<R[201]>
      : 204 extends keyof R
        ? void
        : unknown
  : never;
export type BodyOf<O> = O extends { requestBody: { content: { 'application/json': infer B } } }
  ? B
  : O extends { requestBody?: { content: { 'application/json': infer B } } }
    ? B
    : never;
type QueryOf<O> = O extends { parameters: { query?: infer Q } } ? (Q extends undefined ? never : Q) : never;
type PathOf<O> = O extends { parameters: { path: infer P } } ? P : never;

export type PathsWith<M extends Method> = { [P in keyof paths]: paths[P][M] extends undefined | never ? never : P }[keyof paths];

export interface CallOptions<O> {
  path?: PathOf<O>;
  query?: QueryOf<O>;
  body?: BodyOf<O>;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

export function call<M extends Method, P extends PathsWith<M> & keyof paths>(
  method: M,
  path: P,
  options: CallOptions<Op<P, M>> = {},
): Promise<Ok<Op<P, M>>> {
  let url = path as string;
  for (const [name, value] of Object.entries((options.path ?? {}) as Record<string, string>)) {
    url = url.replace(`{${name}}`, encodeURIComponent(value));
  }
  return request<Ok<Op<P, M>>>(method.toUpperCase(), url, {
    body: options.body,
    query: options.query as Query | undefined,
    headers: options.headers,
    signal: options.signal,
    auth: !path.startsWith('/api/v1/auth/'),
  });
}
