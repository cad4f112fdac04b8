// Which engine a command runs: the LLM engine (with the built-in one as fallback) when a provider
// is configured and the network is allowed, else the built-in engine. Bad settings are bad input.
import type { Config } from '../config/index.js';
import type { EngineChoice, EngineMode } from '../generation/llm/index.js';
import { LlmConfigError, loadLlmConfig } from '../llm/config.js';
import { PROVIDER_NAMES, type ProviderName } from '../llm/providers.js';
import { InputError } from '../core/errors.js';

const loadBuiltin = () => import('../generation/builtin/index.js');
let builtinModule: ReturnType<typeof loadBuiltin> | undefined;

export async function chooseEngine(
  config: Config,
  mode: EngineMode,
  providers?: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<EngineChoice> {
  let chain: ProviderName[] | undefined;
  if (providers) {
    chain = providers.split(',').map((p) => p.trim()) as ProviderName[];
    const unknown = chain.filter((p) => !(PROVIDER_NAMES as readonly string[]).includes(p));
    if (unknown.length)
      throw new InputError(`unknown provider ${unknown.join(', ')} (known: ${PROVIDER_NAMES.join(', ')})`);
  }
  try {
    // Offline, or built-in asked for: no need to read LLM settings at all.
    const llmConfig = mode === 'builtin' || config.WAFGEN_OFFLINE ? undefined : loadLlmConfig(env);
    // The LLM engine brings the AI SDK and its providers (about half a second of CPU to import):
    // when the choice is the built-in engine anyway, only that one is loaded.
    if (mode === 'builtin' || (mode === 'auto' && !llmConfig?.providers.length)) {
      const { BuiltinEngine } = await (builtinModule ??= loadBuiltin());
      const reason =
        mode === 'builtin'
          ? 'asked for the built-in engine'
          : config.WAFGEN_OFFLINE
            ? 'WAFGEN_OFFLINE is set'
            : 'no LLM provider is configured';
      return { engine: new BuiltinEngine(), mode: 'builtin', reason };
    }
    const { createEngine } = await import('../generation/llm/index.js');
    return createEngine({
      mode,
      ...(llmConfig ? { llmConfig } : {}),
      offline: config.WAFGEN_OFFLINE,
      ...(chain ? { engine: { providers: chain } } : {}),
    });
  } catch (e) {
    if (e instanceof LlmConfigError || (e instanceof Error && e.name === 'EngineConfigError'))
      throw new InputError(e.message);
    throw e;
  }
}
