// Structured output from the first provider in the chain that can give it.
//
// Per provider, outermost first: budget check → retry (exponential backoff; Retry-After honoured
// up to a cap) → circuit breaker (consecutive failures open it; after the cool-down one probe is
// let through) → timeout (aborts the HTTP request, headers and body) → generateText with an
// Output.object schema. A provider that fails for good hands over to the next; when none is left,
// AllProvidersFailed carries every attempt and the caller falls back to the built-in engine.
import {
  asSchema,
  generateText,
  NoObjectGeneratedError,
  Output,
  TypeValidationError,
  type LanguageModelUsage,
} from 'ai';
import {
  CircuitState,
  ConsecutiveBreaker,
  ExponentialBackoff,
  TimeoutStrategy,
  circuitBreaker,
  handleWhen,
  retry,
  timeout,
  type CircuitBreakerPolicy,
  type IBackoff,
  type IBackoffFactory,
  type IRetryBackoffContext,
  type RetryPolicy,
} from 'cockatiel';
import type { z } from 'zod';

import { Budget, BudgetExceeded, estimateTokens, type TokenUsage } from './budget.js';
import { secretValues, type LlmConfig } from './config.js';
import {
  AllProvidersFailed,
  BREAKER_FAILURES,
  ProviderRefused,
  RETRYABLE,
  classify,
  describe,
  type Attempt,
  type Classified,
} from './errors.js';
import { priceFor } from './prices.js';
import type { ModelRole, ProviderName } from './providers.js';
import { createModelRegistry, type ModelRegistry, type RegistryDeps } from './registry.js';

/** Output tokens allowed to one call when the caller does not say (capped by the budget left). */
const DEFAULT_MAX_OUTPUT_TOKENS = 4096;

export type BreakerState = 'closed' | 'open' | 'half-open';

/** What a call is for, as metrics and logs tell the costs apart. */
type LlmStage = 'generate' | 'extract' | 'judge';

export interface GenerateObjectRequest<T> {
  role: ModelRole;
  /** What the call is for (default `generate`): carried by each of its attempts. */
  stage?: LlmStage;
  schema: z.ZodType<T>;
  system: string;
  prompt: string;
  /** Default: min(DEFAULT_MAX_OUTPUT_TOKENS, output tokens left in the budget). */
  maxOutputTokens?: number;
  /** The rule's budget; without one, a fresh budget from the configuration covers this call only. */
  budget?: Budget;
  /** Name and description of the output, sent to providers that take them (OpenAI json_schema). */
  schemaName?: string;
  schemaDescription?: string;
  /**
   * The schema as a few lines of text. When given, a provider whose structured output cannot take
   * the schema (Gemini: no recursive `$ref`), or every provider under WAFGEN_LLM_OUTPUT=digest, is
   * asked for JSON with this digest after the system prompt, and the answer is validated against
   * `schema` here. Without it every provider gets the schema natively.
   */
  schemaDigest?: string;
  /** A subset or reordering of the configured chain (the CLI's --provider). */
  providers?: readonly ProviderName[];
  /** Sampling temperature (candidates ask at different ones); default: the provider's. */
  temperature?: number;
  /** A model of the provider to use instead of the role's (the judge's `provider:model`). */
  modelId?: string;
  abortSignal?: AbortSignal;
}

export interface GenerateObjectResult<T> {
  object: T;
  provider: ProviderName;
  model: string;
  /** What the successful call used, as the provider reported it. */
  usage: TokenUsage;
  /** USD for the successful call (failed calls that were billed are in their attempts and the budget). */
  costUsd: number;
  attempts: AttemptRecord[];
}

export interface AttemptRecord extends Attempt {
  /** The request's stage (`generate` unless it said otherwise). */
  stage?: LlmStage;
  /** Tokens billed by this attempt, when the provider answered (also for invalid output). */
  usage?: TokenUsage;
  costUsd?: number;
}

export interface LlmClientDeps extends RegistryDeps {
  /** Models to use instead of building them from the configuration. */
  registry?: ModelRegistry;
  /** Every attempt as it finishes: for logs and metrics. Never contains secrets. */
  onAttempt?: (attempt: AttemptRecord) => void;
  onBreakerStateChange?: (provider: ProviderName, state: BreakerState) => void;
  /**
   * Every call as it ends, with its attempts in order (failovers are the changes of provider):
   * `ok`, `failed` (every provider failed) or `budget` (refused before any request was made).
   */
  onCall?: (attempts: readonly AttemptRecord[], outcome: 'ok' | 'failed' | 'budget') => void;
}

