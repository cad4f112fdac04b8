/**
 * @module Which engine a command runs: the LLM engine (with the built-in one as fallback) when a
 * provider is configured and the network is allowed, else the built-in engine. Bad settings are bad
 * input. With metrics (the service: `wafgen serve`, the worker, the serverless handlers), every LLM
 * call, attempt, token, dollar, latency, failover and breaker transition goes to the wafgen_llm_*
 * series through `metrics.llmHooks()`.
 */
import type { Config } from '../config/index.js';
import { decideEngine, EngineConfigError, type EngineMode } from '../generation/engine-choice.js';
import type { EngineChoice } from '../generation/llm/index.js';
import { LlmConfigError, loadLlmConfig } from '../llm/config.js';
import { isProviderName, PROVIDER_NAMES, type ProviderName } from '../llm/providers.js';
import type { Metrics } from '../observability/metrics.js';
import { InputError } from '../core/errors.js';

const loadBuiltin = () => import('../generation/builtin/index.js');
let builtinModule: ReturnType<typeof loadBuiltin> | undefined;

/**
 * The environment LLM settings are read from when `--provider` names a chain: the providers it names
 * are configured beside those configured without it (WAFGEN_LLM_PROVIDERS, else every provider with
 * credentials; kept: a judge or the extraction may use them), even one the default list leaves out
 * (Bedrock on the AWS default credential chain).
 */
function withFlagProviders(env: NodeJS.ProcessEnv, chain: readonly string[] | undefined) {
  if (!chain) return env;
  const others = loadLlmConfig(env).providers.map((p) => p.name);
  return { ...env, WAFGEN_LLM_PROVIDERS: [...new Set([...chain, ...others])].join(',') };
}

export async function chooseEngine(
  config: Config,
  mode: EngineMode,
  providers?: string,
  env: NodeJS.ProcessEnv = process.env,
  /** Where the LLM client reports (the service's registry); none for a one-off command. */
  metrics?: Pick<Metrics, 'llmHooks'>,
): Promise<EngineChoice> {
  let chain: ProviderName[] | undefined;
  if (providers) {
    const names = providers.split(',').map((p) => p.trim());
    const unknown = names.filter((p) => !isProviderName(p));
    if (unknown.length)
      throw new InputError(
        `unknown provider ${unknown.join(', ')} (known: ${PROVIDER_NAMES.join(', ')}, and openai-compatible:<name> for each WAFGEN_OPENAI_COMPATIBLE_<NAME>_URL)`,
      );
    chain = names as ProviderName[];
  }
  // Read before the engine is chosen, so a bad value is refused whichever engine runs.
  const batchWindowMs = parseLlmBatchWindow(env);
  try {
    // Offline, or built-in asked for: no need to read LLM settings at all. One the flag names that
    // nothing configures is bad input, not a silent built-in fallback.
    const llmConfig =
      mode === 'builtin' || config.WAFGEN_OFFLINE ? undefined : loadLlmConfig(withFlagProviders(env, chain));
    const unconfigured = llmConfig && chain?.filter((p) => !llmConfig.providers.some((s) => s.name === p));
    if (unconfigured?.length)
      throw new InputError(
        `--provider: ${unconfigured
          .map((p) =>
            p.startsWith('openai-compatible:')
              ? `${p} needs WAFGEN_OPENAI_COMPATIBLE_${p.slice('openai-compatible:'.length).toUpperCase().replace(/-/g, '_')}_URL and _MODEL`
              : `${p} has no credentials`,
          )
          .join('; ')}`,
      );
    // The LLM engine brings the AI SDK and its providers (about half a second of CPU to import):
    // when the decision is the built-in engine, only that one is loaded.
    const decided = decideEngine(mode, (llmConfig?.providers.length ?? 0) > 0, config.WAFGEN_OFFLINE, '');
    if (decided.mode === 'builtin') {
      const { BuiltinEngine } = await (builtinModule ??= loadBuiltin());
      return { engine: new BuiltinEngine(), mode: 'builtin', reason: decided.reason };
    }
    const { createEngine } = await import('../generation/llm/index.js');
    return createEngine({
      mode,
      ...(llmConfig ? { llmConfig } : {}),
      offline: config.WAFGEN_OFFLINE,
      ...(chain || batchWindowMs !== undefined
        ? {
            engine: {
              ...(chain ? { providers: chain } : {}),
              ...(batchWindowMs !== undefined ? { batchWindowMs } : {}),
            },
          }
        : {}),
      ...(metrics ? { clientDeps: metrics.llmHooks(llmConfig?.providers.map((p) => p.name)) } : {}),
    });
  } catch (e) {
    if (e instanceof LlmConfigError || e instanceof EngineConfigError) throw new InputError(e.message);
    throw e;
  }
}

