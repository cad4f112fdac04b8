/**
 * @module The guard in front of every protected route: authenticate (JWT or API key), count the
 * request against the principal's rate limit (429 with Retry-After and RateLimit-* headers), then
 * check the route's scope.
 */
import type { Context, MiddlewareHandler } from 'hono';

import type { Scope, Service } from '../../app/index.js';
import { requireScope, type Authenticator, type Principal } from '../auth.js';
import { ApiError } from '../errors.js';
import type { ApiMetrics } from '../metrics.js';
import { responseHeaders } from './response-headers.js';

export type Guard = (
  scope: Scope,
  policy?: string,
) => MiddlewareHandler<{ Variables: { principal: Principal } }>;

export type RateLimit = (c: Context, policy: string, principal: string) => Promise<void>;

/** Counts a request against `principal`'s budget under `policy`; throws a 429 ApiError when spent. */
export function createRateLimit(limiter: Service['limiter'], metrics: ApiMetrics): RateLimit {
  return async (c, policy, principal) => {
    const d = await limiter.consume(policy, principal);
    const limit = String(d.limit);
    const figures = {
      'RateLimit-Limit': limit,
      'RateLimit-Remaining': String(d.remaining),
      'RateLimit-Reset': String(d.resetS),
      'RateLimit-Policy': `${limit};w=${d.windowS}`,
    };
    const headers = responseHeaders(c);
    if (headers) Object.assign(headers, figures);
    else for (const [k, v] of Object.entries(figures)) c.header(k, v);
    if (!d.allowed) {
      metrics.metrics.recordRateLimitRejection(policy);
      throw new ApiError(
        429,
        'rate_limited',
        `rate limit of ${d.limit} requests per ${d.windowS} s exceeded; retry in ${d.retryAfterS} s`,
        undefined,
        { 'Retry-After': String(d.retryAfterS) },
      );
    }
  };
}

export function createGuard(auth: Authenticator, rateLimit: RateLimit): Guard {
  return (scope, policy = 'default') =>
    async (c, next) => {
      const principal = await auth.authenticate({
        authorization: c.req.header('authorization'),
        apiKey: c.req.header('x-api-key'),
      });
      c.set('principal', principal);
      await rateLimit(c, policy, principal.id);
      requireScope(principal, scope);
      await next();
    };
}
