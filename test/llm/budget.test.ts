// Budgets refuse a call before any HTTP request; costs come from the price table.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import {
  Budget,
  BudgetExceeded,
  BUILTIN_PRICES,
  createLlmClient,
  estimateTokens,
  loadLlmConfig,
  priceFor,
} from '../../src/llm/index.js';
import { startFakeLlm, type FakeLlm } from '../support/fake-llm/server.js';
import { ASK, fakeEnv, VERDICT } from './helpers.js';

let fake: FakeLlm;
let priceFile: string;
beforeAll(async () => {
  fake = await startFakeLlm();
  priceFile = join(mkdtempSync(join(tmpdir(), 'wafgen-prices-')), 'prices.json');
  writeFileSync(priceFile, JSON.stringify({ 'fake-main': { input: 2, output: 8 } }));
});
afterAll(() => fake.close());
beforeEach(() => fake.reset());

const client = (extra: Record<string, string> = {}) => createLlmClient(loadLlmConfig(fakeEnv(fake, extra)));

async function refusal(p: Promise<unknown>): Promise<BudgetExceeded> {
  try {
    await p;
  } catch (e) {
    if (e instanceof BudgetExceeded) return e;
    throw e;
  }
  throw new Error('expected BudgetExceeded');
}

describe('refusal before the HTTP call', () => {
  it('refuses a prompt over the input-token budget; the fake receives nothing', async () => {
    fake.script('openai', { json: VERDICT });
    const c = client({ WAFGEN_MAX_INPUT_TOKENS: '200' });
    const err = await refusal(c.generateObject({ ...ASK, prompt: 'x'.repeat(2000) }));
    expect(err.limit).toBe('input-tokens');
    expect(err.requested).toBeGreaterThan(500);
    expect(err.message).toContain('WAFGEN_MAX_INPUT_TOKENS');
    expect(fake.requests).toHaveLength(0);
  });

  it('refuses a maxOutputTokens over the output-token budget', async () => {
    const c = client({ WAFGEN_MAX_OUTPUT_TOKENS: '1000' });
    const err = await refusal(c.generateObject({ ...ASK, maxOutputTokens: 1500 }));
    expect(err).toMatchObject({ limit: 'output-tokens', requested: 1500, remaining: 1000 });
    expect(fake.requests).toHaveLength(0);
  });

  it('refuses when the worst-case cost at every model price exceeds what is left', async () => {
    // gpt-4.1 at $8/M output: 4096 output tokens alone could cost $0.033.
    const c = client({ WAFGEN_MAX_COST_USD: '0.01' });
    const err = await refusal(c.generateObject({ ...ASK, maxOutputTokens: 4096 }));
    expect(err.limit).toBe('cost');
    expect(err.message).toMatch(/could cost \$0\.03/);
    expect(err.attempts.map((a) => `${a.provider}:${a.kind}`)).toEqual([
      'openai:budget',
      'anthropic:budget',
      'google:budget',
    ]);
    expect(fake.requests).toHaveLength(0);
  });

  it('skips a provider too dear for the budget and uses a cheaper one', async () => {
    fake.script('openai-compatible', { json: VERDICT });
    const c = client({ WAFGEN_LLM_PROVIDERS: 'openai,openai-compatible', WAFGEN_MAX_COST_USD: '0.01' });
    const r = await c.generateObject({ ...ASK, maxOutputTokens: 4096 });
    expect(r.provider).toBe('openai-compatible');
    expect(r.attempts[0]).toMatchObject({ provider: 'openai', kind: 'budget', ms: 0 });
    expect(fake.requestsFor('openai')).toHaveLength(0);
  });

  it('refuses a model with no known price while a cost cap is set, allows it with WAFGEN_MAX_COST_USD=none', async () => {
    const env = { WAFGEN_LLM_PROVIDERS: 'openai', WAFGEN_OPENAI_MODEL: 'gpt-unpriced' };
    const err = await refusal(client(env).generateObject(ASK));
    expect(err.message).toContain('no price known for openai/gpt-unpriced');
    expect(fake.requests).toHaveLength(0);

    fake.script('openai', { json: VERDICT });
    const r = await client({ ...env, WAFGEN_MAX_COST_USD: 'none' }).generateObject(ASK);
    expect(r.costUsd).toBe(0);
  });
});

