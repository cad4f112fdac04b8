/** @module The providers wafgen can ask, the named endpoints of the chain, and the two jobs it asks them to do. */

export const PROVIDER_NAMES = ['openai', 'anthropic', 'google', 'bedrock', 'openai-compatible'] as const;
/** The kinds of provider wafgen speaks to. */
export type ProviderKind = (typeof PROVIDER_NAMES)[number];
/** A named OpenAI-compatible endpoint (WAFGEN_OPENAI_COMPATIBLE_<NAME>_URL), e.g. `openai-compatible:vllm`. */
export type NamedEndpoint = `openai-compatible:${string}`;
/** One link of the failover chain: a provider, or one of any number of named OpenAI-compatible endpoints. */
export type ProviderName = ProviderKind | NamedEndpoint;

const NAMED = /^openai-compatible:[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$/;

/** Whether `name` is a provider wafgen knows, or a well-formed named endpoint. */
export function isProviderName(name: string): name is ProviderName {
  return (PROVIDER_NAMES as readonly string[]).includes(name) || NAMED.test(name);
}

/** The kind of a chain link: `openai-compatible` for every named endpoint. */
export function kindOf(provider: ProviderName): ProviderKind {
  return provider.startsWith('openai-compatible:') ? 'openai-compatible' : (provider as ProviderKind);
}

/** `main` writes rules; `mini` does the cheap work (signature extraction, summaries). */
export type ModelRole = 'main' | 'mini';

/** Models used when WAFGEN_<PROVIDER>_MODEL / _MINI_MODEL are unset. */
export const DEFAULT_MODELS: Record<Exclude<ProviderKind, 'openai-compatible'>, Record<ModelRole, string>> = {
  openai: { main: 'gpt-4.1', mini: 'gpt-4.1-mini' },
  anthropic: { main: 'claude-sonnet-4-5', mini: 'claude-haiku-4-5' },
  google: { main: 'gemini-2.5-pro', mini: 'gemini-2.5-flash' },
  // Global cross-region inference profiles: callable from any commercial region.
  bedrock: {
    main: 'global.anthropic.claude-sonnet-4-5-20250929-v1:0',
    mini: 'global.anthropic.claude-haiku-4-5-20251001-v1:0',
  },
};

export const DEFAULT_BASE_URLS = {
  openai: 'https://api.openai.com/v1',
  anthropic: 'https://api.anthropic.com/v1',
  google: 'https://generativelanguage.googleapis.com/v1beta',
} as const;
