// The service built the way `wafgen serve` builds it (createRuntime, a real HTTP server), with an LLM
// chain on the local fake provider servers: issue 15, items 5 and 6.
//
// Item 5: after real generations (a failover from a failing first endpoint, a breaker that opens,
// then every provider down), GET /metrics carries every series that ops/ (alert rules and
// dashboards) names, and the LLM ones are non-zero: calls, attempts, tokens, cost, latency,
// failovers, breaker state, fallbacks.
//
// Item 6: with every provider down, the built-in engine's rule is labelled engine=builtin and
// degraded, cached apart under its own key with a short TTL (so a second caller gets it without
// asking the providers again), and replaced by the LLM's rule once a provider answers.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import { DEGRADED_TTL_MS, degradedKey } from '../../src/app/degraded.js';
import { generateRule } from '../../src/index.js';
import { ruleCacheKey } from '../../src/kv/index.js';
import { startFakeLlm, type FakeLlm } from '../support/fake-llm/server.js';
import { opsSeries, parseExposition } from '../observability/support.js';
import { baseEnv, startApi, token, type TestApi } from '../service/support.js';

let primary: FakeLlm;
let fake: FakeLlm;
let api: TestApi;
let auth: string;
const ttls = new Map<string, number>();

/** The answer a good model gives: the statement the built-in engine proves for the CVE. */
async function answerFor(cveId: string) {
  const { rule } = await generateRule(cveId);
  return {
    json: { rationale: 'Match the technique, decoded, where it travels.', statement: rule.Statement },
  };
}

beforeAll(async () => {
  [primary, fake] = await Promise.all([startFakeLlm(), startFakeLlm()]);
  api = await startApi(
    baseEnv({
      WAFGEN_OFFLINE: '0',
      // Online for the LLM; no real reference page fetched.
      WAFGEN_FETCH_REFERENCES: '0',
      WAFGEN_HTTP_TIMEOUT_MS: '1000',
      // A local server first (item 7), then OpenAI (priced, so cost is non-zero).
      WAFGEN_LLM_PROVIDERS: 'openai-compatible:primary,openai',
      WAFGEN_OPENAI_COMPATIBLE_PRIMARY_URL: primary.baseURL('openai-compatible'),
      WAFGEN_OPENAI_COMPATIBLE_PRIMARY_MODEL: 'qwen2.5-coder',
      OPENAI_API_KEY: 'sk-test-not-a-real-key-0123',
      OPENAI_BASE_URL: fake.baseURL('openai'),
      WAFGEN_LLM_RETRIES: '0',
      WAFGEN_LLM_TIMEOUT_MS: '10000',
      // The first endpoint's breaker opens at its second failure; OpenAI fails once, stays closed.
      WAFGEN_LLM_BREAKER_THRESHOLD: '2',
      WAFGEN_LLM_BREAKER_COOLDOWN_MS: '600000',
    }),
    { inProcessWorker: false },
  );
  const kv = api.runtime.service.kv;
  const set = kv.set.bind(kv);
  vi.spyOn(kv, 'set').mockImplementation(async (key, value, ttlMs) => {
    ttls.set(key, ttlMs);
    return set(key, value, ttlMs);
  });
  auth = await token();
}, 120_000);

afterAll(async () => {
  await api?.close();
  await Promise.all([primary?.close(), fake?.close()]);
});

