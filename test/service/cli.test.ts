// `wafgen serve` and `wafgen worker` as commands: bad configuration is exit 2 with one line, and a
// served API answers on the port it printed.
import { describe, expect, it } from 'vitest';

import { baseEnv, call, spawnWafgen } from './support.js';

describe('wafgen serve and worker', () => {
  it('refuses to serve without authentication configured', async () => {
    const p = spawnWafgen(
      ['serve', '--port', '0'],
      baseEnv({ WAFGEN_JWT_SECRET: undefined, WAFGEN_JWT_ISSUER: undefined, WAFGEN_JWT_AUDIENCE: undefined }),
    );
    expect(await p.exited).toBe(2);
    expect(p.output()).toMatch(/^wafgen: invalid configuration: no authentication configured/m);
    expect(p.output()).not.toMatch(/\n\s+at /);
  });

  it('names a bad variable and a bad option', async () => {
    const bad = spawnWafgen(['serve'], baseEnv({ WAFGEN_RATE_LIMIT: 'lots' }));
    expect(await bad.exited).toBe(2);
    expect(bad.output()).toContain('WAFGEN_RATE_LIMIT');
    const port = spawnWafgen(['serve', '--port', 'eighty'], baseEnv());
    expect(await port.exited).toBe(2);
    expect(port.output()).toContain('--port must be a whole number');
  });

  it('needs Redis for a worker', async () => {
    const p = spawnWafgen(['worker'], baseEnv({ REDIS_URL: undefined }));
    expect(await p.exited).toBe(2);
    expect(p.output()).toContain('wafgen worker needs REDIS_URL');
  });

  it('serves on the port it prints (metrics on their own), runs jobs in-process without Redis, and stops on SIGTERM', async () => {
    const p = spawnWafgen(
      ['serve', '--port', '0', '--host', '127.0.0.1'],
      baseEnv({ WAFGEN_AUTH_DISABLED: '1', WAFGEN_METRICS_PORT: '0' }),
    );
    const [, url] = await p.waitFor(
      /listening on (http:\/\/127\.0\.0\.1:\d+) \(store pglite, cache memory, queue memory/,
      45_000,
    );
    const ready = await call<{ status: string }>(`${url}/readyz`);
    expect(ready.body.status).toBe('ok');
    // WAFGEN_METRICS_PORT: the scrape is on the listener the line names, not on the API's.
    const metricsUrl = /; metrics at (http:\/\/127\.0\.0\.1:\d+)\/metrics/.exec(p.output())?.[1];
    expect(metricsUrl).toBeDefined();
    expect(metricsUrl).not.toBe(url);
    const scrape = await fetch(`${metricsUrl}/metrics`);
    expect(scrape.status).toBe(200);
    expect(await scrape.text()).toContain('wafgen_');
    expect((await fetch(`${url}/metrics`)).status).toBe(404);
    const job = await call<{ jobs: { jobId: string }[] }>(`${url}/v1/jobs`, {
      body: { cveId: 'CVE-2021-44228' },
    });
    expect(job.status).toBe(202);
    p.kill('SIGTERM');
    expect(await p.exited).toBe(0);
    expect(p.output()).toContain('wafgen API stopped');
  }, 60_000);
});
