/**
 * @module The headers a response carries besides its body's, kept per request in a plain object
 * (the request id, the security headers, the rate-limit figures, X-Cache) instead of Hono's
 * `c.header()`. A hot route answers with {@link plainResponse}: the Node adapter writes a plain
 * header object straight to the socket, where a `Headers` object costs a WebIDL check per `set`
 * and a copy back into a plain object per response. Every other response (errors, `c.json`, the
 * docs page) gets the same headers copied in by the request-id middleware, so no answer lacks them.
 *
 * Measured: server CPU per cache-hit GET /v1/rules/:cveId, in process (createRuntime with the
 * in-memory backends, 20,000 sequential `runtime.app.request('/v1/rules/CVE-2021-44228', { headers:
 * { authorization } })`, process.cpuUsage()): 122 -> 99 µs with this and Hono's secureHeaders
 * folded into the request-id middleware; the `Headers.set` WebIDL checks, the secure-headers pass
 * and the Headers -> plain copy were ~15% of that loop's CPU profile. Under `npm run bench:api`
 * (loopback, Redis) see the server CPU/req column.
 */
import type { Context } from 'hono';

/** Plain header record of one request; the request-id middleware creates it. */
export type ResponseHeaders = Record<string, string>;

/**
 * The security headers of a JSON API, on every response: what Hono's secureHeaders sent with the
 * options this API used (the HTML-page ones left out: they cost time on every response and protect
 * no JSON). The request-id middleware sets them; a response's own value never replaces them.
 */
export const SECURITY_HEADERS: Readonly<ResponseHeaders> = Object.freeze({
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Referrer-Policy': 'no-referrer',
  'Strict-Transport-Security': 'max-age=15552000; includeSubDomains',
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'SAMEORIGIN',
});

/** Responses built by {@link plainResponse}: their headers are already complete. */
const complete = new WeakSet<Response>();

/** This request's header record (undefined outside the request-id middleware, e.g. in a unit test). */
export function responseHeaders(c: Context): ResponseHeaders | undefined {
  return c.get('responseHeaders' as never) as ResponseHeaders | undefined;
}

/** Sets a header on whatever response this request ends with. */
export function setResponseHeader(c: Context, name: string, value: string): void {
  const headers = responseHeaders(c);
  if (headers) headers[name] = value;
  else c.header(name, value);
}

/**
 * A response with this request's headers plus `extra`, as a plain header object. Outside the
 * request-id middleware it is an ordinary `c.body` answer.
 */
export function plainResponse(
  c: Context,
  status: 200,
  body: Uint8Array<ArrayBuffer> | string,
  extra: ResponseHeaders,
): Response {
  const headers = responseHeaders(c);
  if (!headers) return c.body(body, status, extra);
  for (const name in extra) headers[name] = extra[name]!;
  // The security headers go last, so nothing in `extra` replaces them.
  Object.assign(headers, SECURITY_HEADERS);
  const res = new Response(body, { status, headers });
  complete.add(res);
  return res;
}

/**
 * Copies the request's headers into a response built some other way: the security headers always
 * (as Hono's secureHeaders did), the others unless the response set its own (as `c.header()`
 * values gave way to a response's own headers).
 */
export function completeHeaders(res: Response, headers: ResponseHeaders): void {
  if (complete.has(res)) return;
  const target = res.headers;
  for (const name in headers) if (!target.has(name)) target.set(name, headers[name]!);
  for (const name in SECURITY_HEADERS) target.set(name, SECURITY_HEADERS[name]!);
  target.delete('X-Powered-By');
}
