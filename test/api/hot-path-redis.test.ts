// The cache-hit GET /v1/rules/:cveId the Node adapter answers before Hono (src/api/hot-path.ts),
// with Redis as `wafgen serve` runs in production: the same bytes and headers as the app's own
// answer, the same metrics, one rate-limit count per request whichever path answered, and every
// request it must not answer (no scope, unknown token, unknown rule, odd URL) left to the app.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import type { Store } from '../../src/store/index.js';
import {
  baseEnv,
  call,
  comparableHeaders,
  openTestStore,
  REDIS_URL,
  redisAvailable,
  redisPrefix,
  requestsCounted,
  startApi,
  type TestApi,
  token,
} from '../service/support.js';

const hasRedis = await redisAvailable();

describe.skipIf(!hasRedis)('the hot path (Redis)', () => {
  const keys = redisPrefix();
  let store: Store;
  let api: TestApi;
  const rule = (id: string) => `${api.url}/v1/rules/${id}`;

  beforeAll(async () => {
    ({ store } = await openTestStore());
    // A limit of 1000 lets the limiter decide locally (a batch of 10), as the hot path needs.
    api = await startApi(
      baseEnv({ REDIS_URL, WAFGEN_REDIS_PREFIX: keys.prefix, WAFGEN_RATE_LIMIT: '1000' }),
      { store },
    );
    const auth = await token({ sub: 'hot-setup' });
    const made = await call(`${api.url}/v1/rules/generate`, {
      token: auth,
      body: { cveId: 'CVE-2021-44228' },
    });
    expect(made.status).toBe(200);
  }, 60_000);

  afterAll(async () => {
    vi.restoreAllMocks();
    await api?.close();
    await store?.close();
    await keys.cleanup();
  });

  it('answers a cache hit with the bytes and headers the app answers, counting each request once', async () => {
    const rules = api.runtime.service.rules;
    const peek = vi.spyOn(rules, 'peekNear');
    const viaApp = vi.spyOn(rules, 'latestNear');
    const auth = await token({ sub: 'hot-same' });
    const remaining: number[] = [];
    const hot: Awaited<ReturnType<typeof fetch>>[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await fetch(rule('CVE-2021-44228'), {
        headers: { authorization: `Bearer ${auth}`, 'x-request-id': 'same-id' },
      });
      expect(res.status).toBe(200);
      remaining.push(Number(res.headers.get('ratelimit-remaining')));
      hot.push(res);
    }
    // The first request of a principal asks Redis (through the app); the next ones are local.
    expect(peek).toHaveBeenCalled();
    const appCalls = viaApp.mock.calls.length;
    expect(appCalls).toBeLessThan(4);
    // One count per request, whichever path answered.
    expect(remaining).toEqual([remaining[0]!, remaining[0]! - 1, remaining[0]! - 2, remaining[0]! - 3]);

    const fromApp = await api.runtime.app.request('/v1/rules/CVE-2021-44228', {
      headers: { authorization: `Bearer ${auth}`, 'x-request-id': 'same-id' },
    });
    expect(viaApp.mock.calls.length).toBe(appCalls + 1);
    const last = hot[hot.length - 1]!;
    const hotBytes = Buffer.from(await last.arrayBuffer());
    const appBytes = Buffer.from(await fromApp.arrayBuffer());
    expect(hotBytes.equals(appBytes)).toBe(true);
    expect(JSON.parse(hotBytes.toString())).toMatchObject({ cveId: 'CVE-2021-44228', cache: 'hit' });
    expect(comparableHeaders(last.headers)).toEqual(comparableHeaders(fromApp.headers));
    expect(last.headers.get('content-length')).toBe(String(appBytes.length));
    expect(last.headers.get('x-request-id')).toBe('same-id');
    expect(last.headers.get('ratelimit-policy')).toBe('1000;w=60');
  });

  it('leaves to the app what it must not answer', async () => {
    const noScope = await token({ sub: 'hot-scope', scope: 'rules:deploy' });
    const forbidden = await call<{ error: { code: string } }>(rule('CVE-2021-44228'), { token: noScope });
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.error.code).toBe('forbidden');
    const stranger = await token({ sub: 'hot-stranger' }, { secret: 'another-secret-0123456789abcdef0123' });
    expect((await call(rule('CVE-2021-44228'), { token: stranger })).status).toBe(401);
    expect((await call(rule('CVE-2021-44228'))).status).toBe(401);

    const auth = await token({ sub: 'hot-others' });
    // Warm the principal so that its rate limit is decided locally.
    expect((await call(rule('CVE-2021-44228'), { token: auth })).status).toBe(200);
    const unknown = await call<{ error: { code: string } }>(rule('CVE-2019-0001'), { token: auth });
    expect(unknown.status).toBe(404);
    const bad = await call<{ error: { fields: { path: string }[] } }>(rule('CVE-2021-4'), { token: auth });
    expect(bad.status).toBe(400);
    expect(bad.body.error.fields[0]!.path).toBe('cveId');
    const versioned = await call<{ version: number }>(`${rule('CVE-2021-44228')}?version=1`, { token: auth });
    expect(versioned.status).toBe(200);
    expect(versioned.body.version).toBe(1);
    const lower = await call<{ cveId: string }>(rule('cve-2021-44228'), { token: auth });
    expect(lower.status).toBe(200);
    expect(lower.body.cveId).toBe('CVE-2021-44228');
  });

  it('counts its answers in /metrics like the app', async () => {
    const auth = await token({ sub: 'hot-metrics' });
    const scrape = () => requestsCounted(api.url, 'GET', '/v1/rules/:cveId', 200);
    const before = await scrape();
    for (let i = 0; i < 5; i++)
      expect((await call(rule('CVE-2021-44228'), { token: auth })).status).toBe(200);
    expect((await scrape()) - before).toBe(5);
  });
});
