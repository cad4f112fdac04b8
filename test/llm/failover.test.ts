// Failover across providers, retries, timeouts and circuit breakers, against the fake over HTTP.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import {
  AllProvidersFailed,
  createLlmClient,
  loadLlmConfig,
  type AttemptRecord,
  type BreakerState,
} from '../../src/llm/index.js';
import { startFakeLlm, type FakeLlm } from '../support/fake-llm/server.js';
import { ASK, fakeEnv, KEYS, VERDICT } from './helpers.js';

let fake: FakeLlm;
beforeAll(async () => {
  fake = await startFakeLlm();
});
afterAll(() => fake.close());
beforeEach(() => fake.reset());

const client = (extra: Record<string, string> = {}, deps = {}) =>
  createLlmClient(loadLlmConfig(fakeEnv(fake, extra)), deps);
const order = () => fake.requests.map((r) => r.provider);
const brief = (a: AttemptRecord[]) =>
  a.map((x) => `${x.provider}:${x.ok ? 'ok' : `${x.kind}${x.status ?? ''}`}`);

async function timed<T>(p: Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const v = await p;
  return [v, performance.now() - t0];
}

async function failure(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected the call to fail');
}

describe('failover', () => {
  it('walks openai → anthropic → google on 500s and reports every attempt', async () => {
    fake.script('openai', { status: 500 });
    fake.script('anthropic', { status: 529, message: 'Overloaded' });
    fake.script('google', { json: VERDICT });
    const r = await client().generateObject(ASK);
    expect(r.object).toEqual(VERDICT);
    expect(r.provider).toBe('google');
    expect(order()).toEqual(['openai', 'anthropic', 'google']);
    expect(brief(r.attempts)).toEqual(['openai:server500', 'anthropic:server529', 'google:ok']);
    expect(r.attempts.every((a) => a.ms >= 0 && a.model)).toBe(true);
  });

  it("every attempt carries the call's stage, to the hooks as well (generate unless asked)", async () => {
    fake.script('openai', { status: 500 }, { json: VERDICT }, { json: VERDICT });
    fake.script('anthropic', { json: VERDICT });
    const seen: AttemptRecord[] = [];
    const c = client({}, { onAttempt: (a: AttemptRecord) => seen.push(a) });
    const judged = await c.generateObject({ ...ASK, stage: 'judge' });
    expect(judged.attempts.map((a) => a.stage)).toEqual(['judge', 'judge']);
    await c.generateObject(ASK);
    expect(seen.map((a) => `${a.provider}:${a.stage}`)).toEqual([
      'openai:judge',
      'anthropic:judge',
      'openai:generate',
    ]);
  });

  it('retries 5xx with backoff before moving on', async () => {
    fake.script('openai', { status: 502 }, { status: 503 }, { status: 500 });
    fake.script('anthropic', { json: VERDICT });
    const r = await client({ WAFGEN_LLM_RETRIES: '2' }).generateObject(ASK);
    expect(r.provider).toBe('anthropic');
    expect(brief(r.attempts)).toEqual([
      'openai:server502',
      'openai:server503',
      'openai:server500',
      'anthropic:ok',
    ]);
  });

  it('a 5xx then success on the same provider stays on it', async () => {
    fake.script('openai', { status: 500 }, { json: VERDICT });
    const r = await client({ WAFGEN_LLM_RETRIES: '1' }).generateObject(ASK);
    expect(r.provider).toBe('openai');
    expect(fake.requestsFor('anthropic')).toHaveLength(0);
  });

  it('429 with Retry-After is retried after the wait, then succeeds', async () => {
    fake.script('openai', { status: 429, retryAfter: 1 }, { json: VERDICT });
    const [r, ms] = await timed(client({ WAFGEN_LLM_RETRIES: '2' }).generateObject(ASK));
    expect(r.provider).toBe('openai');
    expect(brief(r.attempts)).toEqual(['openai:rate-limited429', 'openai:ok']);
    // It waited the Retry-After (a lower bound: a slow machine cannot make it fail).
    expect(ms).toBeGreaterThanOrEqual(950);
  });

  it("429 with OpenAI's retry-after-ms waits that long", async () => {
    fake.script('openai', { status: 429, retryAfterMs: 300 }, { json: VERDICT });
    const [r, ms] = await timed(client({ WAFGEN_LLM_RETRIES: '1' }).generateObject(ASK));
    expect(r.provider).toBe('openai');
    expect(ms).toBeGreaterThanOrEqual(280);
  });

  it('a Retry-After beyond the cap moves on at once instead of waiting', async () => {
    fake.script('openai', { status: 429, retryAfter: 120 });
    fake.script('anthropic', { json: VERDICT });
    const r = await client({ WAFGEN_LLM_RETRIES: '3', WAFGEN_LLM_RETRY_AFTER_MAX_MS: '2000' }).generateObject(
      ASK,
    );
    expect(r.provider).toBe('anthropic');
    // Moved on without sleeping the 120 s it was asked to (one request, the next provider answered).
    expect(fake.requestsFor('openai')).toHaveLength(1);
  });

  it('a timeout moves on to the next provider', async () => {
    fake.script('openai', { delayMs: 5000 });
    fake.script('anthropic', { json: VERDICT });
    const r = await client({ WAFGEN_LLM_TIMEOUT_MS: '200' }).generateObject(ASK);
    expect(r.provider).toBe('anthropic');
    expect(r.attempts[0]).toMatchObject({ provider: 'openai', ok: false, kind: 'timeout' });
    expect(r.attempts[0]!.ms).toBeGreaterThanOrEqual(190);
  });

  it('the timeout covers a body that trickles in after quick headers', async () => {
    fake.script('openai', { stream: Array.from({ length: 10 }, () => 'x'), chunkDelayMs: 150 });
    fake.script('anthropic', { json: VERDICT });
    const r = await client({ WAFGEN_LLM_TIMEOUT_MS: '300' }).generateObject(ASK);
    expect(r.provider).toBe('anthropic');
    // A timeout, not the invalid answer the complete trickled body (10 × 150 ms) would have been.
    expect(r.attempts[0]?.kind).toBe('timeout');
  });

  it('timeouts are transient: retried on the same provider', async () => {
    fake.script('openai', { delayMs: 5000 }, { json: VERDICT });
    const r = await client({ WAFGEN_LLM_TIMEOUT_MS: '150', WAFGEN_LLM_RETRIES: '1' }).generateObject(ASK);
    expect(brief(r.attempts)).toEqual(['openai:timeout', 'openai:ok']);
  });

  it('a dropped connection is a network error, retried', async () => {
    fake.script('openai', { drop: true }, { json: VERDICT });
    const r = await client({ WAFGEN_LLM_RETRIES: '1' }).generateObject(ASK);
    expect(brief(r.attempts)).toEqual(['openai:network', 'openai:ok']);
  });

  it('400 is not retried: straight to the next provider', async () => {
    fake.script('openai', { status: 400, message: 'Invalid schema for response_format' });
    fake.script('anthropic', { json: VERDICT });
    const r = await client({ WAFGEN_LLM_RETRIES: '3' }).generateObject(ASK);
    expect(fake.requestsFor('openai')).toHaveLength(1);
    expect(brief(r.attempts)).toEqual(['openai:bad-request400', 'anthropic:ok']);
    expect(r.attempts[0]?.error).toContain('Invalid schema');
  });

  it('401 is not retried, and a key echoed by the provider never reaches the attempt', async () => {
    fake.script('openai', { status: 401, message: `Incorrect API key provided: ${KEYS.OPENAI_API_KEY}.` });
    fake.script('anthropic', { json: VERDICT });
    const r = await client({ WAFGEN_LLM_RETRIES: '3' }).generateObject(ASK);
    expect(fake.requestsFor('openai')).toHaveLength(1);
    expect(r.attempts[0]).toMatchObject({ kind: 'auth', status: 401 });
    expect(r.attempts[0]?.error).toContain('[redacted]');
    expect(JSON.stringify(r)).not.toContain(KEYS.OPENAI_API_KEY);
  });

  it('honours a per-call provider order', async () => {
    fake.script('google', { status: 500 });
    fake.script('openai', { json: VERDICT });
    const r = await client().generateObject({ ...ASK, providers: ['google', 'openai'] });
    expect(order()).toEqual(['google', 'openai']);
    expect(r.provider).toBe('openai');
    await expect(client().generateObject({ ...ASK, providers: ['bedrock'] })).rejects.toThrow(
      /not configured/,
    );
  });

  it('stops at once when the caller aborts', async () => {
    fake.script('openai', { delayMs: 5000 });
    const ctrl = new AbortController();
    setTimeout(() => ctrl.abort(), 100);
    // The caller's AbortError, not the slow provider's answer or a failover.
    const err = await failure(client().generateObject({ ...ASK, abortSignal: ctrl.signal }));
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).name).toBe('AbortError');
    expect(err).not.toBeInstanceOf(AllProvidersFailed);
    expect(order()).toEqual(['openai']);
  });
});

