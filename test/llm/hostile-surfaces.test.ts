// Hostile provider answers through the HTTP API the way `wafgen serve` runs it (memory queue,
// in-process worker), the LLM chain on the local fake provider server (issue 15: "scripted
// responses that include bad JSON, refusals, slow answers and rate limits"):
//
// - POST /v1/rules/generate: the only provider answers 429 with Retry-After, then too slowly (the
//   per-call timeout), then with text that is no JSON, then with the rule. The call is retried on
//   the 429 and the timeout, the bad JSON ends it, the engine asks again once, and generation ends
//   with the LLM's proven rule, not the built-in fallback.
// - POST /v1/jobs with llmBatch 2: the batched answer is no JSON, so each CVE is asked singly and
//   each job ends with the LLM's proven rule.
// - POST /v1/deployments puts the first rule in a web ACL on the local WAFv2 server.
// - GET /metrics (scraped once, at the end: the coverage probe answers from memory for a minute)
//   shows every attempt labelled by what happened, and wafgen_cves_protected counts the deployed,
//   proven rule under its CVE's severity.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { generateRule } from '../../src/index.js';
import { credentials, existingRules, webAclExtras } from '../deploy/helpers.js';
import { startFakeWafv2, type FakeWafv2 } from '../support/fake-wafv2/server.js';
import { startFakeLlm, type FakeLlm } from '../support/fake-llm/server.js';
import { parseExposition, type Sample } from '../observability/support.js';
import { baseEnv, call, startApi, token, waitFor, type TestApi } from '../service/support.js';
import { openAiServiceEnv, ruleWritingCalls } from './helpers.js';

const SYNC = 'CVE-2017-5638';
const JOBS = ['CVE-2021-41773', 'CVE-2019-3396'];
const rationale = 'Blocks this CVE’s exploit requests as they arrive.';

const awsDir = mkdtempSync(join(tmpdir(), 'wafgen-hostile-'));
const AWS_ENV: Record<string, string | undefined> = {
  AWS_ACCESS_KEY_ID: credentials.accessKeyId,
  AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
  AWS_REGION: 'eu-west-1',
  AWS_EC2_METADATA_DISABLED: 'true',
  AWS_CONFIG_FILE: join(awsDir, 'none'),
  AWS_SHARED_CREDENTIALS_FILE: join(awsDir, 'none'),
  AWS_PROFILE: undefined,
  AWS_ENDPOINT_URL: undefined,
};
const saved: Record<string, string | undefined> = {};

let statements: Map<string, unknown>;
let fake: FakeLlm;
let wafv2: FakeWafv2;
let api: TestApi;
let auth: string;

