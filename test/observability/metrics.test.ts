// Metrics: what one generation records, the LLM and queue hooks, and the exposition format.
import { describe, expect, it } from 'vitest';

import { createMetrics, LATENCY_BUCKETS } from '../../src/observability/metrics.js';
import { checkRule } from '../../src/generation/checks.js';
import { reasonCodes } from '../../src/observability/report.js';
import { buildRequest } from '../../src/requests/model.js';
import { byteMatch, field, rule } from '../support/rules.js';
import { sampleReport } from '../audit/support.js';
import { parseExposition, value } from './support.js';

describe('metrics', () => {
  it('records a generation: outcome, latency, attempts, tokens, cost and failure reasons', async () => {
    const m = createMetrics();
    m.recordGeneration(sampleReport());
    m.recordGeneration(
      sampleReport({
        passed: false,
        attempts: 3,
        durationMs: 42_000,
        usage: { inputTokens: 6000, outputTokens: 900 },
        costUsd: 0.12,
        reasons: ['blocks 1 benign request(s): b1', 'blocks 3 of 40 evasion variants (needs 90%)'],
        reasonCodes: ['false-positive', 'variants-missed'],
      }),
    );
    m.recordGeneration(
      sampleReport({
        engine: 'builtin',
        producedBy: 'builtin',
        provider: undefined,
        model: undefined,
        usage: { inputTokens: 0, outputTokens: 0 },
        costUsd: 0,
      }),
    );
    m.recordGenerationError({ engine: 'llm', provider: 'anthropic', latencyMs: 2500 });
    const s = parseExposition(await m.scrape());

    expect(
      value(s, 'wafgen_generations_total', { outcome: 'success', engine: 'llm', provider: 'openai' }),
    ).toBe(1);
    expect(
      value(s, 'wafgen_generations_total', { outcome: 'failed', engine: 'llm', provider: 'openai' }),
    ).toBe(1);
    expect(
      value(s, 'wafgen_generations_total', { outcome: 'success', engine: 'builtin', provider: 'none' }),
    ).toBe(1);
    expect(
      value(s, 'wafgen_generations_total', { outcome: 'error', engine: 'llm', provider: 'anthropic' }),
    ).toBe(1);

    expect(LATENCY_BUCKETS).toContain(30);
    expect(LATENCY_BUCKETS.at(-1)).toBe(60);
    expect(value(s, 'wafgen_generation_duration_seconds_bucket', { engine: 'llm', le: '30' })).toBe(2);
    expect(value(s, 'wafgen_generation_duration_seconds_bucket', { engine: 'llm', le: '60' })).toBe(3);
    expect(value(s, 'wafgen_generation_duration_seconds_count', { engine: 'llm' })).toBe(3);
    expect(value(s, 'wafgen_generation_duration_seconds_sum', { engine: 'llm' })).toBeCloseTo(8.2 + 42 + 2.5);

    expect(value(s, 'wafgen_generation_attempts_bucket', { engine: 'llm', le: '2' })).toBe(1);
    expect(value(s, 'wafgen_generation_attempts_sum', { engine: 'llm' })).toBe(5);
    expect(value(s, 'wafgen_generation_tokens_sum', { engine: 'llm', direction: 'total' })).toBe(2220 + 6900);
    expect(
      value(s, 'wafgen_generation_tokens_bucket', { engine: 'llm', direction: 'total', le: '5000' }),
    ).toBe(1);
    expect(value(s, 'wafgen_generation_tokens_sum', { engine: 'llm', direction: 'input' })).toBe(7800);
    expect(value(s, 'wafgen_generation_cost_usd_bucket', { engine: 'llm', le: '0.1' })).toBe(1);
    expect(value(s, 'wafgen_generation_cost_usd_sum', { engine: 'llm' })).toBeCloseTo(0.12129);
    expect(value(s, 'wafgen_validation_failures_total', { reason: 'false-positive' })).toBe(1);
    expect(value(s, 'wafgen_validation_failures_total', { reason: 'variants-missed' })).toBe(1);
  });

  it('counts LLM attempts, tokens, cost, failovers and breaker state from the LLM layer’s hooks', async () => {
    const m = createMetrics();
    const hooks = m.llmHooks();
    const attempts = [
      { provider: 'openai', model: 'gpt-5-mini', ok: false, kind: 'server', ms: 10 },
      { provider: 'openai', model: 'gpt-5-mini', ok: false, kind: 'server', ms: 10 },
      {
        provider: 'anthropic',
        model: 'claude-haiku-4-5',
        ok: true,
        ms: 900,
        usage: { inputTokens: 1000, outputTokens: 200 },
        costUsd: 0.002,
      },
    ];
    for (const a of attempts) hooks.onAttempt(a);
    m.recordLlmCall(attempts);
    hooks.onBreakerStateChange('openai', 'open');
    hooks.onBreakerStateChange('anthropic', 'closed');
    m.setBreakerState('google', 'half-open');
    const s = parseExposition(await m.scrape());
    expect(value(s, 'wafgen_llm_attempts_total', { provider: 'openai', result: 'server' })).toBe(2);
    expect(value(s, 'wafgen_llm_attempts_total', { provider: 'anthropic', result: 'ok' })).toBe(1);
    expect(value(s, 'wafgen_llm_failovers_total', { from: 'openai', to: 'anthropic' })).toBe(1);
    expect(value(s, 'wafgen_llm_tokens_total', { provider: 'anthropic', direction: 'output' })).toBe(200);
    expect(value(s, 'wafgen_llm_cost_usd_total', { provider: 'anthropic' })).toBeCloseTo(0.002);
    expect(value(s, 'wafgen_llm_breaker_state', { provider: 'openai' })).toBe(2);
    expect(value(s, 'wafgen_llm_breaker_state', { provider: 'google' })).toBe(1);
    expect(value(s, 'wafgen_llm_breaker_state', { provider: 'anthropic' })).toBe(0);
  });

  it("tells the stages' tokens and cost apart (generate by default; extract, judge; nothing else)", async () => {
    const m = createMetrics();
    const hooks = m.llmHooks();
    const billed = { provider: 'openai', model: 'gpt-4.1', ok: true, ms: 5, costUsd: 0.01 };
    hooks.onAttempt({ ...billed, usage: { inputTokens: 100, outputTokens: 10 } });
    hooks.onAttempt({ ...billed, stage: 'extract', usage: { inputTokens: 200, outputTokens: 20 } });
    hooks.onAttempt({ ...billed, stage: 'judge', usage: { inputTokens: 300, outputTokens: 30 } });
    hooks.onAttempt({ ...billed, stage: 'x"}\nevil', usage: { inputTokens: 400, outputTokens: 40 } });
    const s = parseExposition(await m.scrape());
    const tokens = (stage: string) => value(s, 'wafgen_llm_tokens_total', { direction: 'input', stage });
    expect([tokens('generate'), tokens('extract'), tokens('judge')]).toEqual([500, 200, 300]);
    expect(value(s, 'wafgen_llm_cost_usd_total', { stage: 'extract' })).toBeCloseTo(0.01);
    expect(s.filter((x) => x.name === 'wafgen_llm_tokens_total').map((x) => x.labels.stage)).not.toContain(
      'x"}\nevil',
    );
  });

  it('counts calls by outcome, request latency, fallbacks, and starts the chain’s breakers closed', async () => {
    const m = createMetrics();
    m.setBreakerState('openai', 'open');
    const hooks = m.llmHooks(['openai', 'openai-compatible:vllm']);
    hooks.onAttempt({ provider: 'openai', model: 'gpt-4.1', ok: true, ms: 1500 });
    // Skipped without a request: no latency.
    hooks.onAttempt({ provider: 'openai', model: 'gpt-4.1', ok: false, kind: 'circuit-open', ms: 0 });
    hooks.onCall([{ provider: 'openai-compatible:vllm' }, { provider: 'openai' }], 'ok');
    hooks.onCall([], 'budget');
    m.recordGeneration({
      cveId: 'CVE-2021-44228',
      passed: true,
      attempts: 1,
      engine: 'builtin',
      producedBy: 'builtin',
      fallback: 'every LLM provider failed: openai (server 500)',
      usage: { inputTokens: 0, outputTokens: 0 },
      costUsd: 0,
      durationMs: 10,
      reasons: [],
    });
    const s = parseExposition(await m.scrape());
    expect(value(s, 'wafgen_llm_calls_total', { outcome: 'ok' })).toBe(1);
    expect(value(s, 'wafgen_llm_calls_total', { outcome: 'budget' })).toBe(1);
    expect(value(s, 'wafgen_llm_failovers_total', { from: 'openai-compatible:vllm', to: 'openai' })).toBe(1);
    expect(value(s, 'wafgen_llm_request_duration_seconds_count', { provider: 'openai', result: 'ok' })).toBe(
      1,
    );
    expect(value(s, 'wafgen_llm_request_duration_seconds_sum', { provider: 'openai', result: 'ok' })).toBe(
      1.5,
    );
    expect(value(s, 'wafgen_llm_request_duration_seconds_count', { result: 'circuit-open' })).toBeUndefined();
    expect(value(s, 'wafgen_llm_fallbacks_total', { reason: 'providers' })).toBe(1);
    // A breaker already reported keeps its state; a new one starts at 0.
    expect(value(s, 'wafgen_llm_breaker_state', { provider: 'openai' })).toBe(2);
    expect(value(s, 'wafgen_llm_breaker_state', { provider: 'openai-compatible:vllm' })).toBe(0);
  });

  it('asks the queue probe at scrape time, and survives a failing one', async () => {
    const m = createMetrics();
    let calls = 0;
    m.setQueueProbe(async () => {
      calls++;
      return [{ queue: 'generate', depth: 7, oldestAgeSeconds: 12.5 }];
    });
    let s = parseExposition(await m.scrape());
    expect(value(s, 'wafgen_queue_depth', { queue: 'generate' })).toBe(7);
    expect(value(s, 'wafgen_queue_oldest_job_age_seconds', { queue: 'generate' })).toBe(12.5);
    expect(calls).toBe(1); // one probe call serves both gauges
    m.setQueueProbe(() => {
      throw new Error('redis down');
    });
    s = parseExposition(await m.scrape());
    expect(value(s, 'wafgen_queue_depth', { queue: 'generate' })).toBeUndefined();
  });

  it('cache, rate limiting, audit delivery and its spool', async () => {
    const m = createMetrics({ defaultLabels: { service: 'api' } });
    m.recordCache('hit');
    m.recordCache('hit');
    m.recordCache('miss');
    m.recordRateLimitRejection('api-key');
    m.recordAuditDelivery('splunk', 'delivered', 10);
    m.recordAuditDelivery('splunk', 'retry', 10);
    m.setAuditProbe(() => [{ sink: 'splunk', pending: 4 }]);
    const s = parseExposition(await m.scrape());
    expect(value(s, 'wafgen_cache_requests_total', { cache: 'rules', result: 'hit' })).toBe(2);
    expect(value(s, 'wafgen_cache_requests_total', { result: 'miss', service: 'api' })).toBe(1);
    expect(value(s, 'wafgen_rate_limit_rejections_total', { scope: 'api-key' })).toBe(1);
    expect(value(s, 'wafgen_audit_events_total', { sink: 'splunk', outcome: 'delivered' })).toBe(10);
    expect(value(s, 'wafgen_audit_spool_pending', { sink: 'splunk' })).toBe(4);
    expect(m.contentType).toMatch(/^text\/plain/);
  });

  it('counts cache look-ups between scrapes, and a reset drops them', async () => {
    const m = createMetrics();
    const read = async (result: string) =>
      value(parseExposition(await m.scrape()), 'wafgen_cache_requests_total', { cache: 'rules', result });
    for (let i = 0; i < 3; i++) m.recordCache('hit');
    expect(await read('hit')).toBe(3);
    // Counted again after a scrape: the counter keeps growing.
    m.recordCache('hit');
    m.recordCache('miss');
    expect(await read('hit')).toBe(4);
    expect(await read('miss')).toBe(1);
    m.recordCache('hit', 'other');
    expect(value(parseExposition(await m.scrape()), 'wafgen_cache_requests_total', { cache: 'other' })).toBe(
      1,
    );
    // A reset drops what was read and what was counted since.
    m.recordCache('hit');
    m.registry.resetMetrics();
    expect(await read('hit')).toBeUndefined();
    m.recordCache('miss');
    expect(await read('miss')).toBe(1);
    expect(await read('hit')).toBeUndefined();
  });

  it('two registries do not collide (no global state)', async () => {
    const a = createMetrics();
    const b = createMetrics({ processMetrics: true });
    a.recordCache('hit');
    expect(
      value(parseExposition(await b.scrape()), 'wafgen_cache_requests_total', { result: 'hit' }),
    ).toBeUndefined();
    expect(await b.scrape()).toMatch(/^wafgen_process_cpu_seconds_total/m);
  });
});