export interface LlmClient {
  /** The configured chain. */
  readonly providers: readonly ProviderName[];
  generateObject<T>(request: GenerateObjectRequest<T>): Promise<GenerateObjectResult<T>>;
  /**
   * Breaker state per configured provider. `half-open` means the cool-down has passed: the next
   * call goes through as a probe (or one is in flight); its outcome closes or reopens the breaker.
   */
  breakerStates(): Record<string, BreakerState>;
  /** A budget with the configured per-rule limits. */
  newBudget(): Budget;
}

/** Exponential backoff, except after a response that says how long to wait. */
class RetryAfterBackoff implements IBackoffFactory<IRetryBackoffContext<unknown>> {
  constructor(private readonly inner: IBackoffFactory<unknown>) {}
  next(context: IRetryBackoffContext<unknown>): IBackoff<IRetryBackoffContext<unknown>> {
    const innerNext = this.inner.next(context);
    const after = 'error' in context.result ? classify(context.result.error).retryAfterMs : undefined;
    return {
      duration: after ?? innerNext.duration,
      next: (c) => new RetryAfterBackoff(innerNext).next(c),
    };
  }
}

interface Breaker {
  policy: CircuitBreakerPolicy;
  openedAt: number;
}

function normaliseUsage(usage: LanguageModelUsage | undefined, fallback: TokenUsage): TokenUsage {
  return {
    inputTokens: usage?.inputTokens ?? fallback.inputTokens,
    outputTokens: usage?.outputTokens ?? fallback.outputTokens,
  };
}

function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error
    ? signal.reason
    : Object.assign(new Error('the LLM call was aborted'), { name: 'AbortError' });
}

