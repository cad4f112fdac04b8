// LLM settings from the environment: defaults, the chain, per-provider checks, secrets kept out of
// messages and logs, the price table file.
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';

import { BUILTIN_PRICES, LlmConfigError, loadLlmConfig, type LlmConfig } from '../../src/llm/index.js';
import { KEYS } from './helpers.js';

function problems(env: NodeJS.ProcessEnv, readFile?: (p: string) => string): string {
  try {
    loadLlmConfig(env, readFile ? { readFile } : {});
  } catch (e) {
    expect(e).toBeInstanceOf(LlmConfigError);
    return (e as Error).message;
  }
  throw new Error('expected LlmConfigError');
}

describe('loadLlmConfig', () => {
  it('has no providers and sane defaults with an empty environment', () => {
    const c = loadLlmConfig({});
    expect(c).toEqual({
      providers: [],
      timeoutMs: 60_000,
      outputSchema: 'native',
      retries: 2,
      backoff: { initialMs: 500, maxMs: 10_000 },
      retryAfterMaxMs: 20_000,
      breaker: { threshold: 5, cooldownMs: 30_000 },
      budget: { maxInputTokens: 200_000, maxOutputTokens: 32_000, maxCostUsd: 1 },
      prices: BUILTIN_PRICES,
    } satisfies LlmConfig);
  });

  it('builds the chain from whichever keys are present when WAFGEN_LLM_PROVIDERS is unset', () => {
    const c = loadLlmConfig({
      GOOGLE_GENERATIVE_AI_API_KEY: KEYS.GOOGLE_GENERATIVE_AI_API_KEY,
      OPENAI_API_KEY: KEYS.OPENAI_API_KEY,
      AWS_REGION: 'eu-west-1', // no AWS credentials: bedrock is not picked
    });
    expect(c.providers.map((p) => p.name)).toEqual(['openai', 'google']);
  });

  it('follows WAFGEN_LLM_PROVIDERS, with default models per role and default base URLs', () => {
    const c = loadLlmConfig({
      ...KEYS,
      AWS_DEFAULT_REGION: 'eu-central-1',
      WAFGEN_LLM_PROVIDERS: ' Anthropic, openai ,bedrock,google',
      WAFGEN_ANTHROPIC_MINI_MODEL: 'claude-3-5-haiku-latest',
    });
    expect(c.providers.map((p) => [p.name, p.models.main, p.models.mini])).toEqual([
      ['anthropic', 'claude-sonnet-4-5', 'claude-3-5-haiku-latest'],
      ['openai', 'gpt-4.1', 'gpt-4.1-mini'],
      [
        'bedrock',
        'global.anthropic.claude-sonnet-4-5-20250929-v1:0',
        'global.anthropic.claude-haiku-4-5-20251001-v1:0',
      ],
      ['google', 'gemini-2.5-pro', 'gemini-2.5-flash'],
    ]);
    expect(c.providers[0]).toMatchObject({ baseURL: 'https://api.anthropic.com/v1' });
    expect(c.providers[1]).toMatchObject({ baseURL: 'https://api.openai.com/v1', api: 'responses' });
    expect(c.providers[2]).toMatchObject({ region: 'eu-central-1', credentials: { kind: 'keys' } });
    expect(c.providers[3]).toMatchObject({ baseURL: 'https://generativelanguage.googleapis.com/v1beta' });
  });

  it('configures an OpenAI-compatible server, its mini model defaulting to the main one', () => {
    const c = loadLlmConfig({
      WAFGEN_OPENAI_COMPATIBLE_URL: 'http://127.0.0.1:11434/v1',
      WAFGEN_OPENAI_COMPATIBLE_MODEL: 'qwen2.5:14b',
    });
    expect(c.providers).toEqual([
      {
        name: 'openai-compatible',
        baseURL: 'http://127.0.0.1:11434/v1',
        models: { main: 'qwen2.5:14b', mini: 'qwen2.5:14b' },
      },
    ]);
  });

  it('reads the numeric settings', () => {
    const c = loadLlmConfig({
      WAFGEN_LLM_TIMEOUT_MS: '5000',
      WAFGEN_LLM_RETRIES: '0',
      WAFGEN_LLM_BREAKER_THRESHOLD: '3',
      WAFGEN_LLM_BREAKER_COOLDOWN_MS: '1000',
      WAFGEN_MAX_INPUT_TOKENS: '5000',
      WAFGEN_MAX_OUTPUT_TOKENS: '900',
      WAFGEN_MAX_COST_USD: '0.25',
    });
    expect(c).toMatchObject({
      timeoutMs: 5000,
      retries: 0,
      breaker: { threshold: 3, cooldownMs: 1000 },
      budget: { maxInputTokens: 5000, maxOutputTokens: 900, maxCostUsd: 0.25 },
    });
    expect(loadLlmConfig({ WAFGEN_MAX_COST_USD: 'none' }).budget.maxCostUsd).toBe(Infinity);
  });

  it('names every bad variable and echoes no value', () => {
    const message = problems({
      WAFGEN_LLM_TIMEOUT_MS: 'soon',
      OPENAI_BASE_URL: 'ftp://user:hunter2@proxy',
      WAFGEN_LLM_PROVIDERS: 'openai,cohere',
      WAFGEN_MAX_COST_USD: '-1',
      WAFGEN_OPENAI_API: 'assistants',
      AWS_REGION: 'mars',
    });
    for (const name of [
      'WAFGEN_LLM_TIMEOUT_MS',
      'OPENAI_BASE_URL must be a URL starting with http:// or https://',
      'WAFGEN_LLM_PROVIDERS lists unknown provider "cohere"',
      'WAFGEN_MAX_COST_USD must be a positive number of US dollars, or "none"',
      'WAFGEN_OPENAI_API',
      'AWS_REGION must be an AWS region',
    ])
      expect(message).toContain(name);
    expect(message).not.toContain('hunter2');
    expect(message).not.toContain('soon');
  });

  it('names the missing key of a listed provider, never another provider’s key', () => {
    const message = problems({
      WAFGEN_LLM_PROVIDERS: 'anthropic,google,bedrock,openai-compatible',
      OPENAI_API_KEY: KEYS.OPENAI_API_KEY,
    });
    expect(message).toContain('ANTHROPIC_API_KEY must be set: WAFGEN_LLM_PROVIDERS lists anthropic');
    expect(message).toContain('GOOGLE_GENERATIVE_AI_API_KEY must be set');
    expect(message).toContain('AWS_REGION must be set');
    expect(message).toContain('WAFGEN_OPENAI_COMPATIBLE_URL must be set');
    expect(message).toContain('WAFGEN_OPENAI_COMPATIBLE_MODEL must be set');
    expect(message).not.toContain(KEYS.OPENAI_API_KEY);
  });

  it('wants both halves of an AWS key pair', () => {
    expect(problems({ AWS_ACCESS_KEY_ID: KEYS.AWS_ACCESS_KEY_ID })).toContain(
      'AWS_SECRET_ACCESS_KEY must be set when AWS_ACCESS_KEY_ID is',
    );
  });

  it('keeps secrets out of JSON, inspect and string conversion', () => {
    const c = loadLlmConfig({
      ...KEYS,
      AWS_REGION: 'us-east-1',
      AWS_SESSION_TOKEN: 'session-token-0123456789',
    });
    const dumps = [
      JSON.stringify(c),
      inspect(c, { depth: 10 }),
      String(c.providers[0] && 'apiKey' in c.providers[0] ? c.providers[0].apiKey : ''),
    ];
    for (const dump of dumps)
      for (const secret of [...Object.values(KEYS), 'session-token-0123456789'])
        expect(dump).not.toContain(secret);
    expect(JSON.stringify(c)).toContain('[redacted]');
  });

  it('merges a WAFGEN_PRICE_TABLE file over the built-in prices', () => {
    const files: Record<string, string> = {
      '/p.json': JSON.stringify({
        'gpt-4.1': { input: 1.5, output: 6 },
        'my-model': { input: 0, output: 0 },
      }),
    };
    const c = loadLlmConfig({ WAFGEN_PRICE_TABLE: '/p.json' }, { readFile: (p) => files[p] ?? '' });
    expect(c.prices['gpt-4.1']).toEqual({ input: 1.5, output: 6 });
    expect(c.prices['my-model']).toEqual({ input: 0, output: 0 });
    expect(c.prices['claude-sonnet-4-5']).toEqual({ input: 3, output: 15 });
  });

  it('names WAFGEN_PRICE_TABLE when the file is missing, not JSON, or the wrong shape', () => {
    expect(problems({ WAFGEN_PRICE_TABLE: '/nonexistent/wafgen-prices.json' })).toContain(
      'WAFGEN_PRICE_TABLE cannot be read (ENOENT)',
    );
    expect(problems({ WAFGEN_PRICE_TABLE: '/x' }, () => '{ not json')).toContain(
      'WAFGEN_PRICE_TABLE is not valid JSON',
    );
    expect(problems({ WAFGEN_PRICE_TABLE: '/x' }, () => '{"gpt-4.1":{"input":"two","output":8}}')).toContain(
      'WAFGEN_PRICE_TABLE must map model ids to { "input": USD per 1M tokens, "output": USD per 1M tokens } (problem at gpt-4.1.input)',
    );
  });
});