describe('AllProvidersFailed', () => {
  it('carries every attempt when the whole chain fails', async () => {
    fake.script('openai', { status: 500 }, { status: 500 });
    fake.script('anthropic', { status: 400 });
    fake.script('google', { delayMs: 5000 }, { status: 503 });
    const seen: AttemptRecord[] = [];
    const c = client(
      { WAFGEN_LLM_RETRIES: '1', WAFGEN_LLM_TIMEOUT_MS: '150' },
      { onAttempt: (a: AttemptRecord) => seen.push(a) },
    );
    const err = await failure(c.generateObject(ASK));
    expect(err).toBeInstanceOf(AllProvidersFailed);
    const attempts = (err as AllProvidersFailed).attempts;
    expect(brief(attempts)).toEqual([
      'openai:server500',
      'openai:server500',
      'anthropic:bad-request400',
      'google:timeout',
      'google:server503',
    ]);
    expect(attempts.every((a) => !a.ok && a.error)).toBe(true);
    expect(seen).toEqual(attempts);
    expect((err as Error).message).toBe(
      'every LLM provider failed: openai (server 500, server 500); anthropic (bad-request 400); google (timeout, server 503)',
    );
  });

  it('is thrown with no attempts when no provider is configured', async () => {
    const c = createLlmClient(loadLlmConfig({}));
    expect(c.providers).toEqual([]);
    const err = await failure(c.generateObject(ASK));
    expect(err).toBeInstanceOf(AllProvidersFailed);
    expect((err as AllProvidersFailed).attempts).toEqual([]);
    expect((err as Error).message).toBe('no LLM provider is configured');
  });
});

