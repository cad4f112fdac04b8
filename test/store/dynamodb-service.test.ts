// The API on the DynamoDB store, opened from the environment as `wafgen serve` and the Lambda
// handler open it (WAFGEN_STORE=dynamodb against dynalite on a loopback port): seeded on first use,
// generation and versioned rules, an idempotent job run to completion, readiness and audit.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import { loadBundled } from '../../src/vulns/bundled.js';
import { baseEnv, call, startApi, token, waitFor, type TestApi } from '../service/support.js';
import { startDynalite, type LocalDynamo } from './dynalite.js';

let local: LocalDynamo;
let api: TestApi;
let auth: string;

beforeAll(async () => {
  local = await startDynalite();
  // The SDK's credential chain reads the process environment, as in a Lambda.
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'local');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'local');
  api = await startApi(
    baseEnv({
      WAFGEN_STORE: 'dynamodb',
      WAFGEN_DYNAMODB_ENDPOINT: local.endpoint,
      WAFGEN_DYNAMODB_REGION: 'us-east-1',
      WAFGEN_DYNAMODB_TABLE_PREFIX: 'svc-',
      WAFGEN_DYNAMODB_CREATE_TABLE: '1',
      WAFGEN_JOB_BACKOFF_MS: '10',
    }),
  );
  auth = await token({ scope: 'rules:read rules:generate' });
}, 60_000);

afterAll(async () => {
  await api?.close();
  await local?.close();
  vi.unstubAllEnvs();
});

const url = (path: string) => `${api.url}${path}`;

describe('the API on the DynamoDB store', () => {
  it('is ready with the store answering, and knows the bundled records', async () => {
    const ready = await call<{ status: string; checks: Record<string, { status: string; backend: string }> }>(
      url('/readyz'),
    );
    expect(ready.status).toBe(200);
    expect(ready.body.checks.store).toMatchObject({ status: 'ok', backend: 'dynamodb' });
    expect(await api.runtime.service.store.vulns.get('CVE-2021-44228')).toMatchObject({ kev: true });
    expect(await api.runtime.service.store.vulns.count()).toBe(loadBundled().length);
    expect(
      (await api.runtime.service.store.evidence.forCve('CVE-2021-44228')).map((e) => e.extractor),
    ).toEqual(['bundled']);
  });

  it('generates, stores a version, and reads it back', async () => {
    const first = await call<Record<string, unknown>>(url('/v1/rules/generate'), {
      token: auth,
      body: { cveId: 'cve-2021-44228' },
    });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ cveId: 'CVE-2021-44228', version: 1, passed: true });
    const list = await call(url('/v1/rules/CVE-2021-44228/versions'), { token: auth });
    expect(list.body).toMatchObject({ versions: [{ version: 1, passed: true }] });
    expect((await api.runtime.service.store.rules.latest('CVE-2021-44228'))?.version).toBe(1);
  });

  it('runs a queued job once, and the same CVE again is the same job', async () => {
    const r = await call<{ jobs: { jobId: string; created: boolean }[] }>(url('/v1/jobs'), {
      token: auth,
      body: { cveId: 'CVE-2017-5638' },
    });
    expect(r.status).toBe(202);
    const jobId = r.body.jobs[0]!.jobId;
    const done = await waitFor(`job ${jobId}`, async () => {
      const s = await call<{ status: string; result?: { version: number } }>(url(`/v1/jobs/${jobId}`), {
        token: auth,
      });
      return s.body.status === 'succeeded' ? s.body : undefined;
    });
    expect(done.result?.version).toBe(1);
    const again = await call<{ jobs: { jobId: string; created: boolean; status: string }[] }>(
      url('/v1/jobs'),
      {
        token: auth,
        body: { cveId: 'CVE-2017-5638' },
      },
    );
    expect(again.body.jobs[0]).toMatchObject({ jobId, created: false, status: 'succeeded' });
    expect(await api.runtime.service.store.rules.versions('CVE-2017-5638')).toHaveLength(1);
  }, 30_000);
});
