// The API's hot paths after the speed work of issue 13: every answer (the plain-header fast path of
// cache hits and validation, and every other response: errors, c.json, the docs page) carries the
// request id and the security headers, guarded answers the rate-limit figures; validation reports
// are reused only for the same caller and the exact same body, and never before auth, the rate
// limit, the scope and the schema check.
import { readFileSync } from 'node:fs';

import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import type * as Library from '../../src/app/library.js';
import type { Store } from '../../src/store/index.js';
import { baseEnv, call, openTestStore, startApi, token, type TestApi } from '../service/support.js';
import { REPO_ROOT } from '../support/shared.js';

// Counts the validations the API runs (the real function does the work).
const validations = vi.hoisted(() => ({ count: 0 }));
vi.mock('../../src/app/library.js', async (importOriginal) => {
  const actual = await importOriginal<typeof Library>();
  return {
    ...actual,
    validateRules: (...args: Parameters<typeof actual.validateRules>) => {
      validations.count++;
      return actual.validateRules(...args);
    },
  };
});

let store: Store;
let api: TestApi;

const url = (path: string) => `${api.url}${path}`;
const SECURITY = {
  'cross-origin-resource-policy': 'same-origin',
  'referrer-policy': 'no-referrer',
  'strict-transport-security': 'max-age=15552000; includeSubDomains',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'SAMEORIGIN',
};
/** Per principal per window: enough for every test but the one that spends it. */
const LIMIT = 8;

const rule = JSON.parse(readFileSync(`${REPO_ROOT}/test/fixtures/rules/log4shell-rule.json`, 'utf8')) as {
  Name: string;
};

function expectCommonHeaders(headers: Headers, requestId?: string): void {
  for (const [name, value] of Object.entries(SECURITY)) expect(headers.get(name), name).toBe(value);
  expect(headers.get('x-powered-by')).toBeNull();
  if (requestId) expect(headers.get('x-request-id')).toBe(requestId);
  else expect(headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
}

function expectRateLimitHeaders(headers: Headers): void {
  expect(headers.get('ratelimit-limit')).toBe(String(LIMIT));
  expect(Number(headers.get('ratelimit-remaining'))).toBeGreaterThanOrEqual(0);
  expect(Number(headers.get('ratelimit-reset'))).toBeGreaterThanOrEqual(1);
  expect(headers.get('ratelimit-policy')).toMatch(new RegExp(`^${LIMIT};w=\\d+$`));
}

beforeAll(async () => {
  ({ store } = await openTestStore());
  api = await startApi(
    baseEnv({
      WAFGEN_MAX_BODY_BYTES: '65536',
      WAFGEN_RATE_LIMIT: String(LIMIT),
      WAFGEN_RATE_LIMIT_GENERATE: '8',
    }),
    { store },
  );
}, 60_000);

afterAll(async () => {
  await api?.close();
  await store?.close();
});

describe('headers on every answer', () => {
  it('cache-hit rule reads and generations carry the request id, security, rate-limit and cache headers', async () => {
    const auth = await token({ sub: 'headers-rules' });
    const made = await call(url('/v1/rules/generate'), { token: auth, body: { cveId: 'CVE-2021-44228' } });
    expect(made.status).toBe(200);
    const hit = await call(url('/v1/rules/generate'), {
      token: auth,
      body: { cveId: 'CVE-2021-44228' },
      headers: { 'x-request-id': 'gen-1' },
    });
    expect(hit.body).toMatchObject({ cveId: 'CVE-2021-44228', cache: 'hit' });
    expectCommonHeaders(hit.headers, 'gen-1');
    expectRateLimitHeaders(hit.headers);
    expect(hit.headers.get('x-cache')).toBe('hit');
    expect(hit.headers.get('content-type')).toBe('application/json');

    const read = await call(url('/v1/rules/CVE-2021-44228'), {
      token: auth,
      headers: { 'x-request-id': 'get-1' },
    });
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ cveId: 'CVE-2021-44228', cache: 'hit' });
    expectCommonHeaders(read.headers, 'get-1');
    expectRateLimitHeaders(read.headers);
    expect(read.headers.get('x-cache')).toBe('hit');
    expect(read.headers.get('content-type')).toBe('application/json');
  });

  it('errors and ordinary answers carry them too', async () => {
    const unauthenticated = await call(url('/v1/rules/CVE-2021-44228'));
    expect(unauthenticated.status).toBe(401);
    expectCommonHeaders(unauthenticated.headers);
    expect(unauthenticated.headers.get('www-authenticate')).toContain('Bearer');

    const auth = await token({ sub: 'headers-errors' });
    const missing = await call(url('/v1/rules/CVE-2019-0001'), {
      token: auth,
      headers: { 'x-request-id': 'nf-1' },
    });
    expect(missing.status).toBe(404);
    expectCommonHeaders(missing.headers, 'nf-1');
    expectRateLimitHeaders(missing.headers);
    expect((missing.body as { error: { requestId: string } }).error.requestId).toBe('nf-1');

    const invalid = await call(url('/v1/rules/validate'), { token: auth, body: {} });
    expect(invalid.status).toBe(400);
    expectCommonHeaders(invalid.headers);
    expectRateLimitHeaders(invalid.headers);

    const tooLarge = await call(url('/v1/rules/validate'), {
      token: auth,
      raw: JSON.stringify({ document: { Name: 'x'.repeat(70_000) } }),
      headers: { 'content-type': 'application/json' },
    });
    expect(tooLarge.status).toBe(413);
    expectCommonHeaders(tooLarge.headers);

    const health = await call(url('/healthz'));
    expect(health.body).toEqual({ status: 'ok' });
    expectCommonHeaders(health.headers);
    const noRoute = await call(url('/nowhere'));
    expect(noRoute.status).toBe(404);
    expectCommonHeaders(noRoute.headers);
    const docs = await fetch(url('/docs'));
    expect(docs.status).toBe(200);
    expectCommonHeaders(docs.headers);
  });
});

