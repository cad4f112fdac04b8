// The console's sign-in, cookies, CSRF defences, CSP and escaping over a real loopback socket
// (no browser: these run where chromium is missing too). The browser flows are in console.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { apiKeyEntry } from '../../src/api/auth.js';
import type { Store } from '../../src/store/index.js';
import { baseEnv, openTestStore, startApi, type TestApi } from '../service/support.js';
import { byteMatch, field, rule, tt } from '../support/rules.js';

const ADMIN_KEY = 'console-admin-key-0123456789';
const READER_KEY = 'console-reader-key-0123456789';
const NO_READ_KEY = 'console-noread-key-0123456789';
const HOSTILE = '<script>alert(1)</script><img src=x onerror=alert(2)>';

let store: Store;
let api: TestApi;

beforeAll(async () => {
  ({ store } = await openTestStore());
  await store.vulns.upsert({
    id: 'CVE-2099-0666',
    title: HOSTILE,
    description: 'a record whose title is markup',
    source: 'manual',
    fetchedAt: new Date().toISOString(),
  });
  await store.rules.saveVersion('CVE-2099-0666', {
    rule: rule(byteMatch('</script>', field.uri(), 'CONTAINS', tt('URL_DECODE')), {
      name: 'wafgen-CVE-2099-0666',
    }),
    inputsHash: 'h',
    engine: 'builtin',
    report: { verdict: 'untested', tests: {}, wcu: 3 },
  });
  api = await startApi(
    baseEnv({
      WAFGEN_API_KEYS: [
        apiKeyEntry('admin', ADMIN_KEY, ['rules:read', 'rules:deploy']),
        apiKeyEntry('reader', READER_KEY, ['rules:read']),
        apiKeyEntry('generator', NO_READ_KEY, ['rules:generate']),
      ].join(';'),
    }),
    { store },
  );
}, 60_000);

afterAll(async () => {
  await api?.close();
  await store?.close();
});

const url = (path: string) => `${api.url}${path}`;

function form(values: Record<string, string>, headers: Record<string, string> = {}): RequestInit {
  return {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: api.url, ...headers },
    body: new URLSearchParams(values).toString(),
  };
}

/** Signs in and returns the Cookie header the browser would send back. */
async function signIn(key: string): Promise<{ cookie: string; setCookie: string[] }> {
  const r = await fetch(url('/console/login'), form({ credential: key }));
  expect(r.status).toBe(303);
  const setCookie = r.headers.getSetCookie();
  return { cookie: setCookie.map((c) => c.split(';')[0]).join('; '), setCookie };
}

describe('console sign-in and its defences', () => {
  it('sends a browser that is not signed in to the sign-in form, under a strict CSP', async () => {
    const r = await fetch(url('/console'), { redirect: 'manual' });
    expect(r.status).toBe(303);
    expect(r.headers.get('location')).toBe('/console/login');
    const login = await fetch(url('/console/login'));
    const csp = login.headers.get('content-security-policy')!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(login.headers.get('cache-control')).toBe('no-store');
  });

  it('keeps a verified credential in an HttpOnly, SameSite=Strict cookie for /console only', async () => {
    const { setCookie } = await signIn(ADMIN_KEY);
    const session = setCookie.find((c) => c.startsWith('wafgen_console='))!;
    expect(session).toMatch(/; HttpOnly/);
    expect(session).toMatch(/; SameSite=Strict/);
    expect(session).toMatch(/; Path=\/console/);
    // Plain HTTP here: not Secure (a browser would drop a Secure cookie it got over http).
    expect(session).not.toMatch(/; Secure/);
  });

  it('refuses a wrong key (401), a key without rules:read (403), and a sign-in posted from another site', async () => {
    expect((await fetch(url('/console/login'), form({ credential: 'wrong-key-0123456789abc' }))).status).toBe(
      401,
    );
    const noRead = await fetch(url('/console/login'), form({ credential: NO_READ_KEY }));
    expect(noRead.status).toBe(403);
    expect(await noRead.text()).toContain('lacks the rules:read scope');
    const crossSite = await fetch(
      url('/console/login'),
      form({ credential: ADMIN_KEY }, { origin: 'https://evil.example' }),
    );
    expect(crossSite.status).toBe(403);
    expect(crossSite.headers.getSetCookie()).toEqual([]);
  });

  it('refuses a change without the page token or from another origin, even when signed in', async () => {
    const { cookie } = await signIn(ADMIN_KEY);
    const page = await fetch(url('/console/deployments'), { headers: { cookie } });
    expect(page.status).toBe(200);
    const csrf = /name="csrf" value="([0-9a-f]{64})"/.exec(await page.text());
    // No deployment yet: the form is on the sign-out button; its token is what every form carries.
    expect(csrf).not.toBeNull();
    const csrfCookie = page.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; ');
    const both = [cookie, csrfCookie].filter(Boolean).join('; ');
    const noToken = await fetch(
      url('/console/deployments/1/promote'),
      form({ confirm: 'yes' }, { cookie: both }),
    );
    expect(noToken.status).toBe(403);
    const otherOrigin = await fetch(
      url('/console/deployments/1/promote'),
      form({ confirm: 'yes', csrf: csrf![1]! }, { cookie: both, origin: 'https://evil.example' }),
    );
    expect(otherOrigin.status).toBe(403);
    // With the token, same origin: it gets as far as looking the deployment up.
    const withToken = await fetch(
      url('/console/deployments/1/promote'),
      form({ csrf: csrf![1]! }, { cookie: both }),
    );
    expect(withToken.status).toBe(404);
  });

  it('marks a read scope read-only and escapes what records and rules say', async () => {
    const { cookie } = await signIn(READER_KEY);
    const list = await fetch(url('/console'), { headers: { cookie } });
    const text = await list.text();
    expect(text).toContain('CVE-2099-0666');
    expect(text).not.toContain('<script>alert(1)');
    expect(text).not.toContain('<img src=x');
    expect(text).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    const rulePage = await (await fetch(url('/console/rules/CVE-2099-0666'), { headers: { cookie } })).text();
    expect(rulePage).not.toContain('<script>alert(1)');
    // The rule's own text goes through the highlighter, escaped too.
    expect(rulePage).toContain('&lt;/script&gt;');
    expect(rulePage).toContain('(read-only)');
  });
});
