// The cache against the real Redis and PostgreSQL, with API replicas on loopback sockets: the key
// format and TTL, single flight across replicas, degraded answers when generation fails, and the
// API carrying on from the store while Redis is away.
import { createServer, Socket, type Server } from 'node:net';

import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { BuiltinEngine } from '../../src/generation/builtin/index.js';
import type { Engine, Feedback, GenerationInput, Proposal } from '../../src/generation/types.js';
import type { Store } from '../../src/store/index.js';
import {
  baseEnv,
  call,
  createTestDatabase,
  openPostgresStore,
  postgresAdminUrl,
  REDIS_URL,
  redisAvailable,
  redisPrefix,
  sleep,
  startApi,
  token,
  waitFor,
  type TestApi,
  type TestDatabase,
} from './support.js';

class CountingEngine implements Engine {
  readonly name = 'builtin';
  runs = 0;
  private readonly inner = new BuiltinEngine();
  constructor(private readonly delayMs: number) {}
  async propose(input: GenerationInput, feedback?: Feedback): Promise<Proposal> {
    if (!feedback) this.runs++;
    await sleep(this.delayMs);
    return this.inner.propose(input, feedback);
  }
}

class FailingEngine implements Engine {
  readonly name = 'builtin';
  async propose(): Promise<Proposal> {
    throw new Error('model endpoint unavailable (503)');
  }
}

/** A TCP proxy in front of Redis that the test can take down and bring back, as an outage would. */
class RedisProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  port = 0;

  async start(port = 0): Promise<void> {
    const target = new URL(REDIS_URL);
    this.server = createServer((client) => {
      const upstream = new Socket();
      upstream.connect(Number(target.port || 6379), target.hostname);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => s.destroy());
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((r) => this.server!.listen(port, '127.0.0.1', r));
    this.port = (this.server.address() as { port: number }).port;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((r) => this.server?.close(r));
  }
}

const hasRedis = await redisAvailable();
const adminUrl = hasRedis ? await postgresAdminUrl() : undefined;

