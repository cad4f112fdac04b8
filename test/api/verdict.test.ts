// The API says what was proven: rules, versions and jobs carry the verdict, the confidence and the
// headline; a rule with no exploit request is untested (never passed); no rule at all is a 422 with
// what the engine recognised, and a job that comes to no rule ends dead with that message.
import { readFileSync } from 'node:fs';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { Store } from '../../src/store/index.js';
import { VulnRecordSchema } from '../../src/vulns/model.js';
import { baseEnv, call, openTestStore, startApi, token, waitFor, type TestApi } from '../service/support.js';
import { fixture } from '../support/cli.js';

let store: Store;
let api: TestApi;
let auth: string;

const record = (file: string) =>
  VulnRecordSchema.parse({
    ...JSON.parse(readFileSync(fixture(file), 'utf8')),
    source: 'test',
    fetchedAt: new Date(0).toISOString(),
  });

beforeAll(async () => {
  ({ store } = await openTestStore());
  await store.vulns.upsertMany([
    record('vulns-cli/CVE-2099-0002-jndi.json'),
    record('vulns-cli/CVE-2099-0003-disclosure.json'),
  ]);
  api = await startApi(baseEnv({ WAFGEN_JOB_BACKOFF_MS: '10' }), { store });
  auth = await token({ scope: 'rules:read rules:generate' });
}, 60_000);

afterAll(async () => {
  await api?.close();
  await store?.close();
});

const url = (path: string) => `${api.url}${path}`;

type NoRuleBody = {
  error: {
    code: string;
    message: string;
    details: {
      cveId: string;
      engine: string;
      attackClass?: string;
      endpoints: string[];
      exploitRequests: number;
      notes: string[];
      needs: string[];
    };
  };
};

describe('verdicts over the API', () => {
  it('a rule with no exploit request to test is untested, not passed, with the headline the CLI prints', async () => {
    const r = await call<Record<string, unknown>>(url('/v1/rules/generate'), {
      token: auth,
      body: { cveId: 'CVE-2099-0002' },
    });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      cveId: 'CVE-2099-0002',
      verdict: 'untested',
      passed: false,
      confidence: 'low',
    });
    expect(r.body.summary).toMatch(/^CVE-2099-0002: untested — no exploit request/);
    expect(r.body.summary).not.toMatch(/passed/);
    expect((r.body.report as { verdict: string }).verdict).toBe('untested');
    // The cached answer and the stored versions say the same.
    const again = await call(url('/v1/rules/CVE-2099-0002'), { token: auth });
    expect(again.body).toMatchObject({ verdict: 'untested', confidence: 'low', summary: r.body.summary });
    const versions = await call<{ versions: Record<string, unknown>[] }>(
      url('/v1/rules/CVE-2099-0002/versions'),
      {
        token: auth,
      },
    );
    expect(versions.body.versions).toEqual([
      expect.objectContaining({
        version: 1,
        verdict: 'untested',
        confidence: 'low',
        passed: false,
        summary: r.body.summary,
      }),
    ]);
  });

  it('no rule is a 422 carrying what the engine recognised and what it needs', async () => {
    const r = await call<NoRuleBody>(url('/v1/rules/generate'), {
      token: auth,
      body: { cveId: 'CVE-2099-0003' },
    });
    expect(r.status).toBe(422);
    expect(r.body.error.code).toBe('no_rule');
    expect(r.body.error.message).toMatch(/^no rule could be written for CVE-2099-0003/);
    expect(r.body.error.details).toMatchObject({
      cveId: 'CVE-2099-0003',
      engine: 'builtin',
      exploitRequests: 0,
    });
    expect(r.body.error.details.needs.join('\n')).toMatch(/exploit request/);
    // Not an older rule dressed up as an answer: nothing is stored.
    expect(await store.rules.latest('CVE-2099-0003')).toBeUndefined();
  });

  it('a job that comes to no rule ends dead, at once, with the same message', async () => {
    const r = await call<{ jobs: { jobId: string }[] }>(url('/v1/jobs'), {
      token: auth,
      body: { cveId: 'CVE-2099-0003' },
    });
    expect(r.status).toBe(202);
    const job = await waitFor('the no-rule job to end', async () => {
      const s = await call<{
        status: string;
        attempts: number;
        error?: string;
        result?: { outcome: string; noRule: { cveId: string } };
      }>(url(`/v1/jobs/${r.body.jobs[0]!.jobId}`), { token: auth });
      return s.body.status === 'dead' || s.body.status === 'succeeded' ? s.body : undefined;
    });
    expect(job.status).toBe('dead');
    expect(job.attempts).toBe(1);
    expect(job.error).toMatch(/^no rule could be written for CVE-2099-0003/);
    expect(job.result).toMatchObject({ outcome: 'no-rule', noRule: { cveId: 'CVE-2099-0003' } });
  });

  it('a job that makes a rule carries its verdict and headline', async () => {
    const r = await call<{ jobs: { jobId: string }[] }>(url('/v1/jobs'), {
      token: auth,
      body: { cveId: 'CVE-2099-0002', options: { force: true } },
    });
    const job = await waitFor('the job to end', async () => {
      const s = await call<{ status: string; result?: Record<string, unknown> }>(
        url(`/v1/jobs/${r.body.jobs[0]!.jobId}`),
        {
          token: auth,
        },
      );
      return s.body.status === 'succeeded' || s.body.status === 'dead' ? s.body : undefined;
    });
    expect(job.status).toBe('succeeded');
    expect(job.result).toMatchObject({ verdict: 'untested', confidence: 'low', passed: false });
    expect(job.result!.summary).toMatch(/^CVE-2099-0002: untested — /);
  });

  it('documents the verdict, the confidence and the 422 in the OpenAPI document', async () => {
    const doc = (
      await call<{
        paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
        components: { schemas: Record<string, { properties?: Record<string, unknown> }> };
      }>(url('/openapi.json'))
    ).body;
    expect(Object.keys(doc.paths['/v1/rules/generate']!.post!.responses)).toContain('422');
    expect(doc.components.schemas.Rule!.properties).toHaveProperty('verdict');
    expect(doc.components.schemas.Rule!.properties).toHaveProperty('confidence');
    expect(doc.components.schemas.NoRule).toBeDefined();
  });
});