/** Most candidates per attempt (generation/loop.ts MAX_CANDIDATES). */
const MAX_CANDIDATES = 8;

/** A candidate count from a flag, a body or WAFGEN_CANDIDATES: a whole number from 1 to 8. */
export function parseCandidates(value: string | number, what: string): number {
  const n = typeof value === 'number' ? value : Number(value.trim());
  if (
    !Number.isInteger(n) ||
    n < 1 ||
    n > MAX_CANDIDATES ||
    (typeof value === 'string' && !/^\s*\d+\s*$/.test(value))
  )
    throw new InputError(`${what} must be a whole number from 1 to ${MAX_CANDIDATES}`);
  return n;
}

/** WAFGEN_CANDIDATES and WAFGEN_JUDGE: the defaults of every generation in this process. */
export function generationDefaults(env: NodeJS.ProcessEnv): {
  candidates?: number;
  judge?: string;
  llmBatch?: number;
} {
  const candidates = env.WAFGEN_CANDIDATES?.trim();
  const judge = env.WAFGEN_JUDGE?.trim();
  const batch = env.WAFGEN_LLM_BATCH?.trim();
  return {
    ...(candidates ? { candidates: parseCandidates(candidates, 'WAFGEN_CANDIDATES') } : {}),
    ...(judge ? { judge } : {}),
    ...(batch ? { llmBatch: parseLlmBatch(batch, 'WAFGEN_LLM_BATCH') } : {}),
  };
}

/** An LLM batch size from --llm-batch, a job or WAFGEN_LLM_BATCH: a whole number from 1 to 8. */
export function parseLlmBatch(value: string | number, what: string): number {
  const n = typeof value === 'number' ? value : Number(value.trim());
  if (!Number.isInteger(n) || n < 1 || n > 8 || (typeof value === 'string' && !/^\s*\d+\s*$/.test(value)))
    throw new InputError(`${what} must be a whole number from 1 to 8`);
  return n;
}

/** Longest WAFGEN_LLM_BATCH_WINDOW_MS: a first attempt waits at most this long for others. */
const MAX_LLM_BATCH_WINDOW_MS = 60_000;

/**
 * WAFGEN_LLM_BATCH_WINDOW_MS: how long a first attempt waits for others to share its batched call
 * before it goes out with those that came (whole milliseconds, 0 to 60000; unset: the engine's
 * 150). A batch that reaches its size goes out at once, whatever the window. Keep it well under
 * WAFGEN_GENERATE_TIMEOUT_MS (default 120 s): a generation's deadline includes its wait.
 */
export function parseLlmBatchWindow(env: NodeJS.ProcessEnv): number | undefined {
  const raw = env.WAFGEN_LLM_BATCH_WINDOW_MS?.trim();
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!/^\d{1,5}$/.test(raw) || n > MAX_LLM_BATCH_WINDOW_MS)
    throw new InputError(
      `WAFGEN_LLM_BATCH_WINDOW_MS must be a whole number of milliseconds from 0 to ${MAX_LLM_BATCH_WINDOW_MS}`,
    );
  return n;
}