describe('reason codes', () => {
  const req = (id: string, uri: string) => buildRequest({ id, method: 'GET', uri, headers: [['Host', 'a']] });
  const ctx = {
    cveId: 'CVE-2021-44228',
    exploits: [req('exploit-1', '/?x=${jndi:ldap://e/a}'), req('exploit-2', '/?x=%24%7B%6Andi')],
    variants: [],
    benign: [req('benign-1', '/search?q=jndi'), req('benign-2', '/')],
    wcuBudget: 500,
    minVariantRate: 0.9,
  };

  it('come from the checks, one per reason, in the same order', () => {
    // Matches "jndi" in the raw query: misses the encoded exploit and blocks a benign search.
    const checks = checkRule(rule(byteMatch('jndi', field.query())), ctx);
    expect(checks.passed).toBe(false);
    expect(checks.reasonCodes).toEqual(['exploit-missed', 'false-positive']);
    expect(checks.reasons).toHaveLength(2);
    const over = checkRule(rule(byteMatch('jndi', field.query())), { ...ctx, wcuBudget: 1 });
    expect(over.reasonCodes).toContain('wcu-over-budget');
    const invalid = checkRule({ Name: 'x' } as never, ctx);
    expect(invalid.reasonCodes).toEqual(['invalid-rule']);
  });

  it('are read from the report, never from its wording', () => {
    const failed = {
      passed: false,
      reasons: ['reworded entirely'],
      reasonCodes: ['false-positive' as const],
    };
    expect(reasonCodes(failed)).toEqual(['false-positive']);
    expect(reasonCodes({ ...failed, passed: true })).toEqual([]);
    // A report stored before reports carried codes: its wording is not parsed.
    expect(reasonCodes({ passed: false })).toEqual(['other']);
    expect(reasonCodes({ passed: false, reasonCodes: ['not-a-code' as never] })).toEqual(['other']);
  });
});
