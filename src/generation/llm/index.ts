// The llm engine's public face, and the one place that decides which engine generates a rule:
// `builtin` (offline, deterministic), `llm` (the configured provider chain, with the built-in
// engine as the fallback when every provider fails or the budget says no), or `auto` (llm when a
// provider is configured and wafgen may use the network, else builtin).
import { createLlmClient, type LlmClientDeps, type LlmConfig } from '../../llm/index.js';
import { BuiltinEngine } from '../builtin/index.js';
import type { Engine } from '../types.js';
import { LlmEngine, type LlmEngineClient, type LlmEngineOptions } from './engine.js';

export { LlmEngine, type LlmEngineOptions } from './engine.js';
export { LlmRuleOutput, OUTPUT_STATEMENT_TYPES } from './schema.js';

export type EngineMode = 'auto' | 'llm' | 'builtin';

export interface CreateEngineOptions {
  mode: EngineMode;
  /** The LLM configuration (loadLlmConfig); without one no provider is configured. */
  llmConfig?: LlmConfig;
  /** WAFGEN_OFFLINE: never touch the network, so `auto` means builtin and `llm` is refused. */
  offline?: boolean;
  /** A client to use instead of building one from llmConfig (tests, a shared client). */
  client?: LlmEngineClient;
  /** Passed to createLlmClient (attempt logs, breaker metrics, AWS credentials). */
  clientDeps?: LlmClientDeps;
  engine?: LlmEngineOptions;
}

export interface EngineChoice {
  /** The engine to run: pass it to runGeneration. */
  engine: Engine;
  /** Pass as runGeneration's `fallback` option: the built-in engine whenever the engine is llm. */
  fallback?: Engine;
  mode: 'llm' | 'builtin';
  /** Why this engine, for the report and logs. */
  reason: string;
}

/** `--engine llm` cannot be honoured: bad input, not a failure to fall back from. */
export class EngineConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EngineConfigError';
  }
}

export function createEngine(options: CreateEngineOptions): EngineChoice {
  const providers = options.llmConfig?.providers.length ?? 0;
  const haveLlm = providers > 0 || options.client !== undefined;
  const builtin = (reason: string): EngineChoice => ({
    engine: new BuiltinEngine(),
    mode: 'builtin',
    reason,
  });
  const llm = (reason: string): EngineChoice => {
    const client = options.client ?? createLlmClient(options.llmConfig!, options.clientDeps);
    return {
      engine: new LlmEngine(client, options.engine),
      fallback: new BuiltinEngine(),
      mode: 'llm',
      reason,
    };
  };

  switch (options.mode) {
    case 'builtin':
      return builtin('asked for the built-in engine');
    case 'llm':
      if (options.offline)
        throw new EngineConfigError('the llm engine needs the network, and WAFGEN_OFFLINE is set');
      if (!haveLlm)
        throw new EngineConfigError(
          'the llm engine needs a provider: set OPENAI_API_KEY, ANTHROPIC_API_KEY, GOOGLE_GENERATIVE_AI_API_KEY, AWS credentials (WAFGEN_LLM_PROVIDERS=bedrock) or WAFGEN_OPENAI_COMPATIBLE_URL',
        );
      return llm('asked for the llm engine');
    case 'auto':
      if (options.offline) return builtin('WAFGEN_OFFLINE is set');
      if (!haveLlm) return builtin('no LLM provider is configured');
      return llm(
        options.llmConfig?.providers.length
          ? `LLM providers configured: ${options.llmConfig.providers.map((p) => p.name).join(', ')}`
          : 'an LLM client was given',
      );
  }
}