describe('circuit breaker per provider', () => {
  const env = {
    WAFGEN_LLM_PROVIDERS: 'openai,anthropic',
    WAFGEN_LLM_BREAKER_THRESHOLD: '2',
    WAFGEN_LLM_BREAKER_COOLDOWN_MS: '300',
  };

  it('opens after N consecutive failures, skips without HTTP, half-opens after the cool-down, closes on success', async () => {
    const changes: [string, BreakerState][] = [];
    const c = client(env, { onBreakerStateChange: (p: string, s: BreakerState) => changes.push([p, s]) });
    expect(c.breakerStates()).toEqual({ openai: 'closed', anthropic: 'closed' });

    fake.script('openai', { status: 500 }, { status: 500 });
    fake.script('anthropic', { json: VERDICT }, { json: VERDICT }, { json: VERDICT });
    await c.generateObject(ASK);
    expect(c.breakerStates().openai).toBe('closed');
    await c.generateObject(ASK);
    expect(c.breakerStates()).toEqual({ openai: 'open', anthropic: 'closed' });

    // Open: openai is skipped instantly, the fake hears nothing from it.
    const before = fake.requestsFor('openai').length;
    const r = await c.generateObject(ASK);
    expect(fake.requestsFor('openai')).toHaveLength(before);
    expect(r.attempts[0]).toMatchObject({ provider: 'openai', ok: false, kind: 'circuit-open', ms: 0 });
    expect(r.provider).toBe('anthropic');

    // After the cool-down one probe goes through; success closes the breaker.
    await new Promise((res) => setTimeout(res, 350));
    expect(c.breakerStates().openai).toBe('half-open');
    fake.script('openai', { json: VERDICT });
    const probe = await c.generateObject(ASK);
    expect(probe.provider).toBe('openai');
    expect(c.breakerStates().openai).toBe('closed');
    expect(changes).toEqual([
      ['openai', 'open'],
      ['openai', 'half-open'],
      ['openai', 'closed'],
    ]);
  });

  it('a failed probe reopens the breaker for another cool-down', async () => {
    const c = client(env);
    fake.script('openai', { status: 500 }, { status: 500 }, { status: 500 });
    fake.script('anthropic', { json: VERDICT }, { json: VERDICT }, { json: VERDICT }, { json: VERDICT });
    await c.generateObject(ASK);
    await c.generateObject(ASK);
    expect(c.breakerStates().openai).toBe('open');
    await new Promise((res) => setTimeout(res, 350));
    const probe = await c.generateObject(ASK);
    expect(brief(probe.attempts)).toEqual(['openai:server500', 'anthropic:ok']);
    expect(c.breakerStates().openai).toBe('open');
    const skipped = await c.generateObject(ASK);
    expect(skipped.attempts[0]?.kind).toBe('circuit-open');
    expect(fake.requestsFor('openai')).toHaveLength(3);
  });

  it('counts each failed HTTP attempt, so retries can open it mid-call', async () => {
    const c = client({ ...env, WAFGEN_LLM_RETRIES: '5' });
    fake.script('openai', { status: 500 }, { status: 500 }, { status: 500 });
    fake.script('anthropic', { json: VERDICT });
    const r = await c.generateObject(ASK);
    expect(brief(r.attempts)).toEqual([
      'openai:server500',
      'openai:server500',
      'openai:circuit-open',
      'anthropic:ok',
    ]);
    expect(fake.requestsFor('openai')).toHaveLength(2);
  });

  it('400s and invalid output say nothing about provider health: the breaker stays closed', async () => {
    const c = client(env);
    fake.script('openai', { status: 400 }, { text: 'not json' }, { status: 422 });
    fake.script('anthropic', { json: VERDICT }, { json: VERDICT }, { json: VERDICT });
    for (let i = 0; i < 3; i++) await c.generateObject(ASK);
    expect(c.breakerStates().openai).toBe('closed');
  });
});
