/**
 * @module Rate limiting per principal with a sliding window, shared by every replica through Redis.
 *
 * rate-limiter-flexible keeps the counters (atomic INCRBY + TTL in one Lua call on Redis, or memory
 * without Redis, and its insurance limiter takes over in memory while Redis is away). Its own
 * windows are fixed, so the sliding window is the weighted two-bucket estimate: with W the window,
 * the current bucket floor(now / W) and the one before it,
 *   estimate = previous × (1 − elapsed / W) + current
 * which follows a true sliding log within a few percent and never lets a burst at a bucket
 * boundary through twice (a fixed window's weak spot).
 *
 * Batching (Redis only): a round trip per request cost more CPU than the rest of a cached answer
 * (npm run bench:api --profile: ioredis's pipeline write and the Lua call were ~30% of a cache-hit
 * GET). So each process admits a principal's requests locally while its view of the shared count is
 * far from the limit, and adds them to Redis in one INCRBY at most every `syncMs` (100 ms), or at
 * once when half a batch is waiting. The batch B of a policy is `localFraction` of its limit (1%,
 * at most 1000); a principal's requests go to Redis one by one, as before batching, whenever
 * the local view is within B of the limit, and a policy whose B is under 1 (limits under 100) never
 * batches. Bounds, per principal and window:
 * - over-admission across N replicas: at most (N − 1) × B requests. A replica holds at most B
 *   admissions that Redis has not counted yet (unsent or in flight), and admits locally only while
 *   its own view, its unsent admissions included, is at least B under the limit; the others'
 *   uncounted admissions are all a decision at the limit can miss.
 * - a replica that dies without {@link SlidingWindowLimiter.close} loses at most B uncounted
 *   admissions (the window then counts up to B fewer requests); close() sends them.
 * - a refusal is decided locally only when the counted requests alone are already over the limit
 *   (counts only grow within a bucket), so batching never refuses what the exact check would admit.
 */
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
  /**
   * Share of a policy's limit a replica may admit before Redis has counted it (default 0.01; 0
   * sends every request to Redis). See the module comment for the bounds it sets.
   */
  localFraction?: number;
  /** Most requests admitted locally before Redis counts them, whatever the limit (default 1000). */
  maxBatch?: number;
  /** Milliseconds between sends of the locally admitted counts (default 100). */
  syncMs?: number;
}

interface Backend {
  store: RateLimiterAbstract;
  fallback: RateLimiterMemory;
  policy: RatePolicy;
  /** Requests a replica may admit that Redis has not counted yet (0: every request asks Redis). */
  batch: number;
}

/** One principal's current bucket under one policy, as this replica knows it. */
interface LocalCount {
  backend: Backend;
  /** The counter's key in the store (`<principal>:<bucket>`). */
  key: string;
  bucket: number;
  /** The bucket's count in Redis at its last answer (this replica's sends it has answered included). */
  synced: number;
  /** Admitted here and not sent yet. */
  pending: number;
  /** Sent and not answered yet. */
  sending: number;
  /** The previous bucket's count (0 when unknown or none), and whether it can still change. */
  previous: number;
  previousFinal: boolean;
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
  /** Batching state by `<policy>\n<principal>`; one evicted with unsent counts sends them. */
  private readonly local = new LRUCache<string, LocalCount>({
    max: 50_000,
    dispose: (count) => {
      if (count.pending > 0) void this.send(count);
    },
  });
  /** Counts with requests admitted and not sent yet. */
  private readonly dirty = new Set<LocalCount>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly syncMs: number;

