// The scanner webhook over HTTP: signatures, the replay window, the generic format and GitHub's
// dependabot_alert and security_advisory events.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { signGitHub, signWebhook, parseWebhook, verifyWebhookSignature } from '../../src/api/webhook.js';
import { ApiError } from '../../src/api/errors.js';
import type { Store } from '../../src/store/index.js';
import { baseEnv, call, openTestStore, startApi, WEBHOOK_SECRET, type TestApi } from '../service/support.js';

let store: Store;
let api: TestApi;
let unconfigured: TestApi;

type Result = {
  queued: boolean;
  jobId?: string;
  format: string;
  jobs: { jobId: string; cveId: string; created: boolean }[];
  skipped: { cveId?: string; reason: string; severity?: string }[];
  duplicate?: boolean;
};
type Err = { error: { code: string; message: string; fields?: { path: string }[] } };

beforeAll(async () => {
  ({ store } = await openTestStore());
  // A second secret: rotation, both are accepted.
  api = await startApi(baseEnv({ WAFGEN_WEBHOOK_SECRET: `old-secret-0123456789,${WEBHOOK_SECRET}` }), {
    store,
  });
  unconfigured = await startApi(baseEnv({ WAFGEN_WEBHOOK_SECRET: undefined }), {
    store,
    inProcessWorker: false,
  });
}, 60_000);

afterAll(async () => {
  await api?.close();
  await unconfigured?.close();
  await store?.close();
});

async function send<T = Result>(body: unknown, headers?: Record<string, string>, target = api) {
  const raw = JSON.stringify(body);
  return call<T>(`${target.url}/webhook/vulnerability`, {
    raw,
    headers: { 'content-type': 'application/json', ...(headers ?? signWebhook(raw, WEBHOOK_SECRET)) },
  });
}

const dependabot = (action: string, cve: string | null, severity: string) => ({
  action,
  alert: {
    number: 7,
    state: action === 'fixed' ? 'fixed' : 'open',
    dependency: {
      package: { ecosystem: 'maven', name: 'org.apache.logging.log4j:log4j-core' },
      scope: 'runtime',
    },
    security_advisory: {
      ghsa_id: 'GHSA-jfh8-c2jp-5v3q',
      cve_id: cve,
      summary: 'Remote code injection in Log4j',
      severity,
      identifiers: [
        { value: 'GHSA-jfh8-c2jp-5v3q', type: 'GHSA' },
        ...(cve ? [{ value: cve, type: 'CVE' }] : []),
      ],
      withdrawn_at: null,
    },
    security_vulnerability: {
      package: { ecosystem: 'maven', name: 'org.apache.logging.log4j:log4j-core' },
      severity,
      vulnerable_version_range: '>= 2.0-beta9, < 2.15.0',
      first_patched_version: { identifier: '2.15.0' },
    },
    html_url: 'https://github.com/acme/shop/security/dependabot/7',
  },
  repository: { full_name: 'acme/shop' },
  sender: { login: 'dependabot[bot]' },
});

