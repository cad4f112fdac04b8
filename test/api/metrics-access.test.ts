// Who may read /metrics and what /readyz tells: WAFGEN_METRICS_TOKEN puts the scrape behind a bearer
// token, WAFGEN_METRICS_PORT moves it to a listener of its own (the API answers 404 for it), and a
// readiness check that fails is named in generic words while the detail goes to the log.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { loadServiceConfig } from '../../src/app/index.js';
import type { Store } from '../../src/store/index.js';
import { baseEnv, call, openTestStore, startApi, type TestApi } from '../service/support.js';

const METRICS_TOKEN = 'metrics-token-0123456789abcdef';
let store: Store;
const apis: TestApi[] = [];

beforeAll(async () => {
  ({ store } = await openTestStore());
}, 60_000);

afterAll(async () => {
  for (const api of apis) await api.close();
  await store?.close();
});

async function start(extra: Record<string, string>): Promise<TestApi> {
  const api = await startApi(baseEnv(extra), { store });
  apis.push(api);
  return api;
}

describe('/metrics', () => {
  it('asks for the bearer token when WAFGEN_METRICS_TOKEN is set', async () => {
    const api = await start({ WAFGEN_METRICS_TOKEN: METRICS_TOKEN });
    const none = await call<{ error: { code: string } }>(`${api.url}/metrics`);
    expect(none.status).toBe(401);
    expect(none.body.error.code).toBe('unauthorized');
    const wrong = await call<{ error: { code: string } }>(`${api.url}/metrics`, {
      headers: { authorization: `Bearer ${METRICS_TOKEN}x` },
    });
    expect(wrong.status).toBe(401);
    const right = await fetch(`${api.url}/metrics`, {
      headers: { authorization: `Bearer ${METRICS_TOKEN}` },
    });
    expect(right.status).toBe(200);
    expect(await right.text()).toContain('wafgen_http_requests_total');
  });

  it('serves the scrape on its own port when WAFGEN_METRICS_PORT is set, and not on the API', async () => {
    const api = await start({ WAFGEN_METRICS_PORT: '0', WAFGEN_METRICS_TOKEN: METRICS_TOKEN });
    expect(api.server.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(api.server.metricsUrl).not.toBe(api.url);
    const onApi = await call<{ error: { code: string } }>(`${api.url}/metrics`, {
      headers: { authorization: `Bearer ${METRICS_TOKEN}` },
    });
    expect(onApi.status).toBe(404);
    expect(onApi.body.error.code).toBe('not_found');
    expect((await fetch(`${api.server.metricsUrl}/metrics`)).status).toBe(401);
    const scrape = await fetch(`${api.server.metricsUrl}/metrics`, {
      headers: { authorization: `Bearer ${METRICS_TOKEN}` },
    });
    expect(scrape.status).toBe(200);
    expect(await scrape.text()).toContain('wafgen_');
    // Only /metrics lives there.
    expect((await fetch(`${api.server.metricsUrl}/v1/rules/CVE-2021-44228`)).status).toBe(404);
  });

  it('refuses a token too short to be a secret', () => {
    expect(() => loadServiceConfig({ WAFGEN_METRICS_TOKEN: 'short' })).toThrow(/WAFGEN_METRICS_TOKEN/);
  });
});

describe('/readyz', () => {
  it('names a dependency that is down in generic words, never its error text', async () => {
    const api = await start({});
    const { service } = api.runtime;
    const health = service.health.bind(service);
    service.health = async () => {
      const h = await health();
      return {
        status: 'down',
        checks: {
          ...h.checks,
          store: {
            status: 'down',
            backend: 'postgres',
            error: 'connect ECONNREFUSED 10.1.2.3:5432 password=hunter2',
          },
        },
      };
    };
    try {
      const r = await fetch(`${api.url}/readyz`);
      expect(r.status).toBe(503);
      expect(r.headers.get('retry-after')).toBe('5');
      const text = await r.text();
      expect(JSON.parse(text)).toMatchObject({
        status: 'down',
        checks: { store: { status: 'down', error: 'store unavailable' } },
      });
      expect(text).not.toMatch(/ECONNREFUSED|10\.1\.2\.3|hunter2/);
    } finally {
      service.health = health;
    }
  });
});
