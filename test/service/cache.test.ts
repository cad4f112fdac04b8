// The cache building blocks: the JSON cache over a key-value store (parse reuse, the short
// in-process layer), single flight, and the Redis key-value store's atomic operations.
import { afterAll, describe, expect, it } from 'vitest';

import {
  connectRedis,
  JsonCache,
  MemoryKeyValueStore,
  RedisKeyValueStore,
  ruleCacheKey,
  SingleFlight,
} from '../../src/kv/index.js';
import { REDIS_URL, redisAvailable, redisPrefix, sleep } from './support.js';

describe('JSON cache', () => {
  it('keys rules by CVE and engine version', () => {
    expect(ruleCacheKey('cve-2021-44228', 'builtin@0.1.0')).toBe('waf-rule:CVE-2021-44228:builtin@0.1.0');
  });

  it('reuses a parsed value while the stored text is unchanged, and sees a change', async () => {
    const kv = new MemoryKeyValueStore();
    const cache = new JsonCache<{ v: number }>(kv, 60_000);
    await kv.set('k', JSON.stringify({ v: 1 }), 60_000);
    const a = await cache.get('k');
    const b = await cache.get('k');
    expect(a).toEqual({ v: 1 });
    expect(b).toBe(a);
    await kv.set('k', JSON.stringify({ v: 2 }), 60_000);
    expect(await cache.get('k')).toEqual({ v: 2 });
    await kv.delete('k');
    expect(await cache.get('k')).toBeUndefined();
  });

  it('serves from the in-process layer for l1Ms, then asks the store again', async () => {
    const kv = new MemoryKeyValueStore();
    const cache = new JsonCache<{ v: number }>(kv, 60_000, { l1Ms: 100 });
    await cache.set('k', { v: 1 });
    expect(await cache.get('k')).toEqual({ v: 1 });
    await kv.set('k', JSON.stringify({ v: 2 }), 60_000); // another replica writes
    expect(await cache.get('k')).toEqual({ v: 1 });
    await sleep(150);
    expect(await cache.get('k')).toEqual({ v: 2 });
  });

  it('discards what the validator refuses and what is not JSON', async () => {
    const kv = new MemoryKeyValueStore();
    const cache = new JsonCache<{ v: number }>(kv, 60_000, {
      accept: (x) => (typeof (x as { v?: unknown }).v === 'number' ? (x as { v: number }) : undefined),
    });
    await kv.set('a', '{"w":1}', 60_000);
    await kv.set('b', '{nope', 60_000);
    expect(await cache.get('a')).toBeUndefined();
    expect(await cache.get('b')).toBeUndefined();
  });
});

describe('single flight in one process', () => {
  it('joins identical calls to the one under way', async () => {
    const flights = new SingleFlight(new MemoryKeyValueStore());
    let runs = 0;
    const work = async () => {
      runs++;
      await sleep(50);
      return runs;
    };
    const opts = { lockTtlMs: 1000, waitMs: 1000, peek: async () => undefined };
    const results = await Promise.all(Array.from({ length: 10 }, () => flights.run('k', work, opts)));
    expect(runs).toBe(1);
    expect(results.filter((r) => r.how === 'ran')).toHaveLength(1);
    expect(results.filter((r) => r.how === 'joined')).toHaveLength(9);
    expect(flights.size).toBe(0);
    // Failures reach every caller, and the next call runs again.
    const failing = () => Promise.reject(new Error('boom'));
    await expect(
      Promise.all([flights.run('f', failing, opts), flights.run('f', failing, opts)]),
    ).rejects.toThrow('boom');
    await flights.run('k', work, opts);
    expect(runs).toBe(2);
  });
});

const hasRedis = await redisAvailable();

describe.skipIf(!hasRedis)('Redis key-value store and cross-replica single flight', () => {
  const keys = redisPrefix();
  const clients: Awaited<ReturnType<typeof connectRedis>>[] = [];

  afterAll(async () => {
    for (const c of clients) c.disconnect();
    await keys.cleanup();
  });

  const kv = async () => {
    const c = await connectRedis(REDIS_URL, { keyPrefix: keys.prefix });
    clients.push(c);
    return new RedisKeyValueStore(c, false);
  };

  it('sets if absent, extends and deletes only for the owner', async () => {
    const a = await kv();
    expect(await a.setIfAbsent('lock', 'me', 1000)).toBe(true);
    expect(await a.setIfAbsent('lock', 'you', 1000)).toBe(false);
    expect(await a.extendIfEquals('lock', 'you', 60_000)).toBe(false);
    expect(await a.extendIfEquals('lock', 'me', 60_000)).toBe(true);
    expect(await a.client.pttl('lock')).toBeGreaterThan(50_000);
    expect(await a.deleteIfEquals('lock', 'you')).toBe(false);
    expect(await a.deleteIfEquals('lock', 'me')).toBe(true);
    expect(await a.get('lock')).toBeUndefined();
  });

  it('makes the other replica wait for the owner, and renews the lock while the work runs', async () => {
    const [kvA, kvB] = [await kv(), await kv()];
    const result = new JsonCache<number>(kvA, 60_000);
    const a = new SingleFlight(kvA);
    const b = new SingleFlight(kvB);
    let runs = 0;
    const work = async () => {
      runs++;
      await sleep(600); // longer than the lock's TTL: only renewal keeps B waiting
      await result.set('value', 42);
      return 42;
    };
    const opts = { lockTtlMs: 300, waitMs: 5000, pollMs: 20, peek: () => result.get('value') };
    const [ra, rb] = await Promise.all([
      a.run('job', work, opts),
      sleep(50).then(() => b.run('job', work, opts)),
    ]);
    expect(runs).toBe(1);
    expect(ra).toEqual({ value: 42, how: 'ran' });
    expect(rb).toEqual({ value: 42, how: 'waited' });
  });
});