describe('signatures', () => {
  it('queues a signed critical finding: 202 {queued, jobId}', async () => {
    const r = await send({ cveId: 'cve-2021-44228', severity: 'CRITICAL', id: 'finding-1' });
    expect(r.status).toBe(202);
    expect(r.body).toMatchObject({
      queued: true,
      format: 'generic',
      jobId: expect.stringMatching(/^gen-CVE-2021-44228-/),
    });
  });

  it('refuses a bad signature, a missing one, and a stale or future timestamp', async () => {
    const raw = JSON.stringify({ cveId: 'CVE-2021-44228', severity: 'critical' });
    const wrong = signWebhook(raw, 'another-secret-entirely-000');
    const bad = await send<Err>(JSON.parse(raw), wrong);
    expect(bad.status).toBe(401);
    expect(bad.body.error.code).toBe('invalid_signature');
    expect((await send<Err>(JSON.parse(raw), {})).status).toBe(401);
    const stale = signWebhook(raw, WEBHOOK_SECRET, Date.now() - 10 * 60_000);
    const s = await send<Err>(JSON.parse(raw), stale);
    expect(s.status).toBe(401);
    expect(s.body.error.message).toContain('timestamp');
    const future = signWebhook(raw, WEBHOOK_SECRET, Date.now() + 10 * 60_000);
    expect((await send<Err>(JSON.parse(raw), future)).status).toBe(401);
    // The body is part of what is signed.
    const good = signWebhook(raw, WEBHOOK_SECRET);
    expect((await send<Err>({ cveId: 'CVE-2021-44228', severity: 'low' }, good)).status).toBe(401);
  });

  it('accepts the rotated secret too', async () => {
    const raw = JSON.stringify({ cveId: 'CVE-2021-44228', severity: 'high' });
    const r = await send(JSON.parse(raw), signWebhook(raw, 'old-secret-0123456789'));
    expect(r.status).toBe(202);
  });

  it('acknowledges a replay within the window without processing it again', async () => {
    const raw = JSON.stringify({ cveId: 'CVE-2022-22965', severity: 'critical' });
    const headers = signWebhook(raw, WEBHOOK_SECRET);
    expect((await send(JSON.parse(raw), headers)).status).toBe(202);
    const replay = await send(JSON.parse(raw), headers);
    expect(replay.status).toBe(200);
    expect(replay.body).toMatchObject({ queued: false, duplicate: true });
  });

  it('answers 503 when no secret is configured', async () => {
    const r = await send<Err>({ cveId: 'CVE-2021-44228', severity: 'critical' }, undefined, unconfigured);
    expect(r.status).toBe(503);
    expect(r.body.error.code).toBe('not_configured');
  });

  it('compares in constant time and only well-formed hex', () => {
    const raw = '{}';
    const h = signWebhook(raw, WEBHOOK_SECRET);
    const ts = h['X-Wafgen-Timestamp'];
    expect(() =>
      verifyWebhookSignature(raw, { timestamp: ts, signature: 'sha256=zz' }, [WEBHOOK_SECRET], 300),
    ).toThrow(ApiError);
    expect(() =>
      verifyWebhookSignature(
        raw,
        { timestamp: 'yesterday', signature: h['X-Wafgen-Signature'] },
        [WEBHOOK_SECRET],
        300,
      ),
    ).toThrow(/Unix seconds/);
    expect(
      verifyWebhookSignature(
        raw,
        { timestamp: ts, signature: h['X-Wafgen-Signature'] },
        [WEBHOOK_SECRET],
        300,
      ).scheme,
    ).toBe('wafgen');
  });
});

describe('the generic format', () => {
  it('queues critical and high findings, one job per CVE, and skips the rest', async () => {
    const r = await send({
      source: 'acme-scanner',
      findings: [
        { id: 'a', cveId: 'CVE-2021-41773', severity: 'critical', asset: 'web-1' },
        { id: 'b', cveId: 'CVE-2021-41773', severity: 'high', asset: 'web-2' },
        { id: 'c', cveId: 'CVE-2017-5638', severity: 'High' },
        { id: 'd', cveId: 'CVE-2023-22515', severity: 'medium' },
        { id: 'e', cveId: 'CVE-2024-3400', severity: 'low' },
      ],
    });
    expect(r.status).toBe(202);
    expect(r.body.jobs.map((j) => j.cveId)).toEqual(['CVE-2021-41773', 'CVE-2017-5638']);
    expect(r.body.skipped.map((s) => [s.cveId, s.reason])).toEqual([
      ['CVE-2021-41773', 'same CVE as an earlier finding in this delivery'],
      ['CVE-2023-22515', 'severity medium is below high'],
      ['CVE-2024-3400', 'severity low is below high'],
    ]);
  });

  it('acknowledges a delivery with nothing to queue: 200', async () => {
    const r = await send({ findings: [{ cveId: 'CVE-2024-3400', severity: 'info' }] });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ queued: false, jobs: [] });
  });

  it('names the failing fields of an invalid delivery', async () => {
    const r = await send<Err>({ findings: [{ cveId: 'CVE-1-1', severity: 'urgent' }] });
    expect(r.status).toBe(400);
    expect(r.body.error.fields?.map((f) => f.path).sort()).toEqual([
      'findings.0.cveId',
      'findings.0.severity',
    ]);
    const notJson = await call<Err>(`${api.url}/webhook/vulnerability`, {
      raw: '{nope',
      headers: { 'content-type': 'application/json', ...signWebhook('{nope', WEBHOOK_SECRET) },
    });
    expect(notJson.status).toBe(400);
    expect(notJson.body.error.code).toBe('malformed_json');
  });
});

