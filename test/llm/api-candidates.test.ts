// The issue 15 body fields on the API: `options.candidates` and `options.judge` on
// POST /v1/rules/generate reach the generation (the rule's report keeps every candidate and the
// verdict), and values out of bounds are 400s. Real server (createRuntime), fake providers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startFakeLlm, type FakeLlm } from '../support/fake-llm/server.js';
import { GOOD, NO_DECODE } from '../generation/llm/fixtures.js';
import { baseEnv, startApi, token, type TestApi } from '../service/support.js';

let fake: FakeLlm;
let api: TestApi;
let auth: string;

beforeAll(async () => {
  fake = await startFakeLlm();
  api = await startApi(
    baseEnv({
      WAFGEN_OFFLINE: '0',
      // Online for the LLM; no real reference page fetched.
      WAFGEN_FETCH_REFERENCES: '0',
      WAFGEN_HTTP_TIMEOUT_MS: '1000',
      WAFGEN_LLM_PROVIDERS: 'openai,anthropic',
      OPENAI_API_KEY: 'sk-test-not-a-real-key-0123',
      OPENAI_BASE_URL: fake.baseURL('openai'),
      ANTHROPIC_API_KEY: 'sk-ant-test-not-a-real-key',
      ANTHROPIC_BASE_URL: fake.baseURL('anthropic'),
      WAFGEN_LLM_RETRIES: '0',
      WAFGEN_LLM_TIMEOUT_MS: '10000',
    }),
    { inProcessWorker: false },
  );
  auth = await token();
}, 120_000);

afterAll(async () => {
  await api?.close();
  await fake?.close();
});

const post = async (body: unknown) => {
  const res = await fetch(`${api.url}/v1/rules/generate`, {
    method: 'POST',
    headers: { authorization: `Bearer ${auth}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

describe('POST /v1/rules/generate with candidates and a judge', () => {
  it('two candidates and a judge: every candidate and the verdict in the rule report', async () => {
    const answer = (statement: unknown) => ({ json: { rationale: 'the lookup, decoded', statement } });
    fake.script('openai', answer(NO_DECODE));
    fake.script('anthropic', answer(GOOD), { json: { bypasses: [], legitimate: [] } });
    const r = await post({
      cveId: 'CVE-2021-44228',
      options: { candidates: 2, judge: 'anthropic', maxAttempts: 1, force: true },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const report = r.body.report as {
      candidates: { provider: string; chosen: boolean }[];
      judge: { outcome: string };
    };
    expect(report.candidates.map((c) => c.provider).sort()).toEqual(['anthropic', 'openai']);
    expect(report.candidates.find((c) => c.chosen)?.provider).toBe('anthropic');
    expect(report.judge.outcome).toBe('upheld');
  }, 120_000);

  it('a cached rule answers a plain request, not one asking for a judge or candidates', async () => {
    // The rule the test above made is in the cache: a plain request is a hit, with no provider call.
    const asked = fake.requests.length;
    const plain = await post({ cveId: 'CVE-2021-44228' });
    expect(plain.status).toBe(200);
    expect(plain.body.cache).toBe('hit');
    expect(fake.requests.length).toBe(asked);
    // Asking for a judge without `force` still generates (and is judged).
    fake.script('openai', { json: { rationale: 'the lookup, decoded', statement: GOOD } });
    fake.script('anthropic', { json: { bypasses: [], legitimate: [] } });
    const judged = await post({ cveId: 'CVE-2021-44228', options: { judge: 'anthropic', maxAttempts: 1 } });
    expect(judged.status, JSON.stringify(judged.body)).toBe(200);
    expect(judged.body.cache).toBe('bypass');
    expect(fake.requests.length).toBe(asked + 2);
    expect((judged.body.report as { judge: { outcome: string } }).judge.outcome).toBe('upheld');
  }, 120_000);

  it('out-of-bounds values are refused before any generation', async () => {
    const asked = fake.requests.length;
    for (const options of [
      { candidates: 9 },
      { candidates: 0 },
      { judge: 'not a spec!' },
      { llmBatch: 20 },
    ]) {
      const r = await post({ cveId: 'CVE-2021-44228', options });
      expect(r.status, JSON.stringify(options)).toBe(400);
    }
    // A judge on a provider outside the chain is bad input too.
    const outside = await post({ cveId: 'CVE-2021-44228', options: { judge: 'google', force: true } });
    expect(outside.status).toBe(400);
    expect(fake.requests.length).toBe(asked);
  }, 60_000);
});