/** The CVEs a batched prompt names (its `## CVE-…` sections). */
const cvesOf = (prompt: string) => [...prompt.matchAll(/^## (CVE-\S+)$/gm)].map((m) => m[1]!);

/** Answers a single-rule call with the rule the built-in engine proves for the CVE it names. */
const single = () => ({
  respond: (prompt: string) => ({
    rationale,
    statement: statements.get(/^CVE: (\S+)$/m.exec(prompt)?.[1] ?? ''),
  }),
});

beforeAll(async () => {
  statements = new Map();
  for (const id of [SYNC, ...JOBS]) statements.set(id, (await generateRule(id)).rule.Statement);
  [fake, wafv2] = await Promise.all([startFakeLlm(), startFakeWafv2()]);
  for (const [k, v] of Object.entries({ ...AWS_ENV, AWS_ENDPOINT_URL_WAFV2: wafv2.url })) {
    saved[k] = process.env[k];
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  wafv2.addWebAcl({ name: 'shop', region: 'eu-west-1', rules: existingRules(), extra: webAclExtras });
  api = await startApi(
    baseEnv({
      REDIS_URL: undefined,
      ...openAiServiceEnv(fake),
      // Two retries on the same provider (the 429 and the timeout), a short per-call timeout.
      WAFGEN_LLM_RETRIES: '2',
      WAFGEN_LLM_TIMEOUT_MS: '5000',
      WAFGEN_LLM_BACKOFF_INITIAL_MS: '5',
      WAFGEN_LLM_BACKOFF_MAX_MS: '20',
      // Far longer than the test: the jobs' batch goes out only when both are waiting.
      WAFGEN_LLM_BATCH_WINDOW_MS: '60000',
      WAFGEN_WORKER_CONCURRENCY: '4',
      WAFGEN_AUDIT_FSYNC: '0',
    }),
  );
  expect(api.runtime.service.queue.kind).toBe('memory');
  auth = await token({ scope: 'rules:read rules:generate rules:deploy' });
}, 120_000);

afterAll(async () => {
  await api?.close();
  await Promise.all([fake?.close(), wafv2?.close()]);
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

const url = (path: string) => `${api.url}${path}`;

describe('hostile provider answers through the API', () => {
  it('429 with Retry-After, a timeout, then bad JSON: generation still ends with the LLM’s proven rule', async () => {
    fake.reset();
    fake.script(
      'openai',
      { status: 429, retryAfter: 1, message: 'Rate limit reached' },
      // Answers long after the 5 s timeout (the fake stops waiting when the client hangs up).
      { delayMs: 30_000, ...single() },
      { text: 'not json' },
      single(),
    );
    const r = await call(url('/v1/rules/generate'), { token: auth, body: { cveId: SYNC } });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({ cveId: SYNC, verdict: 'proven', cache: 'miss' });
    expect(r.body.engine).toMatch(/^llm-/);
    expect(r.body).not.toHaveProperty('degraded');
    expect(r.body.report).toMatchObject({ engine: 'llm', producedBy: 'llm', provider: 'openai' });
    expect((r.body.rule as { Statement: unknown }).Statement).toEqual(statements.get(SYNC));
    // Four requests: the 429, the slow one, the bad JSON (which ends the call), the re-ask.
    expect(fake.requestsFor('openai')).toHaveLength(4);
    expect(fake.pending('openai')).toBe(0);
  }, 120_000);

  it('POST /v1/jobs with llmBatch 2: the batched answer is bad JSON, each CVE is asked singly and ends with a rule', async () => {
    fake.reset();
    fake.script('openai', { text: 'not json' }, single(), single());
    const queued = await call(url('/v1/jobs'), {
      token: auth,
      body: { cveIds: JOBS, options: { llmBatch: 2 } },
    });
    expect(queued.status, JSON.stringify(queued.body)).toBe(202);
    const jobs = queued.body.jobs as { jobId: string; cveId: string }[];
    const views = await waitFor(
      'both jobs to finish',
      async () => {
        const rs = await Promise.all(jobs.map((j) => call(url(`/v1/jobs/${j.jobId}`), { token: auth })));
        return rs.every((v) => v.body.status === 'succeeded' || v.body.status === 'dead') && rs;
      },
      90_000,
    );
    for (const [i, v] of views.entries()) {
      expect(v.body, JSON.stringify(v.body)).toMatchObject({
        cveId: JOBS[i],
        status: 'succeeded',
        result: { cveId: JOBS[i], verdict: 'proven', passed: true },
      });
      expect((v.body.result as { engine: string }).engine).toMatch(/^llm-/);
      expect(v.body.result).not.toHaveProperty('degraded');
    }
    const calls = ruleWritingCalls(fake);
    expect(calls.map((c) => c.batched)).toEqual([true, false, false]);
    expect(cvesOf(calls[0]!.prompt).sort()).toEqual([...JOBS].sort());
    for (const id of JOBS) {
      expect(calls.slice(1).filter((c) => c.prompt.includes(`CVE: ${id}`))).toHaveLength(1);
      const stored = (await api.runtime.service.store.rules.latest(id))!;
      expect(stored.report).toMatchObject({ producedBy: 'llm', verdict: 'proven' });
      expect((stored.report as { notes: string[] }).notes).not.toContain(
        'llm: written in one call with 1 other CVE(s)',
      );
      expect((stored.rule as { Statement: unknown }).Statement).toEqual(statements.get(id));
    }
  }, 120_000);

  it('POST /v1/deployments puts the proven rule in a web ACL on the local WAFv2 server', async () => {
    const applied = await call<{ result: { outcome: string; action?: string; version?: number } }>(
      url('/v1/deployments'),
      { token: auth, body: { cveId: SYNC, webAcl: 'shop' } },
    );
    expect(applied.status, JSON.stringify(applied.body)).toBe(201);
    expect(applied.body.result).toMatchObject({ outcome: 'updated', action: 'Count', version: 1 });
    expect(wafv2.webAcl('shop', { region: 'eu-west-1' }).webAcl.Rules!.map((r) => r.Name)).toContain(
      `wafgen-${SYNC}`,
    );
  });

  it('GET /metrics: every attempt labelled by what happened; the deployed CVE counts as protected', async () => {
    const res = await fetch(url('/metrics'));
    expect(res.status).toBe(200);
    const samples = parseExposition(await res.text());
    const total = (name: string, labels: Record<string, string> = {}) =>
      samples
        .filter((s: Sample) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
        .reduce((a, s) => a + s.value, 0);
    const attempts = (result: string) => total('wafgen_llm_attempts_total', { provider: 'openai', result });
    // The 429, the timeout, two bad JSON answers (the single call's and the batch's), three good ones.
    expect(attempts('rate-limited')).toBe(1);
    expect(attempts('timeout')).toBe(1);
    expect(attempts('invalid-output')).toBe(2);
    expect(attempts('ok')).toBe(3);
    // Calls: the two that ended in bad JSON failed, three answered.
    expect(total('wafgen_llm_calls_total', { outcome: 'failed' })).toBe(2);
    expect(total('wafgen_llm_calls_total', { outcome: 'ok' })).toBe(3);
    // No rule fell back to the built-in engine.
    expect(total('wafgen_llm_fallbacks_total')).toBe(0);
    expect(total('wafgen_generations_total', { engine: 'llm', provider: 'openai' })).toBe(3);
    // A rate limit and a timeout are the provider's trouble, but one success closes the count again.
    expect(total('wafgen_llm_breaker_state', { provider: 'openai' })).toBe(0);

    // Coverage by severity: the deployed, proven rule's CVE counts under its severity.
    const severity = (await api.runtime.service.store.vulns.get(SYNC))?.severity;
    expect(severity).toBeTruthy();
    expect(total('wafgen_cves_protected', { severity: severity! })).toBe(1);
    expect(total('wafgen_cves_protected')).toBe(1);
    expect(total('wafgen_cves', { severity: severity! })).toBeGreaterThanOrEqual(1);
  });
});