describe.skipIf(!hasRedis || !adminUrl)(
  'cache, single flight and degradation on Redis and PostgreSQL',
  () => {
    const keys = redisPrefix();
    let db: TestDatabase;
    let store: Store;
    let redis: Redis;
    const apis: TestApi[] = [];
    const engine = new CountingEngine(400);
    let a: TestApi;
    let b: TestApi;
    let auth: string;
    const env = () =>
      baseEnv({
        REDIS_URL,
        WAFGEN_REDIS_PREFIX: keys.prefix,
        DATABASE_URL: undefined,
        WAFGEN_RATE_LIMIT: '100000',
        WAFGEN_RATE_LIMIT_GENERATE: '100000',
        // Every read goes to Redis: the test deletes keys behind the replicas' backs.
        WAFGEN_CACHE_L1_MS: '0',
      });

    beforeAll(async () => {
      db = await createTestDatabase(adminUrl!);
      store = await openPostgresStore(db.url);
      redis = new Redis(REDIS_URL);
      // Two replicas of the API sharing Redis and PostgreSQL.
      a = await startApi(env(), { store, engine, engineVersion: 'builtin@test' });
      b = await startApi(env(), { store, engine, engineVersion: 'builtin@test' });
      apis.push(a, b);
      auth = await token({ scope: 'rules:read rules:generate' });
    }, 60_000);

    afterAll(async () => {
      for (const api of apis) await api.close().catch(() => {});
      await store?.close();
      redis?.disconnect();
      await keys.cleanup();
      await db?.drop();
    });

    it('runs one generation for a burst of identical requests across replicas', async () => {
      const burst = Array.from({ length: 20 }, (_, i) =>
        call<{ version: number; cache: string; passed: boolean }>(
          `${(i % 2 ? a : b).url}/v1/rules/generate`,
          {
            token: auth,
            body: { cveId: 'CVE-2021-44228' },
          },
        ),
      );
      const results = await Promise.all(burst);
      expect(results.map((r) => r.status)).toEqual(Array(20).fill(200));
      expect(new Set(results.map((r) => r.body.version))).toEqual(new Set([1]));
      expect(engine.runs).toBe(1);
      expect(await store.rules.versions('CVE-2021-44228')).toHaveLength(1);
    });

    it('keeps the rule in Redis under waf-rule:<CVE>:<engine version> for 24 hours', async () => {
      const key = `${keys.prefix}waf-rule:CVE-2021-44228:builtin@test`;
      const cached = JSON.parse((await redis.get(key))!) as {
        cveId: string;
        version: number;
        engine: string;
      };
      expect(cached).toMatchObject({ cveId: 'CVE-2021-44228', version: 1, engine: 'builtin@test' });
      const ttl = await redis.pttl(key);
      expect(ttl).toBeGreaterThan(23.9 * 3600_000);
      expect(ttl).toBeLessThanOrEqual(24 * 3600_000);
      const hit = await call(`${b.url}/v1/rules/CVE-2021-44228`, { token: auth });
      expect(hit.body).toMatchObject({ cache: 'hit', version: 1 });
      expect(engine.runs).toBe(1);
    });

    it('answers with the last good rule, degraded, when generation fails', async () => {
      const failing = await startApi(env(), {
        store,
        engine: new FailingEngine(),
        engineVersion: 'builtin@test',
      });
      apis.push(failing);
      const fromCache = await call<{ degraded: boolean; reason: string; version: number }>(
        `${failing.url}/v1/rules/generate`,
        { token: auth, body: { cveId: 'CVE-2021-44228', options: { force: true } } },
      );
      expect(fromCache.status).toBe(200);
      expect(fromCache.body).toMatchObject({ degraded: true, version: 1 });
      // Why it failed is in the log, not in the answer (a driver's or provider's text can hold
      // internal addresses).
      expect(fromCache.body.reason).toBe('generation failed (the server log has the cause)');
      expect(fromCache.body.reason).not.toContain('model endpoint unavailable');
      // Without the cache entry, the store's latest good version answers.
      await redis.del(`${keys.prefix}waf-rule:CVE-2021-44228:builtin@test`);
      const fromStore = await call<{ degraded: boolean; version: number }>(
        `${failing.url}/v1/rules/generate`,
        {
          token: auth,
          body: { cveId: 'CVE-2021-44228' },
        },
      );
      expect(fromStore.body).toMatchObject({ degraded: true, version: 1 });
      // Nothing to fall back on: 503 with a stable code.
      const none = await call<{ error: { code: string } }>(`${failing.url}/v1/rules/generate`, {
        token: auth,
        body: { cveId: 'CVE-2022-22965' },
      });
      expect(none.status).toBe(503);
      expect(none.body.error.code).toBe('generation_failed');
      const metrics = await (await fetch(`${failing.url}/metrics`)).text();
      expect(metrics).toMatch(/wafgen_degraded_responses_total\{source="cache"\} 1/);
      expect(metrics).toMatch(/wafgen_degraded_responses_total\{source="store"\} 1/);
    });

    it('keeps serving from the store while Redis is away, says so in /readyz, and recovers', async () => {
      const proxy = new RedisProxy();
      await proxy.start();
      const viaProxy = await startApi(
        baseEnv({
          REDIS_URL: `redis://127.0.0.1:${proxy.port}`,
          WAFGEN_REDIS_PREFIX: keys.prefix,
          WAFGEN_CACHE_L1_MS: '0',
        }),
        { store, engine: new CountingEngine(0), engineVersion: 'builtin@test' },
      );
      apis.push(viaProxy);
      expect((await call<{ status: string }>(`${viaProxy.url}/readyz`)).body.status).toBe('ok');
      const warm = await call(`${viaProxy.url}/v1/rules/generate`, {
        token: auth,
        body: { cveId: 'CVE-2017-5638' },
      });
      expect(warm.status).toBe(200);

      await proxy.stop();
      const ready = await waitFor('readyz to report Redis down', async () => {
        const r = await call<{ status: string; checks: Record<string, { status: string }> }>(
          `${viaProxy.url}/readyz`,
        );
        return r.body.status === 'degraded' ? r : undefined;
      });
      expect(ready.status).toBe(200);
      expect(ready.body.checks.redis?.status).toBe('down');
      expect(ready.body.checks.store?.status).toBe('ok');
      const read = await call<{ version: number; cache: string }>(`${viaProxy.url}/v1/rules/CVE-2017-5638`, {
        token: auth,
      });
      expect(read.status).toBe(200);
      expect(read.body).toMatchObject({ version: 1, cache: 'miss' });
      // Generation still works (single flight within the process), rate limits fall back to memory.
      const gen = await call(`${viaProxy.url}/v1/rules/generate`, {
        token: auth,
        body: { cveId: 'CVE-2021-41773' },
      });
      expect(gen.status).toBe(200);
      // The queue needs Redis: a clear 503, not a hang.
      const job = await call<{ error: { code: string } }>(`${viaProxy.url}/v1/jobs`, {
        token: auth,
        body: { cveId: 'CVE-2023-22515' },
      });
      expect(job.status).toBe(503);
      expect(job.body.error.code).toBe('queue_unavailable');

      await proxy.start(proxy.port);
      await waitFor(
        'readyz to recover',
        async () => (await call<{ status: string }>(`${viaProxy.url}/readyz`)).body.status === 'ok',
        15_000,
        250,
      );
      const again = await call(`${viaProxy.url}/v1/rules/CVE-2021-41773`, { token: auth });
      expect(again.status).toBe(200);
      await viaProxy.close();
      await proxy.stop();
    });
  },
);
