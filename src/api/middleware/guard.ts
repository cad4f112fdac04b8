/**
 * @module The guard in front of every protected route: authenticate (JWT or API key), count the
 * request against the principal's rate limit (429 with Retry-After and RateLimit-* headers), then
 * check the route's scope.
 */
import type { Context, MiddlewareHandler, Next } from 'hono';

import type { Scope, Service } from '../../app/index.js';
import { requireScope, type Authenticator, type Principal } from '../auth.js';
import { ApiError } from '../errors.js';
import type { ApiMetrics } from '../metrics.js';
import { responseHeaders } from './response-headers.js';

type RateDecision = Awaited<ReturnType<Service['limiter']['consume']>>;

export type Guard = (
  scope: Scope,
  policy?: string,
) => MiddlewareHandler<{ Variables: { principal: Principal } }>;

export type RateLimit = (c: Context, policy: string, principal: string) => Promise<void> | void;

/** Header values of a policy that do not change per request. */
interface PolicyFigures {
  limit: string;
  policy: string;
}

/** Counts a request against `principal`'s budget under `policy`; throws a 429 ApiError when spent. */
export function createRateLimit(limiter: Service['limiter'], metrics: ApiMetrics): RateLimit {
  const figuresOf = new Map<string, PolicyFigures>();
  const apply = (c: Context, policy: string, d: RateDecision): void => {
    let fixed = figuresOf.get(policy);
    if (!fixed) {
      fixed = { limit: String(d.limit), policy: `${d.limit};w=${d.windowS}` };
      figuresOf.set(policy, fixed);
    }
    const remaining = String(d.remaining);
    const reset = String(d.resetS);
    const headers = responseHeaders(c);
    if (headers) {
      headers['RateLimit-Limit'] = fixed.limit;
      headers['RateLimit-Remaining'] = remaining;
      headers['RateLimit-Reset'] = reset;
      headers['RateLimit-Policy'] = fixed.policy;
    } else {
      c.header('RateLimit-Limit', fixed.limit);
      c.header('RateLimit-Remaining', remaining);
      c.header('RateLimit-Reset', reset);
      c.header('RateLimit-Policy', fixed.policy);
    }
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
  return (c, policy, principal) => {
    // Most requests are decided without Redis (see SlidingWindowLimiter): then nothing is awaited.
    const local = limiter.tryConsume(policy, principal);
    if (local) return apply(c, policy, local);
    return limiter.consume(policy, principal).then((d) => apply(c, policy, d));
  };
}

export function createGuard(auth: Authenticator, rateLimit: RateLimit): Guard {
  const scoped = (principal: Principal, scope: Scope, next: Next): Promise<void> => {
    requireScope(principal, scope);
    return next();
  };
  const guarded = async (c: Context, next: Next, scope: Scope, policy: string): Promise<void> => {
    const principal = await auth.authenticate({
      authorization: c.req.header('authorization'),
      apiKey: c.req.header('x-api-key'),
    });
    c.set('principal', principal);
    await rateLimit(c, policy, principal.id);
    requireScope(principal, scope);
    await next();
  };
  return (scope, policy = 'default') =>
    (c, next) => {
      // A bearer token verified before, and a rate limit decided without Redis: nothing is awaited
      // before the handler (authenticate, rate limit and scope check in the same order).
      const known = auth.cachedBearer(c.req.header('authorization'));
      if (!known) return guarded(c, next, scope, policy);
      c.set('principal', known);
      const limited = rateLimit(c, policy, known.id);
      if (limited) return limited.then(() => scoped(known, scope, next));
      return scoped(known, scope, next);
    };
}
