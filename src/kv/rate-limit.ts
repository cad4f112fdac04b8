// Rate limiting per principal with a sliding window, shared by every replica through Redis.
//
// rate-limiter-flexible keeps the counters (atomic INCR + TTL in one Lua call on Redis, or memory
// without Redis, and its insurance limiter takes over in memory while Redis is away). Its own
// windows are fixed, so the sliding window is the weighted two-bucket estimate: with W the window,
// the current bucket floor(now / W) and the one before it,
//   estimate = previous × (1 − elapsed / W) + current
// which follows a true sliding log within a few percent and never lets a burst at a bucket
// boundary through twice (a fixed window's weak spot).
import type { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import { RateLimiterMemory, RateLimiterRedis, type RateLimiterAbstract } from 'rate-limiter-flexible';

export interface RatePolicy {
  /** Requests allowed per window. */
  limit: number;
  /** Window length in seconds. */
  windowS: number;
}

export interface RateDecision {
  allowed: boolean;
  limit: number;
  /** Requests left in the window after this one (0 when refused). */
  remaining: number;
  /** Seconds until the window has room again (for `RateLimit-Reset`). */
  resetS: number;
  /** Seconds to wait before retrying (for `Retry-After`), when refused. */
  retryAfterS: number;
  windowS: number;
  /** The counters were kept in memory because the shared store was away. */
  local: boolean;
}

export interface RateLimiterOptions {
  /** Redis client: counters shared by every replica. Without it, counters live in this process. */
  redis?: Redis;
  /** Prefix for the counter keys (default `rl`). */
  keyPrefix?: string;
  policies: Record<string, RatePolicy>;
  /** Clock, for tests. */
  now?: () => number;
}

interface Backend {
  store: RateLimiterAbstract;
  fallback: RateLimiterMemory;
}

export class SlidingWindowLimiter {
  readonly kind: 'redis' | 'memory';
  private readonly backends = new Map<string, Backend>();
  private readonly now: () => number;
  /**
   * Counts of buckets that have closed: they no longer change, so each replica reads one once and
   * then every request costs a single round trip to Redis (the count of the current bucket).
   */
  private readonly closed = new LRUCache<string, number>({ max: 50_000 });

  constructor(private readonly opts: RateLimiterOptions) {
    this.kind = opts.redis ? 'redis' : 'memory';
    this.now = opts.now ?? Date.now;
    for (const [name, policy] of Object.entries(opts.policies)) {
      // Buckets live two windows: the current one, then as "previous" for the next.
      const common = {
        keyPrefix: `${opts.keyPrefix ?? 'rl'}:${name}`,
        points: Number.MAX_SAFE_INTEGER,
        duration: policy.windowS * 2,
      };
      const fallback = new RateLimiterMemory(common);
      const store = opts.redis
        ? new RateLimiterRedis({
            ...common,
            storeClient: opts.redis,
            rejectIfRedisNotReady: true,
            insuranceLimiter: fallback,
          })
        : fallback;
      this.backends.set(name, { store, fallback });
    }
  }

  policy(name: string): RatePolicy {
    const p = this.opts.policies[name];
    if (!p) throw new TypeError(`no rate limit policy named ${name}`);
    return p;
  }

  /** Counts one request of `principal` under `policyName` and says whether it may proceed. */
  async consume(policyName: string, principal: string, points = 1): Promise<RateDecision> {
    const policy = this.policy(policyName);
    const backend = this.backends.get(policyName)!;
    const windowMs = policy.windowS * 1000;
    const now = this.now();
    const bucket = Math.floor(now / windowMs);
    const elapsed = (now - bucket * windowMs) / windowMs;
    const key = (b: number): string => `${principal}:${b}`;
    // The insurance limiter answers from memory while Redis is away.
    const local = this.opts.redis !== undefined && this.opts.redis.status !== 'ready';
    const closedKey = `${policyName}:${key(bucket - 1)}`;
    const shared = this.kind === 'redis' && !local;
    const known = shared ? this.closed.get(closedKey) : undefined;
    const [previousRes, currentRes] = await Promise.all([
      known !== undefined
        ? undefined
        : backend.store.get(key(bucket - 1)).catch(() => backend.fallback.get(key(bucket - 1))),
      backend.store.consume(key(bucket), points).catch((e: unknown) => {
        if (e instanceof Error) return backend.fallback.consume(key(bucket), points);
        throw e;
      }),
    ]);
    // A request that started before the boundary may still land in the old bucket for a moment;
    // a second in, its count is final.
    const previous = known ?? previousRes?.consumedPoints ?? 0;
    if (known === undefined && shared && elapsed * windowMs > 1000) this.closed.set(closedKey, previous);
    const current = currentRes.consumedPoints;
    const weight = 1 - elapsed;
    const estimate = previous * weight + current;
    if (estimate <= policy.limit) {
      const remaining = Math.max(0, Math.floor(policy.limit - estimate));
      // The current bucket closes then (and the previous one has faded out).
      const resetS = Math.max(1, Math.ceil((1 - elapsed) * policy.windowS));
      return {
        allowed: true,
        limit: policy.limit,
        remaining,
        resetS,
        retryAfterS: 0,
        windowS: policy.windowS,
        local,
      };
    }
    // Refused requests do not count against the principal.
    await backend.store.reward(key(bucket), points).catch(() => backend.fallback.reward(key(bucket), points));
    const retryAfterS = Math.max(
      1,
      Math.ceil(waitMs(previous, current - points, points, elapsed, policy) / 1000),
    );
    return {
      allowed: false,
      limit: policy.limit,
      remaining: 0,
      resetS: retryAfterS,
      retryAfterS,
      windowS: policy.windowS,
      local,
    };
  }
}

/** Milliseconds until `points` more fit: first as the previous bucket fades, else in the next bucket. */
function waitMs(
  previous: number,
  current: number,
  points: number,
  elapsed: number,
  policy: RatePolicy,
): number {
  const { limit, windowS } = policy;
  const windowMs = windowS * 1000;
  const room = limit - current - points;
  if (room >= 0 && previous > 0) {
    // previous × (1 − f) ≤ room  ⇔  f ≥ 1 − room / previous
    const f = 1 - room / previous;
    if (f <= 1) return Math.max(0, (f - elapsed) * windowMs);
  }
  // In the next bucket, today's count becomes the fading one: current × (1 − g) + points ≤ limit.
  const g = current > 0 ? Math.max(0, 1 - (limit - points) / current) : 0;
  return (1 - elapsed) * windowMs + Math.min(1, g) * windowMs;
}
