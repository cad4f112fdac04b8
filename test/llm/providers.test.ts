// Each real provider package, talking HTTP to the fake, returns a schema-valid object.
import { streamText } from 'ai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { createLlmClient, createModelRegistry, loadLlmConfig } from '../../src/llm/index.js';
import type { ProviderKind as ProviderName } from '../../src/llm/providers.js';
import { startFakeLlm, type FakeLlm } from '../support/fake-llm/server.js';
import { ASK, fakeEnv, KEYS, VERDICT } from './helpers.js';

let fake: FakeLlm;
beforeAll(async () => {
  fake = await startFakeLlm();
});
afterAll(() => fake.close());
beforeEach(() => fake.reset());

function clientFor(provider: ProviderName, extra: Record<string, string> = {}) {
  return createLlmClient(loadLlmConfig(fakeEnv(fake, { WAFGEN_LLM_PROVIDERS: provider, ...extra })));
}

describe('structured output through each provider package', () => {
  it('openai: Responses API, json_schema text format, Bearer key', async () => {
    fake.script('openai', { json: VERDICT, usage: { inputTokens: 120, outputTokens: 30 } });
    const r = await clientFor('openai').generateObject(ASK);
    expect(r.object).toEqual(VERDICT);
    expect(r).toMatchObject({
      provider: 'openai',
      model: 'gpt-4.1',
      usage: { inputTokens: 120, outputTokens: 30 },
    });
    const [req] = fake.requestsFor('openai');
    expect(req?.path).toBe('/v1/responses');
    expect(req?.headers.authorization).toBe('Bearer [redacted]');
    expect(req?.body).toMatchObject({
      model: 'gpt-4.1',
      store: false,
      text: { format: { type: 'json_schema' } },
    });
    expect(JSON.stringify(fake.requests)).not.toContain(KEYS.OPENAI_API_KEY);
  });

  it('openai with WAFGEN_OPENAI_API=chat: Chat Completions, response_format json_schema', async () => {
    fake.script('openai', { json: VERDICT });
    const r = await clientFor('openai', { WAFGEN_OPENAI_API: 'chat' }).generateObject({
      ...ASK,
      role: 'mini',
    });
    expect(r.object).toEqual(VERDICT);
    expect(r.model).toBe('gpt-4.1-mini');
    const [req] = fake.requestsFor('openai');
    expect(req?.path).toBe('/v1/chat/completions');
    expect(req?.body).toMatchObject({ response_format: { type: 'json_schema' } });
  });

  it('anthropic: Messages API with native output_config.format for Claude 4.5', async () => {
    fake.script('anthropic', { json: VERDICT, usage: { inputTokens: 200, outputTokens: 40 } });
    const r = await clientFor('anthropic').generateObject(ASK);
    expect(r.object).toEqual(VERDICT);
    expect(r).toMatchObject({
      provider: 'anthropic',
      model: 'claude-sonnet-4-5',
      usage: { inputTokens: 200 },
    });
    const [req] = fake.requestsFor('anthropic');
    expect(req?.path).toBe('/v1/messages');
    expect(req?.headers['x-api-key']).toBe('[redacted]');
    expect(req?.headers['anthropic-version']).toBe('2023-06-01');
    expect(req?.body).toMatchObject({ output_config: { format: { type: 'json_schema' } } });
  });

  it('anthropic: an older model gets a forced `json` tool and answers with tool_use', async () => {
    fake.script('anthropic', { json: VERDICT });
    const r = await clientFor('anthropic', {
      WAFGEN_ANTHROPIC_MODEL: 'claude-3-haiku-20240307',
    }).generateObject(ASK);
    expect(r.object).toEqual(VERDICT);
    const body = fake.requestsFor('anthropic')[0]?.body as {
      tools: { name: string }[];
      tool_choice: unknown;
    };
    expect(body.tools.map((t) => t.name)).toEqual(['json']);
    expect(body.tool_choice).toMatchObject({ type: 'any' });
  });

  it('google: generateContent with a JSON response schema, x-goog-api-key', async () => {
    fake.script('google', { json: VERDICT, usage: { inputTokens: 90, outputTokens: 20 } });
    const r = await clientFor('google').generateObject({ ...ASK, role: 'mini' });
    expect(r.object).toEqual(VERDICT);
    expect(r).toMatchObject({ provider: 'google', model: 'gemini-2.5-flash', usage: { outputTokens: 20 } });
    const [req] = fake.requestsFor('google');
    expect(req?.path).toBe('/v1beta/models/gemini-2.5-flash:generateContent');
    expect(req?.headers['x-goog-api-key']).toBe('[redacted]');
    expect(req?.body).toMatchObject({ generationConfig: { responseMimeType: 'application/json' } });
  });

  it('bedrock: Converse API signed with SigV4 from the configured keys', async () => {
    fake.script('bedrock', { json: VERDICT });
    const r = await clientFor('bedrock').generateObject(ASK);
    expect(r.object).toEqual(VERDICT);
    expect(r.model).toBe('global.anthropic.claude-sonnet-4-5-20250929-v1:0');
    const [req] = fake.requestsFor('bedrock');
    expect(req?.path).toBe(`/model/${encodeURIComponent(r.model)}/converse`);
    expect(req?.headers.authorization).toBe('AWS4-HMAC-SHA256 [redacted]');
    expect(req?.headers['x-amz-date']).toMatch(/^\d{8}T\d{6}Z$/);
  });

  it('bedrock: AWS_BEARER_TOKEN_BEDROCK is sent as a Bearer token instead of a signature', async () => {
    fake.script('bedrock', { json: VERDICT });
    const r = await clientFor('bedrock', {
      AWS_BEARER_TOKEN_BEDROCK: 'bedrock-api-key-0123456789',
    }).generateObject(ASK);
    expect(r.object).toEqual(VERDICT);
    expect(fake.requestsFor('bedrock')[0]?.headers.authorization).toBe('Bearer [redacted]');
  });

  it('openai-compatible (Ollama, vLLM): chat completions with json_schema, no key needed', async () => {
    fake.script('openai-compatible', { json: VERDICT });
    const r = await clientFor('openai-compatible').generateObject(ASK);
    expect(r.object).toEqual(VERDICT);
    expect(r).toMatchObject({ provider: 'openai-compatible', model: 'llama3.1:8b', costUsd: 0 });
    const [req] = fake.requestsFor('openai-compatible');
    expect(req?.path).toBe('/v1/chat/completions');
    expect(req?.headers.authorization).toBeUndefined();
    expect(req?.body).toMatchObject({ model: 'llama3.1:8b', response_format: { type: 'json_schema' } });
  });

  it('invalid output (not matching the schema) is an attempt failure, not a retry', async () => {
    fake.script('openai', { json: { cve: 42 } }, { json: VERDICT });
    const client = createLlmClient(
      loadLlmConfig(fakeEnv(fake, { WAFGEN_LLM_PROVIDERS: 'openai,anthropic', WAFGEN_LLM_RETRIES: '3' })),
    );
    fake.script('anthropic', { json: VERDICT });
    const r = await client.generateObject(ASK);
    expect(r.provider).toBe('anthropic');
    expect(r.attempts[0]).toMatchObject({ provider: 'openai', ok: false, kind: 'invalid-output' });
    // The bad answer was billed: its tokens are on the attempt.
    expect(r.attempts[0]?.usage).toEqual({ inputTokens: 100, outputTokens: 50 });
    expect(fake.requestsFor('openai')).toHaveLength(1);
  });
});

