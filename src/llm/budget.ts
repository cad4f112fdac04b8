// Token and cost accounting. One Budget per rule: every LLM call made while generating that rule
// (first try, self-corrections, every provider in the failover chain) draws on it. A call that
// could overrun it is refused before any HTTP request is made.
//
// Input tokens are estimated before the call as ceil(characters / 4), the usual rule of thumb for
// English and JSON with the providers' BPE tokenizers; the estimate covers what that provider is
// sent: the system prompt, the prompt, and the JSON schema for structured output or the schema's
// digest (src/llm/failover.ts). After the call the provider's reported usage is recorded, not the
// estimate. The cost check is worst case: estimated input plus the full maxOutputTokens, at the
// model's price.
//
// The roadmap's budget of 4,000 input tokens per rule (WAFGEN_MAX_INPUT_TOKENS=4000) holds a typical
// CVE's first call: `npm run bench:llm` measures ~3,000 o200k tokens per call with the schema sent
// natively and ~1,900 with the digest (12 bundled CVEs, every rule from the LLM), where the prompt
// with the three-level schema took ~4,300 and was refused every time. A retry does not fit in it.
import type { Attempt } from './attempt.js';
import { costOf, type ModelPrice } from './prices.js';
import type { ProviderName } from './providers.js';

export interface BudgetLimits {
  maxInputTokens: number;
  maxOutputTokens: number;
  /** USD; Infinity for no cap. */
  maxCostUsd: number;
}

export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
}

export type BudgetLimit = 'input-tokens' | 'output-tokens' | 'cost';

export class BudgetExceeded extends Error {
  /** When failover refused every provider for budget: one attempt per provider, none sent. */
  attempts: readonly Attempt[] = [];
  constructor(
    readonly limit: BudgetLimit,
    /** What the call would need: tokens, or USD for `cost`. */
    readonly requested: number,
    /** What the budget has left, in the same unit. */
    readonly remaining: number,
    message: string,
    readonly provider?: ProviderName,
    readonly model?: string,
  ) {
    super(message);
    this.name = 'BudgetExceeded';
  }
}

/** Characters / 4, rounded up. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

export interface CallEstimate {
  estimatedInputTokens: number;
  maxOutputTokens: number;
}

export interface BudgetSpent extends TokenUsage {
  costUsd: number;
  calls: number;
}

const usd = (n: number) => `$${n.toFixed(6).replace(/0+$/, '').replace(/\.$/, '')}`;

export class Budget {
  readonly limits: Readonly<BudgetLimits>;
  readonly #spent: BudgetSpent = { inputTokens: 0, outputTokens: 0, costUsd: 0, calls: 0 };

  constructor(limits: BudgetLimits) {
    this.limits = Object.freeze({ ...limits });
  }

  get spent(): Readonly<BudgetSpent> {
    return { ...this.#spent };
  }

  remaining(): { inputTokens: number; outputTokens: number; costUsd: number } {
    return {
      inputTokens: Math.max(0, this.limits.maxInputTokens - this.#spent.inputTokens),
      outputTokens: Math.max(0, this.limits.maxOutputTokens - this.#spent.outputTokens),
      costUsd: Math.max(0, this.limits.maxCostUsd - this.#spent.costUsd),
    };
  }

  /** Throws BudgetExceeded when the call's tokens alone would overrun the budget (any model). */
  checkTokens(call: CallEstimate): void {
    const left = this.remaining();
    if (call.estimatedInputTokens > left.inputTokens)
      throw new BudgetExceeded(
        'input-tokens',
        call.estimatedInputTokens,
        left.inputTokens,
        `input budget exceeded: the prompt is about ${call.estimatedInputTokens} tokens, ${left.inputTokens} of ${this.limits.maxInputTokens} remain for this rule (WAFGEN_MAX_INPUT_TOKENS)`,
      );
    if (call.maxOutputTokens > left.outputTokens)
      throw new BudgetExceeded(
        'output-tokens',
        call.maxOutputTokens,
        left.outputTokens,
        `output budget exceeded: the call may produce ${call.maxOutputTokens} tokens, ${left.outputTokens} of ${this.limits.maxOutputTokens} remain for this rule (WAFGEN_MAX_OUTPUT_TOKENS)`,
      );
  }

  /**
   * Throws BudgetExceeded when the call could overrun the budget on this model: tokens as in
   * checkTokens, then the worst-case cost at `price`. A model without a price is refused while a
   * cost cap is set, since its spend could not be bounded.
   */
  check(call: CallEstimate, price: ModelPrice | undefined, provider?: ProviderName, model?: string): void {
    this.checkTokens(call);
    if (!Number.isFinite(this.limits.maxCostUsd)) return;
    const left = this.remaining().costUsd;
    if (!price)
      throw new BudgetExceeded(
        'cost',
        Number.POSITIVE_INFINITY,
        left,
        `no price known for ${provider ?? ''}${provider ? '/' : ''}${model ?? 'the model'}: add it to WAFGEN_PRICE_TABLE or set WAFGEN_MAX_COST_USD=none`,
        provider,
        model,
      );
    const worst = costOf(
      { inputTokens: call.estimatedInputTokens, outputTokens: call.maxOutputTokens },
      price,
    );
    if (worst > left)
      throw new BudgetExceeded(
        'cost',
        worst,
        left,
        `cost budget exceeded: the call to ${model ?? 'the model'} could cost ${usd(worst)}, ${usd(left)} of ${usd(this.limits.maxCostUsd)} remain for this rule (WAFGEN_MAX_COST_USD)`,
        provider,
        model,
      );
  }

  /** Records what a call actually used; returns its cost in USD (0 when the price is unknown). */
  record(usage: TokenUsage, price: ModelPrice | undefined): number {
    const cost = price ? costOf(usage, price) : 0;
    this.#spent.inputTokens += usage.inputTokens;
    this.#spent.outputTokens += usage.outputTokens;
    this.#spent.costUsd += cost;
    this.#spent.calls += 1;
    return cost;
  }
}
