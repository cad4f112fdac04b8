/**
 * @module Request id, response headers, access log and request metrics: every response carries an
 * `X-Request-Id` (the caller's when it is a plain token, else a new UUID) and the security headers
 * (./response-headers), and every request is counted and timed by its route pattern (never its raw
 * path, which a caller controls).
 */
import type { MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import type { Logger } from 'pino';

import type { ApiMetrics } from '../metrics.js';
import { completeHeaders, type ResponseHeaders } from './response-headers.js';

/** What a caller may send as its own request id: a short token, nothing a log could be fooled by. */
export const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestIdMiddleware(
  log: Logger,
  metrics: ApiMetrics,
): MiddlewareHandler<{ Variables: { requestId: string; responseHeaders: ResponseHeaders } }> {
  return async (c, next) => {
    // A request whose body the Node adapter's hot path read before handing it over is timed from
    // when that path took it (../hot-path.ts), like one whose body is read below.
    const hot = (c.env as { incoming?: { hotStarted?: unknown } } | undefined)?.incoming?.hotStarted;
    const started = typeof hot === 'number' ? hot : performance.now();
    const given = c.req.header('x-request-id');
    const requestId = given && REQUEST_ID.test(given) ? given : crypto.randomUUID();
    c.set('requestId', requestId);
    const headers: ResponseHeaders = { 'X-Request-Id': requestId };
    c.set('responseHeaders', headers);
    await next();
    const res = c.res;
    completeHeaders(res, headers);
    const route = routePath(c) || 'unmatched';
    const seconds = (performance.now() - started) / 1000;
    const status = res.status;
    metrics.requests.record(c.req.method, route, status, seconds);
    if (status >= 500) log.error({ requestId, route, status }, 'request failed');
    // The access line is debug: checked first, so a request at the usual levels allocates nothing for it.
    else if (log.isLevelEnabled('debug'))
      log.debug({ requestId, method: c.req.method, route, status, ms: seconds * 1000 }, 'request');
  };
}
