// Any number of named OpenAI-compatible endpoints in the failover chain (issue 15, item 7): each
// declared by WAFGEN_OPENAI_COMPATIBLE_<NAME>_URL (+ _MODEL, _MINI_MODEL, _API_KEY) and called
// `openai-compatible:<name>`; two local servers (a vLLM, then an Ollama), the first failing.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { createLlmClient, LlmConfigError, loadLlmConfig, priceFor } from '../../src/llm/index.js';
import { startFakeLlm, type FakeLlm } from '../support/fake-llm/server.js';
import { ASK, VERDICT } from './helpers.js';

let vllm: FakeLlm;
let ollama: FakeLlm;
beforeAll(async () => {
  [vllm, ollama] = await Promise.all([startFakeLlm(), startFakeLlm()]);
});
afterAll(() => Promise.all([vllm.close(), ollama.close()]));
beforeEach(() => {
  vllm.reset();
  ollama.reset();
});

const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
  WAFGEN_OPENAI_COMPATIBLE_VLLM_URL: vllm.baseURL('openai-compatible'),
  WAFGEN_OPENAI_COMPATIBLE_VLLM_MODEL: 'qwen2.5-coder-32b',
  WAFGEN_OPENAI_COMPATIBLE_VLLM_API_KEY: 'vllm-secret-token-0123456789',
  WAFGEN_OPENAI_COMPATIBLE_LOCAL_OLLAMA_URL: ollama.baseURL('openai-compatible'),
  WAFGEN_OPENAI_COMPATIBLE_LOCAL_OLLAMA_MODEL: 'llama3.1:8b',
  WAFGEN_OPENAI_COMPATIBLE_LOCAL_OLLAMA_MINI_MODEL: 'llama3.2:3b',
  WAFGEN_LLM_RETRIES: '0',
  WAFGEN_LLM_TIMEOUT_MS: '2000',
  ...extra,
});