describe('streaming wire formats (SSE) through the provider packages', () => {
  const cases: [ProviderName, Record<string, string>, string][] = [
    ['openai', {}, '/v1/responses'],
    ['openai', { WAFGEN_OPENAI_API: 'chat' }, '/v1/chat/completions'],
    ['openai-compatible', {}, '/v1/chat/completions'],
    ['anthropic', {}, '/v1/messages'],
    ['google', {}, '/v1beta/models/gemini-2.5-pro:streamGenerateContent'],
  ];
  it.each(cases)('%s %j streams text deltas and usage', async (provider, extra, path) => {
    const config = loadLlmConfig(fakeEnv(fake, { WAFGEN_LLM_PROVIDERS: provider, ...extra }));
    const model = createModelRegistry(config).model(provider, 'main');
    fake.script(provider, { stream: ['{"a":', '1,', '"b":2}'], usage: { inputTokens: 12, outputTokens: 6 } });
    const result = streamText({ model, prompt: 'hi', maxRetries: 0 });
    let text = '';
    for await (const delta of result.textStream) text += delta;
    expect(text).toBe('{"a":1,"b":2}');
    const usage = await result.usage;
    expect(usage.inputTokens).toBe(12);
    expect(usage.outputTokens).toBe(6);
    const [req] = fake.requestsFor(provider);
    expect(req?.path).toBe(path);
    expect(req?.stream).toBe(true);
  });
});

describe('bedrock credentials without keys in the environment', () => {
  const env = () => {
    const e = fakeEnv(fake, { WAFGEN_LLM_PROVIDERS: 'bedrock' });
    delete e.AWS_ACCESS_KEY_ID;
    delete e.AWS_SECRET_ACCESS_KEY;
    return e;
  };

  it('uses the injected credential provider (the AWS credentials chain)', async () => {
    fake.script('bedrock', { json: VERDICT });
    const config = loadLlmConfig(env());
    expect(config.providers[0]).toMatchObject({ name: 'bedrock', credentials: { kind: 'chain' } });
    let asked = 0;
    const c = createLlmClient(config, {
      bedrockCredentialProvider: async () => {
        asked++;
        return { accessKeyId: 'ASIACHAINKEY0123456', secretAccessKey: 'chain-secret', sessionToken: 'tok' };
      },
    });
    const r = await c.generateObject(ASK);
    expect(r.object).toEqual(VERDICT);
    expect(asked).toBe(1);
    const [req] = fake.requestsFor('bedrock');
    expect(req?.headers.authorization).toBe('AWS4-HMAC-SHA256 [redacted]');
    expect(req?.headers['x-amz-security-token']).toBe('[redacted]');
  });

  it('without one, fails the attempt as a configuration problem, before any request', async () => {
    const c = createLlmClient(loadLlmConfig(env()));
    await expect(c.generateObject(ASK)).rejects.toMatchObject({
      name: 'AllProvidersFailed',
      attempts: [
        { provider: 'bedrock', kind: 'config', error: expect.stringContaining('no AWS credentials') },
      ],
    });
    expect(fake.requests).toHaveLength(0);
  });
});
