/**
 * @module The guard in front of every protected route: authenticate (JWT or API key), count the
 * request against the principal's rate limit (429 with Retry-After and RateLimit-* headers), then
 * check the route's scope. A request whose credentials are missing or wrong is counted instead
 * against its client IP's budget for failed authentication (policy `unauth`, WAFGEN_RATE_LIMIT_UNAUTH):
 * once spent, that IP's failures are answered 429 with Retry-After instead of 401.
 */
import type { Context, MiddlewareHandler, Next } from 'hono';

import type { Scope, Service } from '../../app/index.js';
import { UNAUTH_POLICY } from '../../app/service-config.js';
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

/** What the adapters hand over as `c.env` and carries the peer's address. */
interface PeerEnv {
  /** Node (`@hono/node-server`): the IncomingMessage. */
  incoming?: { socket?: { remoteAddress?: string } };
  /** AWS Lambda (API Gateway REST and HTTP APIs, function URLs). */
  event?: { requestContext?: { identity?: { sourceIp?: string }; http?: { sourceIp?: string } } };
  requestContext?: { identity?: { sourceIp?: string }; http?: { sourceIp?: string } };
}

/**
 * The client's address: the socket's peer (or the platform's source IP), or with `trustProxy` the
 * right-most X-Forwarded-For entry (what the proxy in front of wafgen saw; entries further left
 * are the client's to write). `unknown` when neither says.
 */
function clientIp(c: Context, trustProxy: boolean): string {
  if (trustProxy) {
    const forwarded = c.req.header('x-forwarded-for');
    const last = forwarded?.slice(forwarded.lastIndexOf(',') + 1).trim();
    if (last && last.length <= 64) return last;
  }
  const env = c.env as PeerEnv | undefined;
  const ctx = env?.requestContext ?? env?.event?.requestContext;
  return env?.incoming?.socket?.remoteAddress ?? ctx?.http?.sourceIp ?? ctx?.identity?.sourceIp ?? 'unknown';
}

/**
 * Counts a failed authentication (a 401: credentials missing, malformed or wrong; a webhook
 * signature that does not verify) against the client IP's `unauth` budget, then rethrows it, or
 * throws the 429 when the budget is spent. Any other error is rethrown untouched.
 */
export type FailedAuth = (c: Context, err: unknown) => Promise<never>;

export function createFailedAuth(rateLimit: RateLimit, trustProxy: boolean): FailedAuth {
  return async (c, err) => {
    if (err instanceof ApiError && err.status === 401)
      await rateLimit(c, UNAUTH_POLICY, `ip:${clientIp(c, trustProxy)}`);
    throw err;
  };
}

export function createGuard(auth: Authenticator, rateLimit: RateLimit, failedAuth: FailedAuth): Guard {
  const scoped = (principal: Principal, scope: Scope, next: Next): Promise<void> => {
    requireScope(principal, scope);
    return next();
  };
  const guarded = async (c: Context, next: Next, scope: Scope, policy: string): Promise<void> => {
    const principal = await auth
      .authenticate({ authorization: c.req.header('authorization'), apiKey: c.req.header('x-api-key') })
      .catch((e: unknown) => failedAuth(c, e));
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