describe('named OpenAI-compatible endpoints', () => {
  it('each variable set declares an endpoint; the default chain lists them by name', () => {
    const c = loadLlmConfig(env());
    expect(c.providers.map((p) => p.name)).toEqual([
      'openai-compatible:local-ollama',
      'openai-compatible:vllm',
    ]);
    expect(c.providers[0]).toMatchObject({
      baseURL: ollama.baseURL('openai-compatible'),
      models: { main: 'llama3.1:8b', mini: 'llama3.2:3b' },
    });
    expect(c.providers[1]).toMatchObject({
      models: { main: 'qwen2.5-coder-32b', mini: 'qwen2.5-coder-32b' },
    });
    expect(c.providers[0]).not.toHaveProperty('apiKey');
    // Self-hosted: free, as the unnamed server is.
    expect(priceFor(c.prices, 'openai-compatible:vllm', 'qwen2.5-coder-32b')).toEqual({
      input: 0,
      output: 0,
    });
  });

  it('WAFGEN_LLM_PROVIDERS orders them among the other providers', () => {
    const c = loadLlmConfig(
      env({
        WAFGEN_LLM_PROVIDERS: 'openai-compatible:vllm,openai,openai-compatible:local-ollama',
        OPENAI_API_KEY: 'sk-test-0123456789abcdef',
      }),
    );
    expect(c.providers.map((p) => p.name)).toEqual([
      'openai-compatible:vllm',
      'openai',
      'openai-compatible:local-ollama',
    ]);
  });

  it('names every bad or missing variable, never a value', () => {
    const problems = (e: NodeJS.ProcessEnv) => {
      try {
        loadLlmConfig(e);
      } catch (err) {
        expect(err).toBeInstanceOf(LlmConfigError);
        return (err as LlmConfigError).message;
      }
      return '';
    };
    expect(problems({ WAFGEN_OPENAI_COMPATIBLE_VLLM_URL: 'ftp://secret-host/v1' })).toMatch(
      /WAFGEN_OPENAI_COMPATIBLE_VLLM_URL must be a URL.*WAFGEN_OPENAI_COMPATIBLE_VLLM_MODEL must be set: WAFGEN_OPENAI_COMPATIBLE_VLLM_URL declares openai-compatible:vllm/,
    );
    expect(problems({ WAFGEN_OPENAI_COMPATIBLE_VLLM_URL: 'ftp://secret-host/v1' })).not.toContain(
      'secret-host',
    );
    expect(problems({ WAFGEN_LLM_PROVIDERS: 'openai-compatible:gpu' })).toContain(
      'WAFGEN_OPENAI_COMPATIBLE_GPU_URL must be set: WAFGEN_LLM_PROVIDERS lists openai-compatible:gpu',
    );
    expect(problems({ WAFGEN_LLM_PROVIDERS: 'openai-compatible:Not_A_Name' })).toContain('unknown provider');
    expect(problems({ WAFGEN_OPENAI_COMPATIBLE_MINI_URL: 'http://127.0.0.1:1/v1' })).toContain('reserved');
  });

  it('fails over from the first server to the second, each with its own model, key and breaker', async () => {
    vllm.script('openai-compatible', { status: 503, message: 'vLLM: no free KV cache blocks' });
    ollama.script('openai-compatible', { json: VERDICT, usage: { inputTokens: 40, outputTokens: 9 } });
    const states: [string, string][] = [];
    const client = createLlmClient(
      loadLlmConfig(
        env({
          WAFGEN_LLM_PROVIDERS: 'openai-compatible:vllm,openai-compatible:local-ollama',
          WAFGEN_LLM_BREAKER_THRESHOLD: '1',
        }),
      ),
      { onBreakerStateChange: (p, s) => states.push([p, s]) },
    );
    const r = await client.generateObject(ASK);
    expect(r).toMatchObject({
      object: VERDICT,
      provider: 'openai-compatible:local-ollama',
      model: 'llama3.1:8b',
      usage: { inputTokens: 40, outputTokens: 9 },
      costUsd: 0,
    });
    expect(r.attempts.map((a) => [a.provider, a.ok, a.kind, a.status])).toEqual([
      ['openai-compatible:vllm', false, 'server', 503],
      ['openai-compatible:local-ollama', true, undefined, undefined],
    ]);
    // Each server got its own model and credentials; the key never shows in an error.
    expect(vllm.requests[0]).toMatchObject({ model: 'qwen2.5-coder-32b' });
    expect(vllm.requests[0]!.headers.authorization).toBe('Bearer [redacted]');
    expect(ollama.requests[0]).toMatchObject({ model: 'llama3.1:8b' });
    expect(ollama.requests[0]!.headers.authorization).toBeUndefined();
    expect(JSON.stringify(r.attempts)).not.toContain('vllm-secret-token');
    // The first server's breaker opened; the second's is untouched.
    expect(states).toEqual([['openai-compatible:vllm', 'open']]);
    expect(client.breakerStates()).toEqual({
      'openai-compatible:vllm': 'open',
      'openai-compatible:local-ollama': 'closed',
    });
    // Next call: the open breaker skips the first server without a request.
    ollama.script('openai-compatible', { json: VERDICT });
    const again = await client.generateObject(ASK);
    expect(again.attempts.map((a) => [a.provider, a.kind])).toEqual([
      ['openai-compatible:vllm', 'circuit-open'],
      ['openai-compatible:local-ollama', undefined],
    ]);
    expect(vllm.requests).toHaveLength(1);
  });

  it('a named endpoint can be asked alone (the CLI --provider list)', async () => {
    vllm.script('openai-compatible', { json: VERDICT });
    const client = createLlmClient(loadLlmConfig(env()));
    const r = await client.generateObject({ ...ASK, providers: ['openai-compatible:vllm'] });
    expect(r.provider).toBe('openai-compatible:vllm');
    expect(ollama.requests).toHaveLength(0);
  });
});