describe('cost accounting', () => {
  it('computes cost from the price table (WAFGEN_PRICE_TABLE overrides)', async () => {
    fake.script('openai', { json: VERDICT, usage: { inputTokens: 1000, outputTokens: 500 } });
    const c = client({ WAFGEN_OPENAI_MODEL: 'fake-main', WAFGEN_PRICE_TABLE: priceFile });
    const budget = c.newBudget();
    const r = await c.generateObject({ ...ASK, budget });
    // (1000 × $2 + 500 × $8) / 1M
    expect(r.costUsd).toBeCloseTo(0.006, 10);
    expect(r.usage).toEqual({ inputTokens: 1000, outputTokens: 500 });
    expect(budget.spent).toEqual({ inputTokens: 1000, outputTokens: 500, costUsd: r.costUsd, calls: 1 });
  });

  it('prices with the built-in table by default', async () => {
    fake.script('anthropic', { json: VERDICT, usage: { inputTokens: 2000, outputTokens: 1000 } });
    const r = await client({ WAFGEN_LLM_PROVIDERS: 'anthropic' }).generateObject(ASK);
    // claude-sonnet-4-5: $3 in, $15 out per 1M
    expect(r.costUsd).toBeCloseTo((2000 * 3 + 1000 * 15) / 1e6, 10);
  });

  it('one budget spans the attempts of a rule and refuses once it is spent', async () => {
    const c = client({
      WAFGEN_LLM_PROVIDERS: 'openai',
      WAFGEN_OPENAI_MODEL: 'fake-main',
      WAFGEN_PRICE_TABLE: priceFile,
      WAFGEN_MAX_COST_USD: '0.02',
    });
    const budget = c.newBudget();
    const usage = { inputTokens: 1000, outputTokens: 1000 }; // $0.01 a call
    fake.script('openai', { json: VERDICT, usage }, { json: VERDICT, usage }, { json: VERDICT, usage });
    await c.generateObject({ ...ASK, budget, maxOutputTokens: 1000 });
    await c.generateObject({ ...ASK, budget, maxOutputTokens: 1000 });
    expect(budget.spent.costUsd).toBeCloseTo(0.02, 10);
    const err = await refusal(c.generateObject({ ...ASK, budget, maxOutputTokens: 1000 }));
    expect(err.limit).toBe('cost');
    expect(fake.requests).toHaveLength(2);
  });

  it('tokens billed for invalid output count against the budget', async () => {
    fake.script('openai', { text: 'Sorry, I cannot help', usage: { inputTokens: 300, outputTokens: 20 } });
    fake.script('anthropic', { json: VERDICT, usage: { inputTokens: 300, outputTokens: 40 } });
    const c = client({ WAFGEN_LLM_PROVIDERS: 'openai,anthropic' });
    const budget = c.newBudget();
    const r = await c.generateObject({ ...ASK, budget });
    expect(r.attempts[0]).toMatchObject({
      kind: 'invalid-output',
      usage: { inputTokens: 300, outputTokens: 20 },
    });
    expect(budget.spent).toMatchObject({ inputTokens: 600, outputTokens: 60, calls: 2 });
    expect(budget.spent.costUsd).toBeCloseTo((300 * 2 + 20 * 8 + 300 * 3 + 40 * 15) / 1e6, 10);
  });

  it('defaults maxOutputTokens to what the budget has left, capped at 4096', async () => {
    fake.script('openai', { json: VERDICT }, { json: VERDICT });
    await client({ WAFGEN_MAX_OUTPUT_TOKENS: '700' }).generateObject(ASK);
    await client().generateObject(ASK);
    const sent = fake
      .requestsFor('openai')
      .map((r) => (r.body as { max_output_tokens: number }).max_output_tokens);
    expect(sent).toEqual([700, 4096]);
  });
});

