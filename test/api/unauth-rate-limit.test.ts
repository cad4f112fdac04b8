// Failed authentication is rate limited per client IP (policy `unauth`, WAFGEN_RATE_LIMIT_UNAUTH),
// apart from the per-key budgets: missing or wrong credentials and unsigned or badly signed webhook
// calls count, and once an IP's budget is spent its failures are answered 429 with Retry-After.
// Run with the embedded backends and with the real Redis.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadServiceConfig } from '../../src/app/index.js';
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

type Err = { error: { code: string; message: string } };

let store: Store;
beforeAll(async () => {
  ({ store } = await openTestStore());
}, 60_000);
afterAll(async () => {
  await store?.close();
});

it('reads WAFGEN_RATE_LIMIT_UNAUTH and WAFGEN_TRUST_PROXY', () => {
  const c = loadServiceConfig({ WAFGEN_RATE_LIMIT_UNAUTH: '7', WAFGEN_TRUST_PROXY: '1' });
  expect(c.settings.rateLimits.unauth).toEqual({ limit: 7, windowS: 60 });
  expect(c.trustProxy).toBe(true);
  expect(loadServiceConfig({}).settings.rateLimits.unauth).toEqual({ limit: 60, windowS: 60 });
});

type Backend = { env: Record<string, string>; cleanup?: () => Promise<void> };

function suite(name: string, backend: () => Promise<Backend | undefined>) {
  describe(name, () => {
    let api: TestApi | undefined;
    let cleanup: (() => Promise<void>) | undefined;
    beforeAll(async () => {
      const b = await backend();
      if (!b) return;
      cleanup = b.cleanup;
      const extra = b.env;
      api = await startApi(baseEnv({ WAFGEN_RATE_LIMIT_UNAUTH: '3', WAFGEN_TRUST_PROXY: '1', ...extra }), {
        store,
      });
    }, 60_000);
    afterAll(async () => {
      await api?.close();
      await cleanup?.();
    });

    it('answers 429 with Retry-After once an IP has failed authentication too often; other IPs and valid keys are not affected', async (ctx) => {
      if (!api) return ctx.skip();
      const url = `${api.url}/v1/rules/CVE-2021-44228`;
      const from = (ip: string, extra: Record<string, string> = {}) => ({
        headers: { 'x-forwarded-for': `203.0.113.9, ${ip}`, ...extra },
      });
      const statuses: number[] = [];
      // No credentials, a garbage token, a token signed with another secret.
      const bad = await token({}, { secret: 'another-secret-another-secret-0123456789' });
      for (const headers of [
        {},
        { authorization: 'Bearer nope' },
        { authorization: `Bearer ${bad}` },
      ] as Record<string, string>[])
        statuses.push((await call(url, from('198.51.100.1', headers))).status);
      expect(statuses).toEqual([401, 401, 401]);
      const limited = await call<Err>(url, from('198.51.100.1'));
      expect(limited.status).toBe(429);
      expect(limited.body.error.code).toBe('rate_limited');
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      // Unsigned webhook calls from that IP are refused the same way.
      const hook = await call<Err>(`${api.url}/webhook/vulnerability`, {
        ...from('198.51.100.1'),
        body: { findings: [] },
      });
      expect(hook.status).toBe(429);
      // Another IP still gets its 401s; a valid token from the limited IP still works.
      expect((await call(url, from('198.51.100.2'))).status).toBe(401);
      const good = await call(url, { ...from('198.51.100.1', { authorization: `Bearer ${await token()}` }) });
      expect([200, 404]).toContain(good.status);
    });

    it('counts unsigned and badly signed webhook calls', async (ctx) => {
      if (!api) return ctx.skip();
      const hook = (headers: Record<string, string>) =>
        call<Err>(`${api!.url}/webhook/vulnerability`, {
          headers: { 'x-forwarded-for': '198.51.100.7', ...headers },
          body: { findings: [] },
        });
      const ts = String(Math.floor(Date.now() / 1000));
      const statuses = [
        (await hook({})).status,
        (await hook({ 'x-wafgen-timestamp': ts, 'x-wafgen-signature': `sha256=${'0'.repeat(64)}` })).status,
        (await hook({ 'x-hub-signature-256': `sha256=${'a'.repeat(64)}`, 'x-github-delivery': 'd-1' }))
          .status,
      ];
      expect(statuses).toEqual([401, 401, 401]);
      const limited = await hook({});
      expect(limited.status).toBe(429);
      expect(limited.headers.get('retry-after')).toMatch(/^\d+$/);
    });
  });
}

suite('embedded backends', async () => ({ env: {} }));
suite('Redis', async () => {
  if (!(await redisAvailable())) return undefined;
  const { prefix, cleanup } = redisPrefix();
  return { env: { REDIS_URL, WAFGEN_REDIS_PREFIX: prefix }, cleanup };
});
