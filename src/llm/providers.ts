// The providers wafgen can ask, and the two jobs it asks them to do.

export const PROVIDER_NAMES = ['openai', 'anthropic', 'google', 'bedrock', 'openai-compatible'] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];

/** `main` writes rules; `mini` does the cheap work (signature extraction, summaries). */
export type ModelRole = 'main' | 'mini';

/** Models used when WAFGEN_<PROVIDER>_MODEL / _MINI_MODEL are unset. */
export const DEFAULT_MODELS: Record<Exclude<ProviderName, 'openai-compatible'>, Record<ModelRole, string>> = {
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