describe('validation reports reused', () => {
  it('answers the same body from the same caller with the same report, validating once', async () => {
    const auth = await token({ sub: 'validate-once' });
    const before = validations.count;
    const first = await call(url('/v1/rules/validate'), {
      token: auth,
      body: { document: rule, cveId: 'CVE-2021-44228' },
    });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ valid: true, kind: 'rule', rules: 1 });
    const second = await call(url('/v1/rules/validate'), {
      token: auth,
      body: { document: rule, cveId: 'CVE-2021-44228' },
      headers: { 'x-request-id': 'val-2' },
    });
    expect(second.status).toBe(200);
    expect(second.body).toEqual(first.body);
    expect(validations.count - before).toBe(1);
    expectCommonHeaders(second.headers, 'val-2');
    expectRateLimitHeaders(second.headers);
    expect(second.headers.get('content-type')).toBe('application/json');
  });

  it('validates again for another caller, another document or other options', async () => {
    const alice = await token({ sub: 'validate-alice' });
    const bob = await token({ sub: 'validate-bob' });
    const body = { document: rule, cveId: 'CVE-2021-44228' };
    const before = validations.count;
    const a = await call(url('/v1/rules/validate'), { token: alice, body });
    const b = await call(url('/v1/rules/validate'), { token: bob, body });
    expect(b.body).toEqual(a.body);
    expect(validations.count - before).toBe(2);

    // Another CVE: the rule's name no longer matches it, which the report must say.
    const other = await call<{ findings: { code: string }[] }>(url('/v1/rules/validate'), {
      token: alice,
      body: { ...body, cveId: 'CVE-2022-22965' },
    });
    expect(other.status).toBe(200);
    expect(other.body).not.toEqual(a.body);
    const broken = await call<{ valid: boolean }>(url('/v1/rules/validate'), {
      token: alice,
      body: { document: { ...rule, Name: undefined }, cveId: 'CVE-2021-44228' },
    });
    expect(broken.body.valid).toBe(false);
    expect(validations.count - before).toBe(4);
  });

  it('tells apart two bodies that differ only where the cache key does not look', async () => {
    // The key holds the body's length and its first, middle and last 64 characters; the rest is
    // compared in full. Here only the rule's name differs (same length), inside the document and
    // away from those slices; the padding between the tokens is JSON whitespace.
    const auth = await token({ sub: 'validate-slices' });
    const named = (name: string) => {
      const { Name: _, ...rest } = rule as Record<string, unknown>;
      const doc = JSON.stringify({ VisibilityConfig: rest.VisibilityConfig, ...rest, Name: name });
      return `{"document":${doc},${' '.repeat(doc.length + 256)}"cveId":"CVE-2021-44228"}`;
    };
    const a = named('wafgen-CVE-2021-44228');
    const b = named('wafgen-CVE-2021-44229');
    const slices = (t: string) => [
      t.slice(0, 64),
      t.slice((t.length >> 1) - 32, (t.length >> 1) + 32),
      t.slice(-64),
    ];
    expect(b.length).toBe(a.length);
    expect(slices(b)).toEqual(slices(a));
    expect(b).not.toBe(a);
    const before = validations.count;
    const headers = { 'content-type': 'application/json' };
    const first = await call(url('/v1/rules/validate'), { token: auth, raw: a, headers });
    const second = await call(url('/v1/rules/validate'), { token: auth, raw: b, headers });
    const again = await call(url('/v1/rules/validate'), { token: auth, raw: b, headers });
    expect([first.status, second.status, again.status]).toEqual([200, 200, 200]);
    expect(second.body).not.toEqual(first.body); // the name no longer matches the CVE: a finding says so
    expect(again.body).toEqual(second.body);
    // a, then b (same key, another body: validated, and it takes the entry), then b again from it.
    expect(validations.count - before).toBe(2);
  });

  it('does not answer a body validated before when it comes with another content type', async () => {
    const auth = await token({ sub: 'validate-media' });
    const raw = JSON.stringify({ document: rule });
    const json = await call(url('/v1/rules/validate'), {
      token: auth,
      raw,
      headers: { 'content-type': 'application/json' },
    });
    expect(json.status).toBe(200);
    const text = await call<{ error: { code: string } }>(url('/v1/rules/validate'), {
      token: auth,
      raw,
      headers: { 'content-type': 'text/plain' },
    });
    expect(text.status).toBe(415);
    expect(text.body.error.code).toBe('unsupported_media_type');
  });

  it('still authenticates, checks the scope, counts the rate limit and checks the schema first', async () => {
    const body = { document: rule };
    const auth = await token({ sub: 'validate-guarded' });
    const ok = await call(url('/v1/rules/validate'), { token: auth, body });
    expect(ok.status).toBe(200);

    expect((await call(url('/v1/rules/validate'), { body })).status).toBe(401);
    const wrongKey = await token(
      { sub: 'validate-guarded' },
      { secret: 'another-secret-0123456789abcdef0123' },
    );
    expect((await call(url('/v1/rules/validate'), { token: wrongKey, body })).status).toBe(401);
    const noScope = await token({ sub: 'validate-guarded', scope: 'rules:deploy' });
    expect((await call(url('/v1/rules/validate'), { token: noScope, body })).status).toBe(403);
    const extra = await call(url('/v1/rules/validate'), { token: auth, body: { ...body, colour: 'red' } });
    expect(extra.status).toBe(400);

    // The same cached body keeps counting against the caller's budget until it is spent.
    const statuses: number[] = [];
    for (let i = 0; i < LIMIT + 2; i++)
      statuses.push((await call(url('/v1/rules/validate'), { token: auth, body })).status);
    expect(statuses).toContain(429);
    const refused = await call(url('/v1/rules/validate'), { token: auth, body });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expectCommonHeaders(refused.headers);
  });
});