async function generate(cveId: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${api.url}/v1/rules/generate`, {
    method: 'POST',
    headers: { authorization: `Bearer ${auth}`, 'content-type': 'application/json' },
    body: JSON.stringify({ cveId }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

describe('wafgen serve with an LLM chain', () => {
  it('an LLM rule after a failover: the first endpoint fails, its breaker opens, OpenAI answers', async () => {
    primary.script('openai-compatible', { status: 503, message: 'overloaded' });
    fake.script('openai', {
      ...(await answerFor('CVE-2021-44228')),
      usage: { inputTokens: 2900, outputTokens: 380 },
    });
    const r = await generate('CVE-2021-44228');
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.engine).toMatch(/^llm-[0-9a-f]{10}@/);
    expect(r.body.report).toMatchObject({ engine: 'llm', producedBy: 'llm', provider: 'openai' });
    expect(r.body.report).not.toHaveProperty('degraded');
  }, 120_000);

  it('every provider down: a degraded built-in rule, cached apart for a short time', async () => {
    primary.script('openai-compatible', { status: 503, message: 'overloaded' });
    fake.script('openai', { status: 500 });
    const first = await generate('CVE-2022-22965');
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body.engine).toMatch(/^builtin@/);
    expect(first.body.report).toMatchObject({ engine: 'builtin', producedBy: 'builtin', degraded: true });
    expect((first.body.report as { fallback: string }).fallback).toMatch(/every LLM provider failed/);
    // Not under the LLM engine's key; under its own, for minutes instead of the cache's day.
    const key = ruleCacheKey('CVE-2022-22965', api.runtime.service.engineVersion);
    expect(ttls.has(key)).toBe(false);
    expect(ttls.get(degradedKey(key))).toBe(DEGRADED_TTL_MS);
    expect(DEGRADED_TTL_MS).toBeLessThan(api.runtime.serviceConfig.settings.cacheTtlS * 1000);

    // Within that time a second caller gets it from the cache, and no provider is asked.
    const asked = fake.requests.length + primary.requests.length;
    const second = await generate('CVE-2022-22965');
    expect(second.body).toMatchObject({ cache: 'hit', engine: first.body.engine });
    expect(fake.requests.length + primary.requests.length).toBe(asked);
  }, 120_000);

  it('once the degraded entry expires and a provider answers, the LLM rule replaces it', async () => {
    const key = ruleCacheKey('CVE-2022-22965', api.runtime.service.engineVersion);
    // Its time is up (what the TTL does by itself after DEGRADED_TTL_MS).
    await api.runtime.service.kv.delete(degradedKey(key));
    fake.script('openai', await answerFor('CVE-2022-22965'));
    const r = await generate('CVE-2022-22965');
    expect(r.body).toMatchObject({ cache: 'miss', engine: api.runtime.service.engineVersion });
    expect(r.body.report).toMatchObject({ engine: 'llm', producedBy: 'llm', provider: 'openai' });
    expect(ttls.get(key)).toBe(api.runtime.serviceConfig.settings.cacheTtlS * 1000);
    expect(await api.runtime.service.kv.get(degradedKey(key))).toBeUndefined();
    const again = await generate('CVE-2022-22965');
    expect(again.body).toMatchObject({ cache: 'hit', engine: api.runtime.service.engineVersion });
  }, 120_000);

  it('queue mode: a job that ended with a degraded rule runs again when its CVE is enqueued again', async () => {
    const { jobs, store } = api.runtime.service;
    const enqueueAfter = async (cveId: string, result: Record<string, unknown>) => {
      const id = jobs.jobId(cveId);
      await store.jobs.create({ id, kind: 'generate', cveId, payload: { cveId, source: 'api' } });
      await store.jobs.update(id, { status: 'succeeded', result });
      return jobs.enqueue({ cveId, source: 'api' });
    };
    const base = { passed: true, verdict: 'proven', confidence: 'high', summary: 's', cached: false };
    const degraded = await enqueueAfter('CVE-2017-5638', {
      ...base,
      engine: 'builtin@0.1.0',
      degraded: true,
    });
    expect(degraded).toMatchObject({ created: true, status: 'queued' });
    const llm = await enqueueAfter('CVE-2019-11510', { ...base, engine: api.runtime.service.engineVersion });
    expect(llm).toMatchObject({ created: false, status: 'succeeded' });
  });

  it('GET /metrics has every series ops/ names, and the LLM ones are non-zero', async () => {
    const res = await fetch(`${api.url}/metrics`);
    expect(res.status).toBe(200);
    const samples = parseExposition(await res.text());
    const names = new Set(samples.map((s) => s.name.replace(/_(bucket|sum|count)$/, '')));
    const wanted = opsSeries();
    expect(wanted.length).toBeGreaterThan(10);
    // Counters of events this run had none of appear with their first event (a labelled counter
    // has no series before it); every other series must be there.
    const noEvent = new Set([
      'wafgen_rate_limit_rejections_total',
      'wafgen_validation_failures_total',
      'wafgen_audit_events_total',
    ]);
    const missing = wanted.filter((n) => !names.has(n) && !noEvent.has(n));
    expect(missing).toEqual([]);

    const total = (name: string, labels: Record<string, string> = {}) =>
      samples
        .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
        .reduce((a, s) => a + s.value, 0);
    // Generations: two LLM rules and one degraded built-in rule.
    expect(total('wafgen_generations_total', { engine: 'llm', provider: 'openai' })).toBe(2);
    expect(total('wafgen_generations_total', { engine: 'builtin', provider: 'none' })).toBe(1);
    expect(total('wafgen_generation_tokens_sum', { engine: 'llm', direction: 'total' })).toBeGreaterThan(0);
    expect(total('wafgen_generation_cost_usd_sum', { engine: 'llm' })).toBeGreaterThan(0);
    expect(total('wafgen_generation_duration_seconds_count')).toBe(3);
    expect(total('wafgen_generation_attempts_count')).toBe(3);
    // Every LLM call, by outcome; attempts by result; billed tokens and dollars; latency.
    expect(total('wafgen_llm_calls_total', { outcome: 'ok' })).toBe(2);
    expect(total('wafgen_llm_calls_total', { outcome: 'failed' })).toBeGreaterThanOrEqual(1);
    expect(
      total('wafgen_llm_attempts_total', { provider: 'openai-compatible:primary', result: 'server' }),
    ).toBe(2);
    expect(
      total('wafgen_llm_attempts_total', { provider: 'openai-compatible:primary', result: 'circuit-open' }),
    ).toBeGreaterThanOrEqual(1);
    expect(total('wafgen_llm_attempts_total', { provider: 'openai', result: 'ok' })).toBe(2);
    expect(
      total('wafgen_llm_tokens_total', { provider: 'openai', direction: 'input' }),
    ).toBeGreaterThanOrEqual(2900);
    expect(total('wafgen_llm_cost_usd_total', { provider: 'openai' })).toBeGreaterThan(0);
    expect(total('wafgen_llm_request_duration_seconds_count', { provider: 'openai' })).toBeGreaterThanOrEqual(
      2,
    );
    // Failovers from the first endpoint, its breaker open (2), OpenAI's closed (0).
    expect(
      total('wafgen_llm_failovers_total', { from: 'openai-compatible:primary', to: 'openai' }),
    ).toBeGreaterThanOrEqual(2);
    expect(total('wafgen_llm_breaker_state', { provider: 'openai-compatible:primary' })).toBe(2);
    expect(samples.some((s) => s.name === 'wafgen_llm_breaker_state' && s.labels.provider === 'openai')).toBe(
      true,
    );
    // The degraded rule: a fallback, counted with its reason.
    expect(total('wafgen_llm_fallbacks_total', { reason: 'providers' })).toBe(1);
    expect(total('wafgen_cache_requests_total', { result: 'hit' })).toBeGreaterThanOrEqual(2);
    // Coverage by severity, from the store: the bundled critical CVEs, none deployed yet.
    expect(total('wafgen_cves', { severity: 'critical' })).toBeGreaterThan(0);
    expect(total('wafgen_cves_protected', { severity: 'critical' })).toBe(0);
  });
});