export function createLlmClient(config: LlmConfig, deps: LlmClientDeps = {}): LlmClient {
  const registry = deps.registry ?? createModelRegistry(config, deps);
  const secrets = secretValues(config);
  const chain = registry.providers;

  const breakers = new Map<ProviderName, Breaker>();
  for (const provider of chain) {
    const policy = circuitBreaker(
      handleWhen((e) => BREAKER_FAILURES.has(classify(e).kind)),
      { halfOpenAfter: config.breaker.cooldownMs, breaker: new ConsecutiveBreaker(config.breaker.threshold) },
    );
    const b: Breaker = { policy, openedAt: 0 };
    policy.onBreak(() => {
      b.openedAt = Date.now();
    });
    policy.onStateChange((s) => deps.onBreakerStateChange?.(provider, toBreakerState(s)));
    breakers.set(provider, b);
  }

  const stateOf = (b: Breaker): BreakerState => {
    const s = b.policy.state;
    if (s === CircuitState.Open && Date.now() - b.openedAt >= config.breaker.cooldownMs) return 'half-open';
    return toBreakerState(s);
  };

  const retryPolicy: RetryPolicy = retry(
    handleWhen((e) => {
      const c = classify(e);
      return (
        RETRYABLE.has(c.kind) && !(c.retryAfterMs !== undefined && c.retryAfterMs > config.retryAfterMaxMs)
      );
    }),
    {
      maxAttempts: config.retries,
      backoff: new RetryAfterBackoff(
        new ExponentialBackoff({ initialDelay: config.backoff.initialMs, maxDelay: config.backoff.maxMs }),
      ),
    },
  );
  const timeoutPolicy = timeout(config.timeoutMs, TimeoutStrategy.Aggressive);

  const newBudget = () => new Budget(config.budget);

  async function generateObject<T>(req: GenerateObjectRequest<T>): Promise<GenerateObjectResult<T>> {
    if (!deps.onCall) return attemptChain(req);
    try {
      const r = await attemptChain(req);
      deps.onCall(r.attempts, 'ok');
      return r;
    } catch (e) {
      if (e instanceof BudgetExceeded) deps.onCall(e.attempts, 'budget');
      else if (e instanceof AllProvidersFailed) deps.onCall(e.attempts, 'failed');
      throw e;
    }
  }

  async function attemptChain<T>(req: GenerateObjectRequest<T>): Promise<GenerateObjectResult<T>> {
    const budget = req.budget ?? newBudget();
    const order = req.providers ?? chain;
    for (const p of order)
      if (!chain.includes(p)) throw new Error(`LLM provider ${p} is not configured (WAFGEN_LLM_PROVIDERS)`);

    const schema = asSchema(req.schema);
    const jsonSchema = await Promise.resolve(schema.jsonSchema);
    const schemaText = JSON.stringify(jsonSchema);
    const recursive = isRecursive(jsonSchema);
    // What each provider is sent: the schema natively, or JSON mode with the digest (see the request).
    const digestFor = (provider: ProviderName): boolean =>
      req.schemaDigest !== undefined &&
      (config.outputSchema === 'digest' || !takesSchema(provider, recursive));
    const systemFor = (provider: ProviderName) =>
      digestFor(provider) ? `${req.system}\n\n${req.schemaDigest}` : req.system;
    const left = budget.remaining().outputTokens;
    const maxOutputTokens =
      req.maxOutputTokens ??
      (left > 0 ? Math.min(DEFAULT_MAX_OUTPUT_TOKENS, left) : DEFAULT_MAX_OUTPUT_TOKENS);
    // The estimate covers what is sent: system prompt (with the digest) and prompt, and the schema
    // when it goes natively.
    const estimateFor = (provider: ProviderName) => ({
      estimatedInputTokens: estimateTokens(
        systemFor(provider) + req.prompt + (digestFor(provider) ? '' : schemaText),
      ),
      maxOutputTokens,
    });
    // Token limits hold whatever the model: refuse before trying anyone when even the smallest
    // request of the chain is over them.
    const estimates = order.map(estimateFor);
    budget.checkTokens(
      estimates.reduce(
        (a, b) => (b.estimatedInputTokens < a.estimatedInputTokens ? b : a),
        estimates[0] ?? estimateFor(chain[0]!),
      ),
    );

    const attempts: AttemptRecord[] = [];
    const stage = req.stage ?? 'generate';
    const note = (attempt: AttemptRecord) => {
      const a = { ...attempt, stage };
      attempts.push(a);
      deps.onAttempt?.(a);
    };
    const failed = (provider: ProviderName, model: string, err: unknown, c: Classified, ms: number) =>
      ({
        provider,
        model,
        ok: false,
        kind: c.kind,
        ...(c.status !== undefined ? { status: c.status } : {}),
        error: describe(err, c, secrets),
        ...(err instanceof ProviderRefused ? { refused: true as const } : {}),
        ms,
      }) satisfies AttemptRecord;

    let budgetRefusal: BudgetExceeded | undefined;
    for (const provider of order) {
      const model = req.modelId ?? registry.modelId(provider, req.role);
      const price = priceFor(config.prices, provider, model);
      const breaker = breakers.get(provider)!;
      const estimate = estimateFor(provider);
      const { estimatedInputTokens } = estimate;
      const digest = digestFor(provider);
      try {
        budget.check(estimate, price, provider, model);
      } catch (err) {
        if (!(err instanceof BudgetExceeded)) throw err;
        budgetRefusal ??= err;
        note(failed(provider, model, err, { kind: 'budget' }, 0));
        continue;
      }

      try {
        const done = await retryPolicy.execute(async () => {
          // Again per attempt: a budget shared by concurrent calls may have moved.
          try {
            budget.check(estimate, price, provider, model);
          } catch (err) {
            note(failed(provider, model, err, { kind: 'budget' }, 0));
            throw err;
          }
          const started = performance.now();
          let billed: TokenUsage | undefined;
          try {
            const out = await breaker.policy.execute(
              (outer) =>
                timeoutPolicy.execute(async ({ signal }) => {
                  const named = {
                    ...(req.schemaName ? { name: req.schemaName } : {}),
                    ...(req.schemaDescription ? { description: req.schemaDescription } : {}),
                  };
                  const result = await generateText({
                    model: req.modelId
                      ? registry.modelById(provider, req.modelId)
                      : registry.model(provider, req.role),
                    ...(req.temperature !== undefined ? { temperature: req.temperature } : {}),
                    system: systemFor(provider),
                    prompt: req.prompt,
                    output: digest ? Output.json(named) : Output.object({ schema: req.schema, ...named }),
                    maxOutputTokens,
                    // Exploit evidence has no business being kept on OpenAI's side (the
                    // Responses API stores responses unless told not to).
                    providerOptions: {
                      openai: { store: false },
                      // Claude's native structured output (output_config) takes no recursive schema:
                      // Bedrock asks through the `json` tool then, as the Anthropic package does itself.
                      ...(recursive ? { bedrock: { structuredOutputMode: 'jsonTool' } } : {}),
                    },
                    maxRetries: 0,
                    abortSignal: signal,
                  }).catch((e: unknown) => {
                    // A filtered answer with some text fails to parse inside generateText.
                    if (NoObjectGeneratedError.isInstance(e) && e.finishReason === 'content-filter') {
                      billed = normaliseUsage(e.usage, {
                        inputTokens: estimatedInputTokens,
                        outputTokens: 0,
                      });
                      throw new ProviderRefused(e.finishReason, e.text ?? '');
                    }
                    throw e;
                  });
                  billed = normaliseUsage(result.totalUsage, {
                    inputTokens: estimatedInputTokens,
                    outputTokens: estimateTokens(result.text),
                  });
                  // Filtered: whatever text came with it is no answer to use (see ProviderRefused).
                  if (result.finishReason === 'content-filter')
                    throw new ProviderRefused(result.finishReason, result.text);
                  if (!digest) return { object: result.output as T, usage: billed };
                  // JSON mode: the provider checked nothing; the schema does it here.
                  const checked = await schema.validate!(result.output);
                  if (!checked.success)
                    throw new TypeValidationError({ value: result.output, cause: checked.error });
                  return { object: checked.value, usage: billed };
                }, outer.signal),
              req.abortSignal,
            );
            const costUsd = budget.record(out.usage, price);
            const ok: AttemptRecord = {
              provider,
              model,
              ok: true,
              ms: Math.round(performance.now() - started),
              usage: out.usage,
              costUsd,
            };
            note(ok);
            return { ...out, costUsd };
          } catch (err) {
            if (req.abortSignal?.aborted) throw abortError(req.abortSignal);
            const ms = Math.round(performance.now() - started);
            const c = classify(err);
            const a: AttemptRecord = failed(provider, model, err, c, c.kind === 'circuit-open' ? 0 : ms);
            // The model answered (badly): those tokens were billed all the same.
            if (!billed && NoObjectGeneratedError.isInstance(err) && err.usage)
              billed = normaliseUsage(err.usage, { inputTokens: estimatedInputTokens, outputTokens: 0 });
            if (billed) {
              a.usage = billed;
              a.costUsd = budget.record(billed, price);
            }
            note(a);
            throw err;
          }
        }, req.abortSignal);
        return { object: done.object, provider, model, usage: done.usage, costUsd: done.costUsd, attempts };
      } catch (err) {
        if (req.abortSignal?.aborted) throw abortError(req.abortSignal);
        if (err instanceof BudgetExceeded) budgetRefusal ??= err;
        // Recorded already; next provider.
      }
    }

    // Refused everywhere without a request: the budget is the reason, report the first refusal.
    if (budgetRefusal && attempts.every((a) => a.kind === 'budget')) {
      budgetRefusal.attempts = attempts;
      throw budgetRefusal;
    }
    throw new AllProvidersFailed(attempts);
  }

  return {
    providers: chain,
    generateObject,
    breakerStates: () => Object.fromEntries([...breakers].map(([p, b]) => [p, stateOf(b)])),
    newBudget,
  };
}

