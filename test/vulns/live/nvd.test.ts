// The NVD API 2.0 client against a local server: found, unknown, retries (429 with Retry-After, 503,
// NVD's 403 throttling, network errors), the timeout, the size cap and the rate limiter.
import { afterEach, describe, expect, it, vi } from 'vitest';

import { HttpError } from '../../../src/vulns/live/http.js';
import {
  NVD_LIMIT_PUBLIC,
  NVD_WINDOW_MARGIN_MS,
  NVD_WINDOW_MS,
  NvdClient,
  nvdLimiter,
} from '../../../src/vulns/live/nvd.js';
import { SlidingWindowLimiter } from '../../../src/vulns/live/rate-limit.js';
import {
  type TestServer,
  FakeClock,
  flush,
  InstantClock,
  NVD_EMPTY,
  NVD_LOG4J,
  routes,
  sendJson,
  serve,
} from './helpers.js';

const API = '/rest/json/cves/2.0';
let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** A client on an instant clock (retries do not wait for real), with half-way jitter. */
function client(url: string, extra: ConstructorParameters<typeof NvdClient>[0] = {}) {
  const clock = new InstantClock();
  return { clock, nvd: new NvdClient({ baseUrl: url, clock, random: () => 0.5, ...extra }) };
}

describe('NvdClient', () => {
  it('fetches one CVE by id, sends the API key in the apiKey header, and reads it through parseNvd', async () => {
    server = await serve(routes({ [API]: (_q, res) => sendJson(res, NVD_LOG4J()) }));
    const { nvd } = client(server.url, { apiKey: 'test-key-123' });
    const record = await nvd.getCve('cve-2021-44228');
    expect(server.hits).toHaveLength(1);
    expect(server.hits[0]!.url).toBe(`${API}?cveId=CVE-2021-44228`);
    expect(server.hits[0]!.headers.apikey).toBe('test-key-123');
    expect(record).toMatchObject({
      id: 'CVE-2021-44228',
      source: 'nvd',
      severity: 'critical',
      kev: true,
      kevDateAdded: '2021-12-10',
      cvss: { score: 10 },
    });
    expect(nvd.limiter.limit).toBe(50);
  });

  it('sends no apiKey header without a key, and keeps a base URL path prefix', async () => {
    server = await serve(routes({ [`/nvd${API}`]: (_q, res) => sendJson(res, NVD_LOG4J()) }));
    const { nvd } = client(`${server.url}/nvd/`);
    expect((await nvd.getCve('CVE-2021-44228'))?.id).toBe('CVE-2021-44228');
    expect(server.hits[0]!.headers.apikey).toBeUndefined();
    expect(nvd.limiter.limit).toBe(NVD_LIMIT_PUBLIC);
  });

  it('answers undefined for a CVE NVD does not know (totalResults 0)', async () => {
    server = await serve(routes({ [API]: (_q, res) => sendJson(res, NVD_EMPTY()) }));
    const { nvd } = client(server.url);
    expect(await nvd.getCve('CVE-2099-99999')).toBeUndefined();
    expect(server.hits).toHaveLength(1);
  });

  it('waits as long as Retry-After says after a 429, then succeeds', async () => {
    server = await serve(
      routes({
        [API]: (_q, res, n) =>
          n === 1 ? sendJson(res, '{}', 429, { 'retry-after': '7' }) : sendJson(res, NVD_LOG4J()),
      }),
    );
    const { nvd, clock } = client(server.url);
    expect((await nvd.getCve('CVE-2021-44228'))?.id).toBe('CVE-2021-44228');
    expect(server.hits).toHaveLength(2);
    expect(clock.sleeps).toEqual([7000]);
  });

  it('backs off exponentially with jitter after 503s, then succeeds', async () => {
    server = await serve(
      routes({ [API]: (_q, res, n) => (n <= 2 ? sendJson(res, 'busy', 503) : sendJson(res, NVD_LOG4J())) }),
    );
    const { nvd, clock } = client(server.url, { baseDelayMs: 1000 });
    expect((await nvd.getCve('CVE-2021-44228'))?.id).toBe('CVE-2021-44228');
    expect(server.hits).toHaveLength(3);
    // base·2^n, half fixed and half jitter (random() = 0.5): 750 ms, then 1500 ms.
    expect(clock.sleeps).toEqual([750, 1500]);
  });

  it("retries NVD's 403 throttling and gives up after the retries with one line", async () => {
    server = await serve(
      routes({
        [API]: (_q, res) => sendJson(res, '', 403, { message: 'Request forbidden by rate limiter' }),
      }),
    );
    const { nvd } = client(server.url, { retries: 2 });
    const err = await nvd.getCve('CVE-2021-44228').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HttpError);
    expect((err as HttpError).status).toBe(403);
    expect((err as Error).message).toMatch(
      /^NVD answered HTTP 403 Forbidden: Request forbidden by rate limiter for http:\/\/127\.0\.0\.1:\d+\/rest\/json\/cves\/2\.0\?cveId=CVE-2021-44228 \(after 3 attempts\)$/,
    );
    expect(server.hits).toHaveLength(3);
  });

  it('does not retry other client errors, and never puts the API key in a message', async () => {
    server = await serve(
      routes({ [API]: (_q, res) => sendJson(res, '', 404, { message: 'Invalid apiKey' }) }),
    );
    const { nvd } = client(server.url, { apiKey: 'secret-key-value' });
    const err = (await nvd.getCve('CVE-2021-44228').catch((e: unknown) => e)) as Error;
    expect(err.message).toMatch(/NVD answered HTTP 404 Not Found: Invalid apiKey/);
    expect(err.message).not.toContain('secret-key-value');
    expect(server.hits).toHaveLength(1);
  });

  it('refuses a Retry-After longer than it is willing to wait', async () => {
    server = await serve(routes({ [API]: (_q, res) => sendJson(res, '', 429, { 'retry-after': '3600' }) }));
    const { nvd, clock } = client(server.url);
    await expect(nvd.getCve('CVE-2021-44228')).rejects.toThrow(/asked to retry after 3600 s/);
    expect(clock.sleeps).toEqual([]);
  });

  it('times out a slow answer (headers or body), retrying it, within the per-request timeout', async () => {
    server = await serve(
      routes({
        [API]: (_q, res, n) => {
          if (n === 1) return; // never answers
          res.writeHead(200, { 'content-type': 'application/json' });
          res.write('{"resultsPerPage":1,'); // then stalls mid-body
        },
      }),
    );
    const { nvd } = client(server.url, { timeoutMs: 150, retries: 1 });
    await expect(nvd.getCve('CVE-2021-44228')).rejects.toThrow(
      /^NVD did not answer within 150 ms for http:\/\/127\.0\.0\.1:\d+\/rest\/json\/cves\/2\.0\?cveId=CVE-2021-44228 \(after 2 attempts\)$/,
    );
    expect(server.hits).toHaveLength(2);
  });

  it('refuses an oversized answer without retrying, by Content-Length or while streaming', async () => {
    const big = JSON.stringify({ vulnerabilities: [], padding: 'x'.repeat(5000) });
    server = await serve(
      routes({
        [API]: (_q, res, n) => {
          if (n === 1) return sendJson(res, big, 200, { 'content-length': String(Buffer.byteLength(big)) });
          res.writeHead(200, { 'content-type': 'application/json' }); // chunked: no Content-Length
          for (let i = 0; i < 10; i++) res.write('x'.repeat(1000));
          res.end();
        },
      }),
    );
    const { nvd } = client(server.url, { maxBytes: 4096 });
    await expect(nvd.getCve('CVE-2021-44228')).rejects.toThrow(
      /NVD response is 5\d{3} bytes, over the 4096-byte limit/,
    );
    await expect(nvd.getCve('CVE-2021-44228')).rejects.toThrow(/NVD response is over the 4096-byte limit/);
    expect(server.hits).toHaveLength(2);
  });

  it('retries when the server cannot be reached, then says so', async () => {
    server = await serve(() => {});
    const url = server.url;
    await server.close();
    server = undefined;
    const { nvd, clock } = client(url, { retries: 2 });
    await expect(nvd.getCve('CVE-2021-44228')).rejects.toThrow(
      /NVD could not be reached \(ECONNREFUSED\).*after 3 attempts/,
    );
    expect(clock.sleeps).toHaveLength(2);
  });

  it('reports an answer that is not NVD JSON', async () => {
    server = await serve(routes({ [API]: (_q, res) => sendJson(res, '<html>maintenance</html>') }));
    const { nvd } = client(server.url);
    await expect(nvd.getCve('CVE-2021-44228')).rejects.toThrow(
      /NVD's answer for CVE-2021-44228 could not be read/,
    );
  });

  it('without a key, starts at most 5 requests per rolling 30 s: the 6th waits for the window', async () => {
    server = await serve(routes({ [API]: (_q, res) => sendJson(res, NVD_EMPTY()) }));
    const clock = new FakeClock();
    const nvd = new NvdClient({ baseUrl: server.url, clock, limiter: nvdLimiter(false, clock) });
    const done: number[] = [];
    const calls = Array.from({ length: 6 }, (_, i) =>
      nvd.getCve(`CVE-2024-000${i + 1}`).then(() => done.push(i)),
    );
    await vi.waitFor(() => expect(done).toHaveLength(5));
    await flush();
    expect(server.hits).toHaveLength(5);
    expect(clock.pending).toBe(1);
    expect(clock.sleeps).toEqual([NVD_WINDOW_MS + NVD_WINDOW_MARGIN_MS]);

    await clock.advance(NVD_WINDOW_MS); // not yet: the margin
    await new Promise((r) => setTimeout(r, 50));
    expect(server.hits).toHaveLength(5);

    await clock.advance(NVD_WINDOW_MARGIN_MS);
    await Promise.all(calls);
    expect(server.hits).toHaveLength(6);
    expect(server.hits[5]!.url).toContain('CVE-2024-0006');
  });

  it('with a key, allows 50 per window', async () => {
    const clock = new FakeClock();
    const limiter = nvdLimiter(true, clock);
    for (let i = 0; i < 50; i++) await limiter.acquire();
    expect(limiter.waitMs()).toBe(NVD_WINDOW_MS + NVD_WINDOW_MARGIN_MS);
  });
});

