// The sliding-window rate limiter: in memory with a controlled clock, shared by two "replicas"
// through the real Redis, falling back to memory when Redis is away, and as the API answers it.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { SlidingWindowLimiter } from '../../src/kv/index.js';
import type { Store } from '../../src/store/index.js';
import {
  baseEnv,
  call,
  openTestStore,
  REDIS_URL,
  redisAvailable,
  redisPrefix,
  startApi,
  token,
  type TestApi,
} from '../service/support.js';

describe('sliding window (memory)', () => {
  const clock = { t: 1_000_000 * 10_000 };
  const limiter = () =>
    new SlidingWindowLimiter({ policies: { p: { limit: 10, windowS: 10 } }, now: () => clock.t });

  it('allows the limit, then refuses with a Retry-After that is enough', async () => {
    const l = limiter();
    clock.t = 1_000_000 * 10_000;
    for (let i = 0; i < 10; i++) expect((await l.consume('p', 'alice')).allowed).toBe(true);
    const refused = await l.consume('p', 'alice');
    expect(refused).toMatchObject({ allowed: false, remaining: 0, limit: 10 });
    expect(refused.retryAfterS).toBeGreaterThanOrEqual(1);
    // Someone else is not affected.
    expect((await l.consume('p', 'bob')).allowed).toBe(true);
    clock.t += refused.retryAfterS * 1000;
    expect((await l.consume('p', 'alice')).allowed).toBe(true);
  });

  it('does not let a burst through twice at a window boundary (a fixed window would)', async () => {
    const l = limiter();
    clock.t = 2_000_000 * 10_000 + 9_900; // 0.1 s before the next bucket
    for (let i = 0; i < 10; i++) expect((await l.consume('p', 'carol')).allowed).toBe(true);
    clock.t += 200; // just past the boundary
    const next = await l.consume('p', 'carol');
    expect(next.allowed).toBe(false);
    // Room comes back gradually as the previous bucket fades: after half a window, about half.
    clock.t += 5_000;
    let allowed = 0;
    for (let i = 0; i < 10; i++) if ((await l.consume('p', 'carol')).allowed) allowed++;
    expect(allowed).toBeGreaterThanOrEqual(4);
    expect(allowed).toBeLessThanOrEqual(6);
  });

  it('reports remaining requests and the reset', async () => {
    const l = limiter();
    clock.t = 3_000_000 * 10_000;
    const d = await l.consume('p', 'dave');
    expect(d).toMatchObject({ allowed: true, remaining: 9, windowS: 10, local: false });
    expect(d.resetS).toBeGreaterThan(0);
    expect(d.resetS).toBeLessThanOrEqual(10);
  });
});

const hasRedis = await redisAvailable();

