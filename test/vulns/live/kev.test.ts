// The CISA KEV catalog against a local server: look-up by id, the 24 h disk cache (reused by a new
// catalog object, refreshed when stale, used stale when the refresh fails), and a catalog that is not one.
import { existsSync, mkdtempSync, readFileSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

import { KEV_MAX_AGE_MS, KevCatalog } from '../../../src/vulns/live/kev.js';
import { type TestServer, InstantClock, KEV_CATALOG, routes, sendJson, serve } from './helpers.js';

const PATH = '/sites/default/files/feeds/known_exploited_vulnerabilities.json';
let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const tmp = () => mkdtempSync(join(tmpdir(), 'wafgen-kev-'));

describe('KevCatalog', () => {
  it('answers the date a listed CVE was added, undefined for others, and caches the catalog on disk', async () => {
    server = await serve(routes({ [PATH]: (_q, res) => sendJson(res, KEV_CATALOG()) }));
    const cacheDir = tmp();
    const kev = new KevCatalog({ url: server.url + PATH, cacheDir });
    expect(await kev.isKnownExploited('cve-2021-44228')).toBe('2021-12-10');
    expect(await kev.isKnownExploited('CVE-2024-3400')).toBe('2024-04-12');
    expect(await kev.isKnownExploited('CVE-2099-0001')).toBeUndefined();
    expect(await kev.lookup('CVE-2021-44228')).toMatchObject({ kev: true, tags: ['kev', 'ransomware'] });
    expect(server.hits).toHaveLength(1); // one fetch, then memory
    expect(kev.warnings).toEqual(['CISA KEV catalog: 1 malformed entries skipped']);
    expect(readFileSync(kev.cacheFile!, 'utf8')).toBe(KEV_CATALOG());
  });

  it('reuses the disk copy for 24 h, even from a new catalog object, and refreshes it after', async () => {
    server = await serve(routes({ [PATH]: (_q, res) => sendJson(res, KEV_CATALOG()) }));
    const cacheDir = tmp();
    const url = server.url + PATH;
    expect((await new KevCatalog({ url, cacheDir }).load()).origin).toBe('network');
    const again = new KevCatalog({ url, cacheDir });
    expect((await again.load()).origin).toBe('cache');
    expect(await again.isKnownExploited('CVE-2023-22527')).toBe('2024-01-24');
    expect(server.hits).toHaveLength(1);

    // 23 h old: still fresh. 25 h old: fetched again.
    const file = again.cacheFile!;
    const hoursAgo = (h: number) => new Date(Date.now() - h * 3600_000);
    utimesSync(file, hoursAgo(23), hoursAgo(23));
    expect((await new KevCatalog({ url, cacheDir }).load()).origin).toBe('cache');
    utimesSync(file, hoursAgo(25), hoursAgo(25));
    expect((await new KevCatalog({ url, cacheDir }).load()).origin).toBe('network');
    expect(server.hits).toHaveLength(2);
    expect(Date.now() - (await import('node:fs')).statSync(file).mtimeMs).toBeLessThan(KEV_MAX_AGE_MS);
  });

  it('keeps one cache file per catalog URL', async () => {
    const a = new KevCatalog({ url: 'http://127.0.0.1:1/a.json', cacheDir: '/x' });
    const b = new KevCatalog({ url: 'http://127.0.0.1:1/b.json', cacheDir: '/x' });
    expect(a.cacheFile).not.toBe(b.cacheFile);
    expect(new KevCatalog({ url: 'http://127.0.0.1:1/a.json' }).cacheFile).toBeUndefined();
  });

  it('falls back to a stale copy, with a warning, when the refresh fails', async () => {
    server = await serve(
      routes({
        [PATH]: (_q, res, n) => (n === 1 ? sendJson(res, KEV_CATALOG()) : sendJson(res, 'down', 503)),
      }),
    );
    const cacheDir = tmp();
    const url = server.url + PATH;
    const first = new KevCatalog({ url, cacheDir });
    await first.load();
    const old = new Date(Date.now() - 48 * 3600_000);
    utimesSync(first.cacheFile!, old, old);
    const stale = new KevCatalog({ url, cacheDir, retries: 1, clock: new InstantClock() });
    expect((await stale.load()).origin).toBe('stale-cache');
    expect(await stale.isKnownExploited('CVE-2021-44228')).toBe('2021-12-10');
    expect(stale.warnings.join('\n')).toMatch(
      /using the CISA KEV catalog cached at .*: refreshing it failed \(CISA KEV answered HTTP 503/,
    );
  });

  it('fails on something that is not the catalog, and does not cache it', async () => {
    server = await serve(routes({ [PATH]: (_q, res) => sendJson(res, '{"hello":"world"}') }));
    const kev = new KevCatalog({ url: server.url + PATH, cacheDir: tmp() });
    await expect(kev.isKnownExploited('CVE-2021-44228')).rejects.toThrow(
      /could not be read.*not a CISA KEV catalog/,
    );
    expect(existsSync(kev.cacheFile!)).toBe(false);
  });

  it('shares one fetch between concurrent look-ups', async () => {
    server = await serve(routes({ [PATH]: (_q, res) => setTimeout(() => sendJson(res, KEV_CATALOG()), 30) }));
    const kev = new KevCatalog({ url: server.url + PATH });
    const dates = await Promise.all(
      ['CVE-2021-44228', 'CVE-2024-3400', 'CVE-2099-0001'].map((id) => kev.isKnownExploited(id)),
    );
    expect(dates).toEqual(['2021-12-10', '2024-04-12', undefined]);
    expect(server.hits).toHaveLength(1);
  });
});
