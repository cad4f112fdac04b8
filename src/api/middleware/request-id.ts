/**
 * @module Request id, access log and request metrics: every response carries an `X-Request-Id`
 * (the caller's when it is a plain token, else a new UUID), and every request is counted and
 * timed by its route pattern (never its raw path, which a caller controls).
 */
import type { MiddlewareHandler } from 'hono';
import { routePath } from 'hono/route';
import type { Logger } from 'pino';

import type { ApiMetrics } from '../metrics.js';

/** What a caller may send as its own request id: a short token, nothing a log could be fooled by. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function requestIdMiddleware(
  log: Logger,
  metrics: ApiMetrics,
): MiddlewareHandler<{ Variables: { requestId: string } }> {
  return async (c, next) => {
    const started = performance.now();
    const given = c.req.header('x-request-id');
    const requestId = given && REQUEST_ID.test(given) ? given : crypto.randomUUID();
    c.set('requestId', requestId);
    c.header('X-Request-Id', requestId);
    await next();
    const route = routePath(c) || 'unmatched';
    const seconds = (performance.now() - started) / 1000;
    metrics.requests.inc({ method: c.req.method, route, status: String(c.res.status) });
    metrics.duration.observe({ method: c.req.method, route }, seconds);
    if (c.res.status >= 500) log.error({ requestId, route, status: c.res.status }, 'request failed');
    else
      log.debug(
        { requestId, method: c.req.method, route, status: c.res.status, ms: seconds * 1000 },
        'request',
      );
  };
}