describe('GitHub', () => {
  it('queues a dependabot_alert signed by GitHub, refusing a redelivery of the same delivery id', async () => {
    const body = dependabot('created', 'CVE-2021-44228', 'critical');
    const raw = JSON.stringify(body);
    const headers = {
      'X-GitHub-Event': 'dependabot_alert',
      'X-GitHub-Delivery': '72d3162e-cc78-11e3-81ab-4c9367dc0958',
      'X-Hub-Signature-256': signGitHub(raw, WEBHOOK_SECRET),
    };
    const r = await send(body, headers);
    expect(r.status).toBe(202);
    expect(r.body).toMatchObject({ format: 'github', queued: true, jobs: [{ cveId: 'CVE-2021-44228' }] });
    const again = await send(body, headers);
    expect(again.body).toMatchObject({ duplicate: true, queued: false });
    const forged = await send<Err>(body, {
      ...headers,
      'X-GitHub-Delivery': '72d3162e-0000-0000-0000-4c9367dc0958',
      'X-Hub-Signature-256': signGitHub(raw, 'guess-guess-guess-guess'),
    });
    expect(forged.status).toBe(401);
  });

  it('reads the format from the body when relayed with the wafgen signature', async () => {
    const r = await send(dependabot('reopened', 'CVE-2022-22965', 'high'));
    expect(r.body).toMatchObject({ format: 'github', queued: true });
  });

  it('skips fixed and dismissed alerts, low severities and advisories without a CVE', () => {
    expect(parseWebhook(dependabot('fixed', 'CVE-2021-44228', 'critical')).actionable).toEqual([]);
    expect(parseWebhook(dependabot('dismissed', 'CVE-2021-44228', 'critical')).skipped[0]?.reason).toContain(
      'dismissed',
    );
    expect(parseWebhook(dependabot('created', 'CVE-2021-44228', 'medium')).skipped[0]?.reason).toContain(
      'medium',
    );
    expect(parseWebhook(dependabot('created', null, 'critical')).skipped[0]?.reason).toBe(
      'the advisory has no CVE ID',
    );
  });

  it('reads security_advisory events: published is queued, withdrawn is not', () => {
    const advisory = (action: string, withdrawn: string | null) => ({
      action,
      security_advisory: {
        ghsa_id: 'GHSA-36p3-wjmg-h94x',
        cve_id: null,
        summary: 'Spring4Shell',
        severity: 'critical',
        identifiers: [
          { type: 'GHSA', value: 'GHSA-36p3-wjmg-h94x' },
          { type: 'CVE', value: 'CVE-2022-22965' },
        ],
        withdrawn_at: withdrawn,
      },
    });
    expect(parseWebhook(advisory('published', null), 'security_advisory').actionable).toEqual([
      { cveId: 'CVE-2022-22965', findingId: 'GHSA-36p3-wjmg-h94x', severity: 'critical' },
    ]);
    expect(
      parseWebhook(advisory('withdrawn', '2022-04-01T00:00:00Z'), 'security_advisory').actionable,
    ).toEqual([]);
    expect(parseWebhook({ zen: 'Keep it logically awesome.' }, 'ping')).toMatchObject({
      actionable: [],
      skipped: [],
    });
    expect(parseWebhook({ action: 'opened' }, 'issues').skipped[0]?.reason).toContain('not handled');
  });
});

describe('jobs from the webhook', () => {
  it('end with stored rules', async () => {
    const r = await send({ findings: [{ cveId: 'CVE-2023-46805', severity: 'critical' }] });
    const jobId = r.body.jobId!;
    for (let i = 0; i < 100; i++) {
      const job = await store.jobs.get(jobId);
      if (job?.status === 'succeeded') break;
      await new Promise((res) => setTimeout(res, 100));
    }
    expect((await store.jobs.get(jobId))?.status).toBe('succeeded');
    expect(await store.rules.versions('CVE-2023-46805')).toHaveLength(1);
  });
});
