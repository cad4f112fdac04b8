// createEngine: which engine generates a rule, and the built-in fallback that goes with the llm one.
import { describe, expect, it } from 'vitest';

import { BuiltinEngine } from '../../../src/generation/builtin/index.js';
import { createEngine, EngineConfigError, LlmEngine } from '../../../src/generation/llm/index.js';
import { loadLlmConfig } from '../../../src/llm/index.js';

const configured = loadLlmConfig({
  OPENAI_API_KEY: 'sk-test-0123456789abcdef',
  ANTHROPIC_API_KEY: 'sk-ant-test-0123456789',
});
const none = loadLlmConfig({});

describe('createEngine', () => {
  it('auto: llm with the built-in fallback when a provider is configured', () => {
    const choice = createEngine({ mode: 'auto', llmConfig: configured });
    expect(choice.mode).toBe('llm');
    expect(choice.engine).toBeInstanceOf(LlmEngine);
    expect(choice.engine.name).toBe('llm');
    expect(choice.fallback).toBeInstanceOf(BuiltinEngine);
    expect(choice.reason).toBe('LLM providers configured: openai, anthropic');
  });

  it('auto: builtin when no provider is configured, or offline', () => {
    expect(none.providers).toHaveLength(0);
    const noProvider = createEngine({ mode: 'auto', llmConfig: none });
    expect(noProvider).toMatchObject({ mode: 'builtin', reason: 'no LLM provider is configured' });
    expect(noProvider.engine).toBeInstanceOf(BuiltinEngine);
    expect(noProvider.fallback).toBeUndefined();
    expect(createEngine({ mode: 'auto' }).mode).toBe('builtin');
    expect(createEngine({ mode: 'auto', llmConfig: configured, offline: true })).toMatchObject({
      mode: 'builtin',
      reason: 'WAFGEN_OFFLINE is set',
    });
  });

  it('builtin is builtin whatever is configured', () => {
    const choice = createEngine({ mode: 'builtin', llmConfig: configured });
    expect(choice.engine).toBeInstanceOf(BuiltinEngine);
    expect(choice.fallback).toBeUndefined();
  });

  it('llm: refused (bad input) without a provider or when offline', () => {
    expect(() => createEngine({ mode: 'llm', llmConfig: none })).toThrow(EngineConfigError);
    expect(() => createEngine({ mode: 'llm', llmConfig: none })).toThrow(/needs a provider/);
    expect(() => createEngine({ mode: 'llm', llmConfig: configured, offline: true })).toThrow(
      /WAFGEN_OFFLINE/,
    );
    const choice = createEngine({ mode: 'llm', llmConfig: configured });
    expect(choice.engine).toBeInstanceOf(LlmEngine);
    expect(choice.fallback).toBeInstanceOf(BuiltinEngine);
  });

  it('takes a ready client instead of a configuration', () => {
    const client = { generateObject: () => Promise.reject(new Error('unused')) };
    expect(createEngine({ mode: 'auto', client }).mode).toBe('llm');
  });
});