  constructor(private readonly opts: RateLimiterOptions) {
    this.kind = opts.redis ? 'redis' : 'memory';
    this.now = opts.now ?? Date.now;
    this.syncMs = opts.syncMs ?? 100;
    const fraction = opts.localFraction ?? 0.01;
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
      const batch = opts.redis ? Math.min(opts.maxBatch ?? 1000, Math.floor(policy.limit * fraction)) : 0;
      this.backends.set(name, { store, fallback, policy, batch });
    }
  }

  policy(name: string): RatePolicy {
    const p = this.opts.policies[name];
    if (!p) throw new TypeError(`no rate limit policy named ${name}`);
    return p;
  }

  /** Counts one request of `principal` under `policyName` and says whether it may proceed. */
  async consume(policyName: string, principal: string, points = 1): Promise<RateDecision> {
    return this.tryConsume(policyName, principal, points) ?? this.exact(policyName, principal, points);
  }

  /**
   * Whether {@link tryConsume} may decide `policyName` here at all now: never without Redis (each
   * request is counted by the memory store), nor while Redis is away, nor for a policy too small to
   * batch. A hot path asks this before work that only a local decision would pay for.
   */
  decidesLocally(policyName: string): boolean {
    const backend = this.backends.get(policyName);
    return backend !== undefined && this.batchesNow(backend);
  }

  private batchesNow(backend: Backend): boolean {
    return backend.batch >= 1 && this.opts.redis?.status === 'ready';
  }

  /**
   * The decision when this replica can take it without Redis (see the module comment), else
   * undefined: then {@link consume} asks Redis. Synchronous, so a hot path awaits nothing.
   */
  tryConsume(policyName: string, principal: string, points = 1): RateDecision | undefined {
    const backend = this.backends.get(policyName);
    if (!backend) throw new TypeError(`no rate limit policy named ${policyName}`);
    if (!this.batchesNow(backend)) return undefined;
    const { policy } = backend;
    const windowMs = policy.windowS * 1000;
    const now = this.now();
    const bucket = Math.floor(now / windowMs);
    const count = this.local.get(`${policyName}\n${principal}`);
    if (count === undefined || count.bucket !== bucket || !count.previousFinal) return undefined;
    const elapsed = (now - bucket * windowMs) / windowMs;
    const faded = count.previous * (1 - elapsed);
    const counted = faded + count.synced + points;
    if (counted > policy.limit) {
      // Redis alone already holds more than the limit allows (its counts only grow in a bucket).
      const current = count.synced + count.sending + count.pending;
      return refusal(policy, count.previous, current, points, elapsed, false, false);
    }
    const estimate = counted + count.sending + count.pending;
    const uncounted = count.sending + count.pending + points;
    if (estimate > policy.limit - backend.batch || uncounted > backend.batch) return undefined;
    count.pending += points;
    if (count.pending * 2 >= backend.batch) void this.send(count);
    else this.markDirty(count);
    return admission(policy, estimate, elapsed, false);
  }

  /** Sends the counts admitted locally and not sent yet, and stops the timer. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await Promise.all([...this.dirty].map((count) => this.send(count)));
  }

  private markDirty(count: LocalCount): void {
    this.dirty.add(count);
    if (this.timer) return;
    this.timer = setInterval(() => {
      for (const c of this.dirty) void this.send(c);
      if (this.dirty.size === 0) {
        clearInterval(this.timer);
        this.timer = undefined;
      }
    }, this.syncMs);
    this.timer.unref?.();
  }

  /** Adds a count's unsent admissions to Redis; on failure they wait for the next send. */
  private async send(count: LocalCount): Promise<void> {
    this.dirty.delete(count);
    const n = count.pending;
    if (n === 0) return;
    count.pending = 0;
    count.sending += n;
    try {
      const res = await count.backend.store.consume(count.key, n);
      count.synced = Math.max(count.synced, res.consumedPoints);
      count.sending -= n;
    } catch {
      count.sending -= n;
      count.pending += n;
      this.markDirty(count);
    }
  }

  /** Asks the store, with this request and this replica's unsent admissions of the bucket. */
  private async exact(policyName: string, principal: string, points: number): Promise<RateDecision> {
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
    const batching = shared && backend.batch >= 1;
    let count: LocalCount | undefined;
    if (batching) {
      const localKey = `${policyName}\n${principal}`;
      count = this.local.get(localKey);
      if (count === undefined || count.bucket !== bucket) {
        // A bucket of this principal's that closed with unsent admissions: they still count there.
        if (count !== undefined && count.pending > 0) void this.send(count);
        count = {
          backend,
          key: key(bucket),
          bucket,
          synced: 0,
          pending: 0,
          sending: 0,
          previous: 0,
          previousFinal: false,
        };
        this.local.set(localKey, count);
      }
    }
    // This request plus what this replica admitted in the bucket and has not sent: one INCRBY.
    const unsent = count?.pending ?? 0;
    if (count) {
      count.pending = 0;
      count.sending += unsent;
    }
    const known = shared ? this.closed.get(closedKey) : undefined;
    let previousRes: Awaited<ReturnType<RateLimiterAbstract['get']>> | undefined;
    let currentRes: Awaited<ReturnType<RateLimiterAbstract['consume']>>;
    try {
      [previousRes, currentRes] = await Promise.all([
        known !== undefined
          ? undefined
          : backend.store.get(key(bucket - 1)).catch(() => backend.fallback.get(key(bucket - 1))),
        backend.store.consume(key(bucket), points + unsent).catch((e: unknown) => {
          if (e instanceof Error) return backend.fallback.consume(key(bucket), points + unsent);
          throw e;
        }),
      ]);
    } finally {
      if (count) count.sending -= unsent;
    }
    // A request that started before the boundary may still land in the old bucket for a moment;
    // a second in, its count is final.
    const previous = known ?? previousRes?.consumedPoints ?? 0;
    const final = elapsed * windowMs > 1000;
    if (known === undefined && shared && final) this.closed.set(closedKey, previous);
    const current = currentRes.consumedPoints;
    if (count && count.bucket === bucket) {
      count.synced = Math.max(count.synced, current);
      count.previous = Math.max(count.previous, previous);
      count.previousFinal ||= known !== undefined || final;
    }
    const estimate = previous * (1 - elapsed) + current + (count ? count.sending + count.pending : 0);
    if (estimate <= policy.limit) return admission(policy, estimate, elapsed, local);
    // Refused requests do not count against the principal.
    await backend.store.reward(key(bucket), points).catch(() => backend.fallback.reward(key(bucket), points));
    if (count) count.synced -= points;
    return refusal(policy, previous, current, points, elapsed, local);
  }
}

function admission(policy: RatePolicy, estimate: number, elapsed: number, local: boolean): RateDecision {
  // The current bucket closes then (and the previous one has faded out).
  return {
    allowed: true,
    limit: policy.limit,
    remaining: Math.max(0, Math.floor(policy.limit - estimate)),
    resetS: Math.max(1, Math.ceil((1 - elapsed) * policy.windowS)),
    retryAfterS: 0,
    windowS: policy.windowS,
    local,
  };
}

/** `current` holds this request's `points` when Redis counted them (they are taken back). */
function refusal(
  policy: RatePolicy,
  previous: number,
  current: number,
  points: number,
  elapsed: number,
  local: boolean,
  counted = true,
): RateDecision {
  const retryAfterS = Math.max(
    1,
    Math.ceil(waitMs(previous, counted ? current - points : current, points, elapsed, policy) / 1000),
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