describe.skipIf(!hasRedis)('sliding window through Redis', () => {
  const keys = redisPrefix();
  const clients: Redis[] = [];
  const client = (url = REDIS_URL) => {
    const c = new Redis(url, {
      keyPrefix: keys.prefix,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      lazyConnect: true,
      retryStrategy: () => null,
    });
    c.on('error', () => {});
    clients.push(c);
    return c;
  };

  afterAll(async () => {
    for (const c of clients) c.disconnect();
    await keys.cleanup();
  });

  it('is shared by every replica', async () => {
    const a = client();
    const b = client();
    await Promise.all([a.connect(), b.connect()]);
    const policies = { p: { limit: 10, windowS: 60 } };
    const replicaA = new SlidingWindowLimiter({ redis: a, policies });
    const replicaB = new SlidingWindowLimiter({ redis: b, policies });
    for (let i = 0; i < 5; i++) expect((await replicaA.consume('p', 'erin')).allowed).toBe(true);
    for (let i = 0; i < 5; i++) expect((await replicaB.consume('p', 'erin')).allowed).toBe(true);
    const refusedA = await replicaA.consume('p', 'erin');
    const refusedB = await replicaB.consume('p', 'erin');
    expect(refusedA.allowed).toBe(false);
    expect(refusedB.allowed).toBe(false);
    expect(refusedA.local).toBe(false);
    // The counters live in Redis under the prefix.
    const found = await a.keys('*');
    expect(found.some((k) => k.startsWith(`${keys.prefix}rl:p:erin:`))).toBe(true);
  });

  // Batching: a limit of 1000 gives a batch B of 10 (1%). The clock stands half-way through a
  // window, so the buckets do not turn during a test.
  const batched = { p: { limit: 1000, windowS: 60 } };
  const midWindow = () => Math.floor(Date.now() / 60_000) * 60_000 + 30_000;

  it('batches far from the limit: two replicas admit at most limit + (replicas - 1) x B', async () => {
    const a = client();
    const b = client();
    await Promise.all([a.connect(), b.connect()]);
    const t = midWindow();
    const replicaA = new SlidingWindowLimiter({ redis: a, policies: batched, now: () => t });
    const replicaB = new SlidingWindowLimiter({ redis: b, policies: batched, now: () => t });
    let admitted = 0;
    for (let i = 0; i < 600; i++) {
      if ((await replicaA.consume('p', 'gina')).allowed) admitted++;
      if ((await replicaB.consume('p', 'gina')).allowed) admitted++;
    }
    expect(admitted).toBeLessThanOrEqual(1000 + 10);
    expect(admitted).toBeGreaterThanOrEqual(1000 - 10);
    // Once over, both keep refusing, with a Retry-After.
    const refused = await replicaA.consume('p', 'gina');
    expect(refused).toMatchObject({ allowed: false, remaining: 0 });
    expect(refused.retryAfterS).toBeGreaterThanOrEqual(1);
    expect((await replicaB.consume('p', 'gina')).allowed).toBe(false);
    await Promise.all([replicaA.close(), replicaB.close()]);
    // Redis counts admitted requests only (refusals are taken back).
    const bucket = Math.floor(t / 60_000);
    expect(Number(await a.get(`rl:p:gina:${bucket}`))).toBe(admitted);
  });

  it('sends what it admitted locally on close, so a restarted replica carries on from the count', async () => {
    const a = client();
    await a.connect();
    const t = midWindow();
    const first = new SlidingWindowLimiter({ redis: a, policies: batched, now: () => t });
    for (let i = 0; i < 990; i++) expect((await first.consume('p', 'hank')).allowed).toBe(true);
    await first.close();
    const bucket = Math.floor(t / 60_000);
    expect(Number(await a.get(`rl:p:hank:${bucket}`))).toBe(990);
    // The next process: within B of the limit every request is counted in Redis first.
    const restarted = new SlidingWindowLimiter({ redis: a, policies: batched, now: () => t });
    let admitted = 0;
    for (let i = 0; i < 20; i++) if ((await restarted.consume('p', 'hank')).allowed) admitted++;
    expect(admitted).toBe(10);
    await restarted.close();
  });

  it('sends local admissions within its sync interval, without close', async () => {
    const a = client();
    await a.connect();
    const t = midWindow();
    const l = new SlidingWindowLimiter({ redis: a, policies: batched, now: () => t, syncMs: 20 });
    for (let i = 0; i < 3; i++) expect((await l.consume('p', 'iris')).allowed).toBe(true);
    const bucket = Math.floor(t / 60_000);
    await expect.poll(async () => Number(await a.get(`rl:p:iris:${bucket}`)), { timeout: 5000 }).toBe(3);
    await l.close();
  });

  it('says when it can decide here: with Redis ready and a policy large enough to batch', async () => {
    const a = client();
    const policies = { ...batched, small: { limit: 50, windowS: 60 } };
    const l = new SlidingWindowLimiter({ redis: a, policies });
    expect(l.decidesLocally('p')).toBe(false); // not connected yet
    await a.connect();
    expect(l.decidesLocally('p')).toBe(true);
    expect(l.decidesLocally('small')).toBe(false); // a batch of 0.5 is no batch
    expect(l.decidesLocally('unknown')).toBe(false);
    expect(new SlidingWindowLimiter({ policies }).decidesLocally('p')).toBe(false); // memory only
    const dead = client('redis://127.0.0.1:1');
    await dead.connect().catch(() => {});
    expect(new SlidingWindowLimiter({ redis: dead, policies }).decidesLocally('p')).toBe(false);
  });

  it('keeps limiting in memory while Redis is away', async () => {
    const dead = client('redis://127.0.0.1:1');
    const l = new SlidingWindowLimiter({ redis: dead, policies: { p: { limit: 2, windowS: 60 } } });
    const first = await l.consume('p', 'frank');
    expect(first).toMatchObject({ allowed: true, local: true });
    expect((await l.consume('p', 'frank')).allowed).toBe(true);
    expect((await l.consume('p', 'frank')).allowed).toBe(false);
  });
});

describe('429 over HTTP', () => {
  let store: Store;
  let api: TestApi;

  beforeAll(async () => {
    ({ store } = await openTestStore());
    api = await startApi(baseEnv({ WAFGEN_RATE_LIMIT: '3', WAFGEN_RATE_LIMIT_GENERATE: '1' }), {
      store,
      inProcessWorker: false,
    });
  }, 60_000);

  afterAll(async () => {
    await api?.close();
    await store?.close();
  });

  it('answers 429 with Retry-After and RateLimit headers, per principal', async () => {
    const t = await token({ sub: 'grace' });
    const url = `${api.url}/v1/rules/CVE-2021-44228/versions`;
    const first = await call(url, { token: t });
    expect(first.headers.get('ratelimit-limit')).toBe('3');
    expect(first.headers.get('ratelimit-remaining')).toBe('2');
    expect(first.headers.get('ratelimit-policy')).toBe('3;w=60');
    await call(url, { token: t });
    await call(url, { token: t });
    const limited = await call<{ error: { code: string } }>(url, { token: t });
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe('rate_limited');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(limited.headers.get('ratelimit-remaining')).toBe('0');
    // Another principal has its own window.
    expect((await call(url, { token: await token({ sub: 'heidi' }) })).status).toBe(404);
  });

  it('has a tighter policy for generation', async () => {
    const t = await token({ sub: 'ivan' });
    const body = { cveId: 'CVE-2021-44228' };
    expect((await call(`${api.url}/v1/rules/generate`, { token: t, body })).status).toBe(200);
    const limited = await call(`${api.url}/v1/rules/generate`, { token: t, body });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('ratelimit-policy')).toBe('1;w=60');
  });
});
