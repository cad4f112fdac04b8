// Model prices in USD per million tokens, and how a model id finds its price.
//
// The built-in figures are list prices for standard (not batch, not cached, not long-context)
// requests as the providers published them in late 2025. Prices change: WAFGEN_PRICE_TABLE points
// at a JSON file whose entries override or extend these ({ "<model>": { "input": 2, "output": 8 } },
// keys optionally prefixed "<provider>/", and "<provider>/*" as that provider's catch-all).
import { z } from 'zod';

import { kindOf, type ProviderName } from './providers.js';

export interface ModelPrice {
  /** USD per 1,000,000 input (prompt) tokens. */
  input: number;
  /** USD per 1,000,000 output (completion, including reasoning) tokens. */
  output: number;
}

export type PriceTable = Readonly<Record<string, ModelPrice>>;

export const PriceTableFileSchema = z.record(
  z.string().min(1),
  z.strictObject({ input: z.number().min(0).finite(), output: z.number().min(0).finite() }),
);

export const BUILTIN_PRICES: PriceTable = {
  // OpenAI
  'gpt-5': { input: 1.25, output: 10 },
  'gpt-5-mini': { input: 0.25, output: 2 },
  'gpt-5-nano': { input: 0.05, output: 0.4 },
  'gpt-4.1': { input: 2, output: 8 },
  'gpt-4.1-mini': { input: 0.4, output: 1.6 },
  'gpt-4.1-nano': { input: 0.1, output: 0.4 },
  'gpt-4o': { input: 2.5, output: 10 },
  'gpt-4o-mini': { input: 0.15, output: 0.6 },
  o3: { input: 2, output: 8 },
  'o3-mini': { input: 1.1, output: 4.4 },
  'o4-mini': { input: 1.1, output: 4.4 },
  // Anthropic (also the price of the same models on Bedrock)
  'claude-opus-4-5': { input: 5, output: 25 },
  'claude-opus-4-1': { input: 15, output: 75 },
  'claude-opus-4': { input: 15, output: 75 },
  'claude-opus-4-0': { input: 15, output: 75 },
  'claude-sonnet-4-5': { input: 3, output: 15 },
  'claude-sonnet-4': { input: 3, output: 15 },
  'claude-sonnet-4-0': { input: 3, output: 15 },
  'claude-3-7-sonnet': { input: 3, output: 15 },
  'claude-haiku-4-5': { input: 1, output: 5 },
  'claude-3-5-haiku': { input: 0.8, output: 4 },
  'claude-3-haiku': { input: 0.25, output: 1.25 },
  // Google
  'gemini-2.5-pro': { input: 1.25, output: 10 },
  'gemini-2.5-flash': { input: 0.3, output: 2.5 },
  'gemini-2.5-flash-lite': { input: 0.1, output: 0.4 },
  'gemini-2.0-flash': { input: 0.1, output: 0.4 },
  'gemini-2.0-flash-lite': { input: 0.075, output: 0.3 },
  // Amazon (Bedrock)
  'nova-pro': { input: 0.8, output: 3.2 },
  'nova-lite': { input: 0.06, output: 0.24 },
  'nova-micro': { input: 0.035, output: 0.14 },
  // A self-hosted OpenAI-compatible server (Ollama, vLLM) costs nothing per token.
  'openai-compatible/*': { input: 0, output: 0 },
};

/**
 * The forms of a model id worth looking up, most specific first: the id itself, then without a
 * Bedrock inference-profile prefix (`us.`, `eu.`, `global.`...), vendor prefix (`anthropic.`),
 * version suffix (`-v1:0`) and date snapshot (`-20250929`, `-2025-04-14`). Only those suffixes are
 * stripped: `gpt-5-pro` never falls back to the cheaper `gpt-5`.
 */
function modelIdForms(model: string): string[] {
  const forms = [model];
  let m = model.replace(/^(us|eu|apac|jp|au|ca|us-gov|global)\./, '');
  m = m.replace(/^(anthropic|amazon|meta|mistral|cohere|openai|deepseek|qwen)\./, '');
  m = m.replace(/-v\d+(:\d+)?$/, '');
  forms.push(m);
  forms.push(m.replace(/-(\d{8}|\d{4}-\d{2}-\d{2})$/, ''));
  forms.push(m.replace(/-latest$/, ''));
  return [...new Set(forms)];
}

/** The price of `model` served by `provider`, or undefined when the table does not know it. */
export function priceFor(table: PriceTable, provider: ProviderName, model: string): ModelPrice | undefined {
  // A named endpoint (`openai-compatible:vllm`) is priced as itself first, then as its kind.
  const kind = kindOf(provider);
  for (const form of modelIdForms(model)) {
    const hit =
      table[`${provider}/${form}`] ??
      (kind !== provider ? table[`${kind}/${form}`] : undefined) ??
      table[form];
    if (hit) return hit;
  }
  return table[`${provider}/*`] ?? table[`${kind}/*`];
}

/** USD for the given usage at the given price. */
export function costOf(usage: { inputTokens: number; outputTokens: number }, price: ModelPrice): number {
  return (usage.inputTokens * price.input + usage.outputTokens * price.output) / 1_000_000;
}