describe('SlidingWindowLimiter', () => {
  it('frees a slot exactly when the oldest start leaves the window, first come first served', async () => {
    const clock = new FakeClock();
    const limiter = new SlidingWindowLimiter(2, 1000, clock);
    const order: string[] = [];
    await limiter.acquire();
    await clock.advance(400);
    await limiter.acquire();
    const c = limiter.acquire().then(() => order.push('c'));
    const d = limiter.acquire().then(() => order.push('d'));
    await flush();
    expect(order).toEqual([]);
    await clock.advance(599); // t=999: the first start (t=0) is still in the window
    expect(order).toEqual([]);
    await clock.advance(1); // t=1000
    expect(order).toHaveLength(1);
    await clock.advance(399); // t=1399: the second start (t=400) still counts
    expect(order).toHaveLength(1);
    await clock.advance(1);
    await Promise.all([c, d]);
    expect(order).toEqual(['c', 'd']);
  });

  it('an aborted waiter leaves its place to the next one', async () => {
    const clock = new FakeClock();
    const limiter = new SlidingWindowLimiter(1, 1000, clock);
    await limiter.acquire();
    const ac = new AbortController();
    const aborted = limiter.acquire(ac.signal);
    const next = limiter.acquire();
    ac.abort(new Error('stop'));
    await expect(aborted).rejects.toThrow('stop');
    await clock.advance(1000);
    await expect(next).resolves.toBeUndefined();
  });

  it('rejects nonsense limits', () => {
    expect(() => new SlidingWindowLimiter(0, 1000)).toThrow(RangeError);
    expect(() => new SlidingWindowLimiter(1, 0)).toThrow(RangeError);
  });
});