/** Whether a JSON Schema refers to itself (`$ref` to a definition that contains it, or to `#`). */
function isRecursive(jsonSchema: unknown): boolean {
  const root = jsonSchema as { definitions?: Record<string, unknown>; $defs?: Record<string, unknown> };
  const defs = { ...root.definitions, ...root.$defs };
  const refsOf = (node: unknown, out: Set<string>): Set<string> => {
    if (Array.isArray(node)) for (const n of node) refsOf(n, out);
    else if (node && typeof node === 'object')
      for (const [k, v] of Object.entries(node))
        if (k === '$ref' && typeof v === 'string') out.add(v.replace(/^#\/(definitions|\$defs)\//, ''));
        else refsOf(v, out);
    return out;
  };
  if (refsOf(jsonSchema, new Set()).has('#')) return true;
  // A definition that reaches itself through references.
  const edges = new Map(Object.entries(defs).map(([name, d]) => [name, refsOf(d, new Set())]));
  const reaches = (from: string, target: string, seen = new Set<string>()): boolean => {
    for (const to of edges.get(from) ?? []) {
      if (to === target) return true;
      if (!seen.has(to) && (seen.add(to), reaches(to, target, seen))) return true;
    }
    return false;
  };
  return [...edges.keys()].some((name) => reaches(name, name));
}

/**
 * Whether the provider's structured output takes the schema natively. Gemini's responseSchema has
 * no recursion (the AI SDK refuses to convert a recursive `$ref`); the others take it (Anthropic and
 * Bedrock as a tool's input schema, OpenAI and OpenAI-compatible servers as strict json_schema).
 */
function takesSchema(provider: ProviderName, recursive: boolean): boolean {
  return provider !== 'google' || !recursive;
}

function toBreakerState(s: CircuitState): BreakerState {
  if (s === CircuitState.Closed) return 'closed';
  if (s === CircuitState.HalfOpen) return 'half-open';
  return 'open';
}
