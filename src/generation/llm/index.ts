// The llm engine's public face, and createEngine: the engine decideEngine (../engine-choice.ts)
// picks, built, with the built-in engine as the llm engine's fallback when every provider fails or
// the budget says no.
import { createLlmClient, type LlmClientDeps, type LlmConfig } from '../../llm/index.js';
import { BuiltinEngine } from '../builtin/index.js';
import { decideEngine, EngineConfigError, type EngineMode } from '../engine-choice.js';
import type { Engine, Judge } from '../types.js';
import { LlmEngine, type LlmEngineClient, type LlmEngineOptions } from './engine.js';
import { LlmJudge, parseJudgeSpec } from './judge.js';
import type { ExtractAsk } from '../../evidence/model-extract.js';

export { LlmEngine, type LlmEngineOptions } from './engine.js';
export { LlmRuleOutput, OUTPUT_STATEMENT_TYPES } from './schema.js';
export { EngineConfigError, type EngineMode } from '../engine-choice.js';

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
  /**
   * A judge on `provider[:model]` (a provider of the configured chain), for runGeneration's `judge`;
   * only with the llm engine. Throws EngineConfigError for a spec it cannot honour.
   */
  judgeFor?: (spec: string) => Judge;
  /** The provider chain's small (`mini`) model, for exploit facts from long fetched text. */
  extract?: ExtractAsk;
}

export function createEngine(options: CreateEngineOptions): EngineChoice {
  const haveLlm = (options.llmConfig?.providers.length ?? 0) > 0 || options.client !== undefined;
  const { mode, reason } = decideEngine(
    options.mode,
    haveLlm,
    options.offline === true,
    options.llmConfig?.providers.length
      ? `LLM providers configured: ${options.llmConfig.providers.map((p) => p.name).join(', ')}`
      : 'an LLM client was given',
  );
  if (mode === 'builtin') return { engine: new BuiltinEngine(), mode, reason };
  const client = options.client ?? createLlmClient(options.llmConfig!, options.clientDeps);
  const judgeFor = (spec: string): Judge => {
    let parsed;
    try {
      parsed = parseJudgeSpec(spec);
    } catch (e) {
      throw new EngineConfigError(`--judge ${JSON.stringify(spec)}: ${(e as Error).message}`);
    }
    if (client.providers && !client.providers.includes(parsed.provider))
      throw new EngineConfigError(
        `the judge's provider ${parsed.provider} is not in the configured chain (${client.providers.join(', ')})`,
      );
    return new LlmJudge(client, parsed);
  };
  return {
    engine: new LlmEngine(client, options.engine),
    fallback: new BuiltinEngine(),
    mode,
    reason,
    judgeFor,
    extract: async (r) => {
      const res = await client.generateObject({
        role: 'mini',
        stage: 'extract',
        schema: r.schema,
        schemaName: 'exploit_facts',
        schemaDigest: r.schemaDigest,
        system: r.system,
        prompt: r.prompt,
        maxOutputTokens: 1024,
      });
      // Every attempt's tokens, billed failures included.
      let inputTokens = 0;
      let outputTokens = 0;
      let costUsd = 0;
      for (const a of res.attempts) {
        inputTokens += a.usage?.inputTokens ?? 0;
        outputTokens += a.usage?.outputTokens ?? 0;
        costUsd += a.costUsd ?? 0;
      }
      return {
        object: res.object,
        provider: res.provider,
        model: res.model,
        usage: { inputTokens, outputTokens },
        costUsd,
      };
    },
  };
}
