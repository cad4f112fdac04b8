// Which engine generates a rule, decided without loading either: `builtin` (offline,
// deterministic), `llm` (the configured provider chain, with the built-in engine as the fallback),
// or `auto` (llm when a provider is configured and wafgen may use the network, else builtin).
// Apart from ./llm so that a command choosing the built-in engine never imports the AI SDK.

export type EngineMode = 'auto' | 'llm' | 'builtin';

/** `--engine llm` cannot be honoured: bad input, not a failure to fall back from. */
export class EngineConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EngineConfigError';
  }
}

/** The engine `mode` resolves to, and why; throws EngineConfigError when llm is asked for and impossible. */
export function decideEngine(
  mode: EngineMode,
  haveLlm: boolean,
  offline: boolean,
  llmReason: string,
): { mode: 'llm' | 'builtin'; reason: string } {
  switch (mode) {
    case 'builtin':
      return { mode: 'builtin', reason: 'asked for the built-in engine' };
    case 'llm':
      if (offline) throw new EngineConfigError('the llm engine needs the network, and WAFGEN_OFFLINE is set');
      if (!haveLlm)
        throw new EngineConfigError(
          'the llm engine needs a provider: set OPENAI_API_KEY, ANTHROPIC_API_KEY, GOOGLE_GENERATIVE_AI_API_KEY, AWS credentials (WAFGEN_LLM_PROVIDERS=bedrock) or WAFGEN_OPENAI_COMPATIBLE_URL',
        );
      return { mode: 'llm', reason: 'asked for the llm engine' };
    case 'auto':
      if (offline) return { mode: 'builtin', reason: 'WAFGEN_OFFLINE is set' };
      if (!haveLlm) return { mode: 'builtin', reason: 'no LLM provider is configured' };
      return { mode: 'llm', reason: llmReason };
  }
}
