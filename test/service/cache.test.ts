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

  describe('reading a hot key again before it expires', () => {
    /**
     * A store whose reads see what it holds when they are sent and answer when the test says so, on
     * a clock the test moves.
     */
    function setup() {
      const clock = { t: 1000 }; // not 0: lru-cache reads a start of 0 as none
      const kv = new MemoryKeyValueStore();
      const reads: Array<{ key: string; answer: () => Promise<void>; fail: () => void }> = [];
      const inner = kv.get.bind(kv);
      kv.get = (key) => {
        const seen = inner(key);
        return new Promise<string | undefined>((resolve, reject) => {
          reads.push({
            key,
            answer: async () => {
              resolve(await seen);
              await settle();
            },
            fail: () => reject(new Error('store away')),
          });
        });
      };
      const cache = new JsonCache<{ v: number }>(kv, 60_000, { l1Ms: 100, now: () => clock.t });
      return { clock, kv, reads, cache, other: (v: number) => kv.set('k', JSON.stringify({ v }), 60_000) };
    }
    const settle = () => new Promise((r) => setImmediate(r));

    it('starts one read past half of l1Ms, keeps answering meanwhile, and counts the new time from the read', async () => {
      const { clock, reads, cache, other } = setup();
      await cache.set('k', { v: 1 });
      clock.t = 1050;
      expect(cache.peek('k')).toEqual({ v: 1 });
      expect(reads).toHaveLength(0); // not past half yet
      await other(2); // another replica writes
      clock.t = 1060;
      expect(cache.peek('k')).toEqual({ v: 1 });
      expect(cache.peek('k')).toEqual({ v: 1 });
      expect(await cache.get('k')).toEqual({ v: 1 });
      expect(reads).toHaveLength(1); // one read at a time, however many readers
      clock.t = 1080; // the store answers 20 ms after the read was sent
      await reads[0]!.answer();
      expect(cache.peek('k')).toEqual({ v: 2 });
      clock.t = 1159; // 99 ms after the read was sent: still served, and read again
      expect(cache.peek('k')).toEqual({ v: 2 });
      expect(reads).toHaveLength(2);
      clock.t = 1161; // the second read has not answered: the value is past l1Ms and no longer served
      expect(cache.peek('k')).toBeUndefined();
    });

    it('keeps an unchanged value for another l1Ms counted from the read', async () => {
      const { clock, reads, cache } = setup();
      await cache.set('k', { v: 1 });
      const first = cache.peek('k');
      clock.t = 1060;
      expect(cache.peek('k')).toBe(first);
      clock.t = 1070; // the store answers the same text 10 ms after the read was sent
      await reads[0]!.answer();
      clock.t = 1150; // past the first 100 ms: still served, the same parsed object
      expect(cache.peek('k')).toBe(first);
      expect(reads).toHaveLength(2); // and read again, being past half its new time
      clock.t = 1161; // 100 ms after the first read was sent; the second has not answered
      expect(cache.peek('k')).toBeUndefined();
    });

    it('does not bring back a value a write or delete of this process replaced meanwhile', async () => {
      const { clock, reads, cache, other } = setup();
      await cache.set('k', { v: 1 });
      await other(2);
      clock.t = 1060;
      cache.peek('k');
      await cache.set('k', { v: 3 });
      await reads[0]!.answer(); // the read saw 2, sent before this process wrote 3
      expect(cache.peek('k')).toEqual({ v: 3 });
      clock.t = 1120;
      cache.peek('k');
      expect(reads).toHaveLength(2);
      await cache.delete('k');
      await reads[1]!.answer(); // it saw 3, sent before the delete
      expect(cache.peek('k')).toBeUndefined();
    });

    it('drops a key the store no longer has, and leaves the entry to expire when the store fails', async () => {
      const { clock, kv, reads, cache } = setup();
      await cache.set('k', { v: 1 });
      await kv.delete('k'); // another replica deletes
      clock.t = 1060;
      cache.peek('k');
      await reads[0]!.answer();
      expect(cache.peek('k')).toBeUndefined();

      await cache.set('k', { v: 5 }); // at t = 1060: in the layer until 1160
      clock.t = 1120;
      cache.peek('k');
      reads[1]!.fail();
      await settle();
      expect(cache.peek('k')).toEqual({ v: 5 });
      expect(reads).toHaveLength(3); // a failed read is tried again by the next reader
      clock.t = 1161;
      expect(cache.peek('k')).toBeUndefined();
    });
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