describe('Budget', () => {
  it('estimates tokens as characters / 4, rounded up', () => {
    expect(estimateTokens('')).toBe(0);
    expect(estimateTokens('abcd')).toBe(1);
    expect(estimateTokens('abcde')).toBe(2);
  });

  it('checks, records and reports what remains', () => {
    const b = new Budget({ maxInputTokens: 1000, maxOutputTokens: 500, maxCostUsd: 0.01 });
    const price = { input: 1, output: 10 };
    b.check({ estimatedInputTokens: 1000, maxOutputTokens: 500 }, price);
    expect(b.record({ inputTokens: 600, outputTokens: 200 }, price)).toBeCloseTo(0.0026, 10);
    expect(b.remaining()).toEqual({
      inputTokens: 400,
      outputTokens: 300,
      costUsd: expect.closeTo(0.0074, 10),
    });
    expect(() => b.check({ estimatedInputTokens: 401, maxOutputTokens: 1 }, price)).toThrow(/input budget/);
    expect(() => b.check({ estimatedInputTokens: 1, maxOutputTokens: 301 }, price)).toThrow(/output budget/);
    expect(() =>
      b.check({ estimatedInputTokens: 400, maxOutputTokens: 300 }, { input: 10, output: 30 }),
    ).toThrow(/cost budget/);
  });

  it('has no cost cap at Infinity', () => {
    const b = new Budget({ maxInputTokens: 10, maxOutputTokens: 10, maxCostUsd: Number.POSITIVE_INFINITY });
    expect(() => b.check({ estimatedInputTokens: 10, maxOutputTokens: 10 }, undefined)).not.toThrow();
  });
});

describe('price look-up', () => {
  it('finds dated snapshots, Bedrock profile ids and provider wildcards', () => {
    expect(priceFor(BUILTIN_PRICES, 'anthropic', 'claude-sonnet-4-5-20250929')).toEqual({
      input: 3,
      output: 15,
    });
    expect(priceFor(BUILTIN_PRICES, 'openai', 'gpt-4.1-mini-2025-04-14')).toEqual({
      input: 0.4,
      output: 1.6,
    });
    expect(priceFor(BUILTIN_PRICES, 'bedrock', 'global.anthropic.claude-haiku-4-5-20251001-v1:0')).toEqual({
      input: 1,
      output: 5,
    });
    expect(priceFor(BUILTIN_PRICES, 'bedrock', 'us.amazon.nova-pro-v1:0')).toEqual({
      input: 0.8,
      output: 3.2,
    });
    expect(priceFor(BUILTIN_PRICES, 'openai-compatible', 'qwen2.5:7b')).toEqual({ input: 0, output: 0 });
  });

  it('never prices a different model by a shared prefix', () => {
    expect(priceFor(BUILTIN_PRICES, 'openai', 'gpt-5-pro')).toBeUndefined();
    expect(priceFor(BUILTIN_PRICES, 'google', 'gemini-2.5-pro-preview-tts')).toBeUndefined();
  });

  it('prefers a provider-qualified entry', () => {
    const table = { ...BUILTIN_PRICES, 'bedrock/claude-sonnet-4-5': { input: 3.3, output: 16.5 } };
    expect(priceFor(table, 'bedrock', 'us.anthropic.claude-sonnet-4-5-20250929-v1:0')).toEqual({
      input: 3.3,
      output: 16.5,
    });
    expect(priceFor(table, 'anthropic', 'claude-sonnet-4-5')).toEqual({ input: 3, output: 15 });
  });
});
