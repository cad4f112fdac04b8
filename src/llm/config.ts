// LLM settings from environment variables: the provider chain, keys and base URLs, models per role,
// timeouts, retries, circuit breakers, per-rule budgets and the price table. One Zod schema
// (LlmEnvSchema), meant to be merged into src/config; loadLlmConfig names every bad variable and
// never echoes a value, since most of them are secrets.
import { readFileSync } from 'node:fs';
import { z } from 'zod';

import { Secret } from '../config/secret.js';

import { BUILTIN_PRICES, PriceTableFileSchema, type PriceTable } from './prices.js';
import {
  DEFAULT_BASE_URLS,
  DEFAULT_MODELS,
  PROVIDER_NAMES,
  isProviderName,
  type ModelRole,
  type NamedEndpoint,
  type ProviderKind,
  type ProviderName,
} from './providers.js';

export { Secret } from '../config/secret.js';

const secret = z
  .string()
  .min(1)
  .transform((v) => new Secret(v));

const httpUrl = z.string().refine(
  (v) => {
    try {
      return ['http:', 'https:'].includes(new URL(v).protocol);
    } catch {
      return false;
    }
  },
  { message: 'must be a URL starting with http:// or https://' },
);

const modelId = z.string().trim().min(1).max(200);
const intAtLeast = (min: number) => z.coerce.number().int().min(min);

const providerList = z.string().transform((raw, ctx) => {
  const names = raw
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  for (const n of names) {
    if (!isProviderName(n))
      ctx.addIssue({
        code: 'custom',
        message: `lists unknown provider "${n}" (known: ${PROVIDER_NAMES.join(', ')}, and openai-compatible:<name> for each WAFGEN_OPENAI_COMPATIBLE_<NAME>_URL)`,
      });
  }
  if (names.length === 0) ctx.addIssue({ code: 'custom', message: 'must name at least one provider' });
  if (new Set(names).size !== names.length)
    ctx.addIssue({ code: 'custom', message: 'lists a provider twice' });
  return names as ProviderName[];
});

const usd = z.string().transform((raw, ctx) => {
  if (raw.trim().toLowerCase() === 'none') return Number.POSITIVE_INFINITY;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) {
    ctx.addIssue({ code: 'custom', message: 'must be a positive number of US dollars, or "none"' });
    return z.NEVER;
  }
  return n;
});

/** Every variable the LLM layer reads. Empty values count as unset. */
const LlmEnvSchema = z.object({
  /** Ordered provider chain, e.g. `openai,anthropic,google`. Default: every provider with credentials. */
  WAFGEN_LLM_PROVIDERS: providerList.optional(),

  OPENAI_API_KEY: secret.optional(),
  OPENAI_BASE_URL: httpUrl.optional(),
  /** `responses` (what `openai(model)` uses in @ai-sdk/openai 3) or `chat` (Chat Completions). */
  WAFGEN_OPENAI_API: z.enum(['responses', 'chat']).default('responses'),
  WAFGEN_OPENAI_MODEL: modelId.default(DEFAULT_MODELS.openai.main),
  WAFGEN_OPENAI_MINI_MODEL: modelId.default(DEFAULT_MODELS.openai.mini),

  ANTHROPIC_API_KEY: secret.optional(),
  ANTHROPIC_BASE_URL: httpUrl.optional(),
  WAFGEN_ANTHROPIC_MODEL: modelId.default(DEFAULT_MODELS.anthropic.main),
  WAFGEN_ANTHROPIC_MINI_MODEL: modelId.default(DEFAULT_MODELS.anthropic.mini),

  GOOGLE_GENERATIVE_AI_API_KEY: secret.optional(),
  /** Includes the API version, like the default https://generativelanguage.googleapis.com/v1beta. */
  GOOGLE_BASE_URL: httpUrl.optional(),
  WAFGEN_GOOGLE_MODEL: modelId.default(DEFAULT_MODELS.google.main),
  WAFGEN_GOOGLE_MINI_MODEL: modelId.default(DEFAULT_MODELS.google.mini),

  AWS_REGION: z
    .string()
    .regex(/^[a-z]{2,5}(-[a-z]+)+-\d+$/, 'must be an AWS region like us-east-1')
    .optional(),
  AWS_DEFAULT_REGION: z
    .string()
    .regex(/^[a-z]{2,5}(-[a-z]+)+-\d+$/, 'must be an AWS region like us-east-1')
    .optional(),
  AWS_ACCESS_KEY_ID: secret.optional(),
  AWS_SECRET_ACCESS_KEY: secret.optional(),
  AWS_SESSION_TOKEN: secret.optional(),
  AWS_BEARER_TOKEN_BEDROCK: secret.optional(),
  AWS_ENDPOINT_URL_BEDROCK_RUNTIME: httpUrl.optional(),
  WAFGEN_BEDROCK_MODEL: modelId.default(DEFAULT_MODELS.bedrock.main),
  WAFGEN_BEDROCK_MINI_MODEL: modelId.default(DEFAULT_MODELS.bedrock.mini),

  /**
   * An OpenAI-compatible server (Ollama, vLLM, LM Studio), e.g. http://127.0.0.1:11434/v1: the chain's
   * `openai-compatible`. Any number more, each named: WAFGEN_OPENAI_COMPATIBLE_<NAME>_URL and the
   * rest (see namedEndpoints), in the chain as `openai-compatible:<name>`.
   */
  WAFGEN_OPENAI_COMPATIBLE_URL: httpUrl.optional(),
  WAFGEN_OPENAI_COMPATIBLE_MODEL: modelId.optional(),
  WAFGEN_OPENAI_COMPATIBLE_MINI_MODEL: modelId.optional(),
  WAFGEN_OPENAI_COMPATIBLE_API_KEY: secret.optional(),

  /**
   * How the output schema reaches the model: `native` (the provider's structured output, where it
   * can take the schema; the others get JSON mode and a short digest of it) or `digest` (JSON mode
   * and the digest everywhere: fewer prompt tokens, no constrained decoding).
   */
  WAFGEN_LLM_OUTPUT: z.enum(['native', 'digest']).default('native'),

  /** Per HTTP attempt, headers and body together. */
  WAFGEN_LLM_TIMEOUT_MS: intAtLeast(1).default(60_000),
  /** Retries per provider after the first attempt, on transient failures only. */
  WAFGEN_LLM_RETRIES: intAtLeast(0).max(10).default(2),
  WAFGEN_LLM_BACKOFF_INITIAL_MS: intAtLeast(0).default(500),
  WAFGEN_LLM_BACKOFF_MAX_MS: intAtLeast(0).default(10_000),
  /** Longest Retry-After wafgen waits; a longer one moves on to the next provider instead. */
  WAFGEN_LLM_RETRY_AFTER_MAX_MS: intAtLeast(0).default(20_000),
  /** Consecutive failures (5xx, 429, network, timeout, 401/403) that open a provider's breaker. */
  WAFGEN_LLM_BREAKER_THRESHOLD: intAtLeast(1).default(5),
  /** How long an open breaker skips its provider before letting one probe call through. */
  WAFGEN_LLM_BREAKER_COOLDOWN_MS: intAtLeast(0).default(30_000),

  /** Per rule (one Budget shared by every call made for it). */
  WAFGEN_MAX_INPUT_TOKENS: intAtLeast(1).default(200_000),
  WAFGEN_MAX_OUTPUT_TOKENS: intAtLeast(1).default(32_000),
  WAFGEN_MAX_COST_USD: usd.default(1),
  /** Path of a JSON price table that overrides and extends the built-in one. */
  WAFGEN_PRICE_TABLE: z.string().min(1).optional(),
});

type Models = Record<ModelRole, string>;

type BedrockCredentials =
  | { kind: 'keys'; accessKeyId: Secret; secretAccessKey: Secret; sessionToken?: Secret }
  | { kind: 'bearer'; token: Secret }
  /** Nothing in the environment: the composition root must pass a credential provider. */
  | { kind: 'chain' };

export type ProviderSettings =
  | { name: 'openai'; apiKey: Secret; baseURL: string; api: 'responses' | 'chat'; models: Models }
  | { name: 'anthropic'; apiKey: Secret; baseURL: string; models: Models }
  | { name: 'google'; apiKey: Secret; baseURL: string; models: Models }
  | { name: 'bedrock'; region: string; baseURL?: string; credentials: BedrockCredentials; models: Models }
  | CompatibleSettings;

/** An OpenAI-compatible server: the unnamed one, or a named endpoint of the chain. */
export interface CompatibleSettings {
  name: 'openai-compatible' | NamedEndpoint;
  baseURL: string;
  apiKey?: Secret;
  models: Models;
}

/**
 * Named OpenAI-compatible endpoints, any number of them: `WAFGEN_OPENAI_COMPATIBLE_<NAME>_URL`
 * (required; it is what declares the endpoint), `_MODEL` (required), `_MINI_MODEL` (default: the
 * model), `_API_KEY`. NAME is letters, digits and underscores; the chain calls the endpoint
 * `openai-compatible:<name>` (lower case, `_` as `-`), e.g. WAFGEN_OPENAI_COMPATIBLE_LOCAL_VLLM_URL
 * is `openai-compatible:local-vllm` in WAFGEN_LLM_PROVIDERS, metrics and reports. MINI and API are
 * not names (they would read as the unnamed server's MINI_MODEL and API_KEY).
 */
function namedEndpoints(env: NodeJS.ProcessEnv, problems: string[]): CompatibleSettings[] {
  const out: CompatibleSettings[] = [];
  const names = Object.keys(env)
    .map((k) => /^WAFGEN_OPENAI_COMPATIBLE_([A-Z0-9][A-Z0-9_]*)_URL$/.exec(k)?.[1])
    .filter((n): n is string => n !== undefined && env[`WAFGEN_OPENAI_COMPATIBLE_${n}_URL`] !== '')
    .sort();
  const Endpoint = z.object({
    URL: httpUrl,
    MODEL: modelId,
    MINI_MODEL: modelId.optional(),
    API_KEY: secret.optional(),
  });
  for (const name of names) {
    const prefix = `WAFGEN_OPENAI_COMPATIBLE_${name}_`;
    const id = `openai-compatible:${name.toLowerCase().replace(/_/g, '-')}`;
    if (name === 'MINI' || name === 'API' || !isProviderName(id)) {
      problems.push(
        `${prefix}URL does not name an endpoint: use letters and digits (MINI and API are reserved), at most 32`,
      );
      continue;
    }
    const present = Object.fromEntries(
      ['URL', 'MODEL', 'MINI_MODEL', 'API_KEY']
        .map((k) => [k, env[prefix + k]])
        .filter(([, v]) => v !== undefined && v !== ''),
    );
    const parsed = Endpoint.safeParse(present);
    if (!parsed.success) {
      for (const i of parsed.error.issues)
        problems.push(
          `${prefix}${String(i.path[0])} ${i.code === 'invalid_type' ? `must be set: ${prefix}URL declares ${id}` : i.message}`,
        );
      continue;
    }
    const e = parsed.data;
    out.push({
      name: id as NamedEndpoint,
      baseURL: e.URL,
      ...(e.API_KEY ? { apiKey: e.API_KEY } : {}),
      models: { main: e.MODEL, mini: e.MINI_MODEL ?? e.MODEL },
    });
  }
  return out;
}

export interface LlmConfig {
  /** The chain, in the order providers are tried. Empty: no LLM is configured. */
  providers: ProviderSettings[];
  /** WAFGEN_LLM_OUTPUT: the schema natively where a provider takes it, or a digest everywhere. */
  outputSchema: 'native' | 'digest';
  timeoutMs: number;
  retries: number;
  backoff: { initialMs: number; maxMs: number };
  retryAfterMaxMs: number;
  breaker: { threshold: number; cooldownMs: number };
  budget: { maxInputTokens: number; maxOutputTokens: number; maxCostUsd: number };
  prices: PriceTable;
}

export class LlmConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid LLM configuration: ${problems.join('; ')}`);
    this.name = 'LlmConfigError';
  }
}

export interface LoadLlmConfigOptions {
  /** Reads the WAFGEN_PRICE_TABLE file; tests may replace it. */
  readFile?: (path: string) => string;
}

export function loadLlmConfig(
  env: NodeJS.ProcessEnv = process.env,
  options: LoadLlmConfigOptions = {},
): LlmConfig {
  const present = Object.fromEntries(
    Object.keys(LlmEnvSchema.shape)
      .map((k) => [k, env[k]])
      .filter(([, v]) => v !== undefined && v !== ''),
  );
  const parsed = LlmEnvSchema.safeParse(present);
  if (!parsed.success) {
    // Name the variable, never echo a value.
    throw new LlmConfigError(parsed.error.issues.map((i) => `${String(i.path[0])} ${i.message}`));
  }
  const e = parsed.data;
  const problems: string[] = [];

  if (e.WAFGEN_LLM_BACKOFF_MAX_MS < e.WAFGEN_LLM_BACKOFF_INITIAL_MS)
    problems.push('WAFGEN_LLM_BACKOFF_MAX_MS must be at least WAFGEN_LLM_BACKOFF_INITIAL_MS');
  if (e.AWS_ACCESS_KEY_ID && !e.AWS_SECRET_ACCESS_KEY)
    problems.push('AWS_SECRET_ACCESS_KEY must be set when AWS_ACCESS_KEY_ID is');
  if (!e.AWS_ACCESS_KEY_ID && e.AWS_SECRET_ACCESS_KEY)
    problems.push('AWS_ACCESS_KEY_ID must be set when AWS_SECRET_ACCESS_KEY is');

  const region = e.AWS_REGION ?? e.AWS_DEFAULT_REGION;
  const awsCredentials: BedrockCredentials = e.AWS_BEARER_TOKEN_BEDROCK
    ? { kind: 'bearer', token: e.AWS_BEARER_TOKEN_BEDROCK }
    : e.AWS_ACCESS_KEY_ID && e.AWS_SECRET_ACCESS_KEY
      ? {
          kind: 'keys',
          accessKeyId: e.AWS_ACCESS_KEY_ID,
          secretAccessKey: e.AWS_SECRET_ACCESS_KEY,
          ...(e.AWS_SESSION_TOKEN ? { sessionToken: e.AWS_SESSION_TOKEN } : {}),
        }
      : { kind: 'chain' };

  // What each provider needs, and whether the environment has it.
  const named = namedEndpoints(env, problems);
  const available: Record<ProviderKind, boolean> = {
    openai: !!e.OPENAI_API_KEY,
    anthropic: !!e.ANTHROPIC_API_KEY,
    google: !!e.GOOGLE_GENERATIVE_AI_API_KEY,
    bedrock: !!region && awsCredentials.kind !== 'chain',
    'openai-compatible': !!e.WAFGEN_OPENAI_COMPATIBLE_URL && !!e.WAFGEN_OPENAI_COMPATIBLE_MODEL,
  };
  // Default: every provider with credentials, then the named endpoints by name.
  const chain: ProviderName[] = e.WAFGEN_LLM_PROVIDERS ?? [
    ...PROVIDER_NAMES.filter((p) => available[p]),
    ...named.map((n) => n.name),
  ];

  const providers: ProviderSettings[] = [];
  for (const name of chain) {
    const missing = (variable: string) =>
      problems.push(`${variable} must be set: WAFGEN_LLM_PROVIDERS lists ${name}`);
    if (name.startsWith('openai-compatible:')) {
      const endpoint = named.find((n) => n.name === name);
      if (endpoint) providers.push(endpoint);
      // Declared but broken: its own variables are named in the problems already.
      else if (!problems.some((p) => p.startsWith(`WAFGEN_OPENAI_COMPATIBLE_${variablePart(name)}_`)))
        missing(`WAFGEN_OPENAI_COMPATIBLE_${variablePart(name)}_URL`);
      continue;
    }
    switch (name) {
      case 'openai':
        if (!e.OPENAI_API_KEY) missing('OPENAI_API_KEY');
        else
          providers.push({
            name,
            apiKey: e.OPENAI_API_KEY,
            baseURL: e.OPENAI_BASE_URL ?? DEFAULT_BASE_URLS.openai,
            api: e.WAFGEN_OPENAI_API,
            models: { main: e.WAFGEN_OPENAI_MODEL, mini: e.WAFGEN_OPENAI_MINI_MODEL },
          });
        break;
      case 'anthropic':
        if (!e.ANTHROPIC_API_KEY) missing('ANTHROPIC_API_KEY');
        else
          providers.push({
            name,
            apiKey: e.ANTHROPIC_API_KEY,
            baseURL: e.ANTHROPIC_BASE_URL ?? DEFAULT_BASE_URLS.anthropic,
            models: { main: e.WAFGEN_ANTHROPIC_MODEL, mini: e.WAFGEN_ANTHROPIC_MINI_MODEL },
          });
        break;
      case 'google':
        if (!e.GOOGLE_GENERATIVE_AI_API_KEY) missing('GOOGLE_GENERATIVE_AI_API_KEY');
        else
          providers.push({
            name,
            apiKey: e.GOOGLE_GENERATIVE_AI_API_KEY,
            baseURL: e.GOOGLE_BASE_URL ?? DEFAULT_BASE_URLS.google,
            models: { main: e.WAFGEN_GOOGLE_MODEL, mini: e.WAFGEN_GOOGLE_MINI_MODEL },
          });
        break;
      case 'bedrock':
        if (!region) missing('AWS_REGION');
        else
          providers.push({
            name,
            region,
            ...(e.AWS_ENDPOINT_URL_BEDROCK_RUNTIME ? { baseURL: e.AWS_ENDPOINT_URL_BEDROCK_RUNTIME } : {}),
            credentials: awsCredentials,
            models: { main: e.WAFGEN_BEDROCK_MODEL, mini: e.WAFGEN_BEDROCK_MINI_MODEL },
          });
        break;
      case 'openai-compatible':
        if (!e.WAFGEN_OPENAI_COMPATIBLE_URL) missing('WAFGEN_OPENAI_COMPATIBLE_URL');
        if (!e.WAFGEN_OPENAI_COMPATIBLE_MODEL) missing('WAFGEN_OPENAI_COMPATIBLE_MODEL');
        if (e.WAFGEN_OPENAI_COMPATIBLE_URL && e.WAFGEN_OPENAI_COMPATIBLE_MODEL)
          providers.push({
            name,
            baseURL: e.WAFGEN_OPENAI_COMPATIBLE_URL,
            ...(e.WAFGEN_OPENAI_COMPATIBLE_API_KEY ? { apiKey: e.WAFGEN_OPENAI_COMPATIBLE_API_KEY } : {}),
            models: {
              main: e.WAFGEN_OPENAI_COMPATIBLE_MODEL,
              mini: e.WAFGEN_OPENAI_COMPATIBLE_MINI_MODEL ?? e.WAFGEN_OPENAI_COMPATIBLE_MODEL,
            },
          });
        break;
    }
  }

  let prices: PriceTable = BUILTIN_PRICES;
  if (e.WAFGEN_PRICE_TABLE) {
    const loaded = loadPriceTable(e.WAFGEN_PRICE_TABLE, options.readFile);
    if (typeof loaded === 'string') problems.push(`WAFGEN_PRICE_TABLE ${loaded}`);
    else prices = { ...BUILTIN_PRICES, ...loaded };
  }

  if (problems.length > 0) throw new LlmConfigError(problems);

  return {
    providers,
    outputSchema: e.WAFGEN_LLM_OUTPUT,
    timeoutMs: e.WAFGEN_LLM_TIMEOUT_MS,
    retries: e.WAFGEN_LLM_RETRIES,
    backoff: { initialMs: e.WAFGEN_LLM_BACKOFF_INITIAL_MS, maxMs: e.WAFGEN_LLM_BACKOFF_MAX_MS },
    retryAfterMaxMs: e.WAFGEN_LLM_RETRY_AFTER_MAX_MS,
    breaker: { threshold: e.WAFGEN_LLM_BREAKER_THRESHOLD, cooldownMs: e.WAFGEN_LLM_BREAKER_COOLDOWN_MS },
    budget: {
      maxInputTokens: e.WAFGEN_MAX_INPUT_TOKENS,
      maxOutputTokens: e.WAFGEN_MAX_OUTPUT_TOKENS,
      maxCostUsd: e.WAFGEN_MAX_COST_USD,
    },
    prices,
  };
}

/** `openai-compatible:local-vllm` → `LOCAL_VLLM`, the NAME of its variables. */
const variablePart = (name: string): string =>
  name.slice('openai-compatible:'.length).toUpperCase().replace(/-/g, '_');

/** The table, or a reason it cannot be used (naming no value from the file). */
function loadPriceTable(
  path: string,
  readFile = (p: string) => readFileSync(p, 'utf8'),
): PriceTable | string {
  let text: string;
  try {
    text = readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return `cannot be read${code ? ` (${code})` : ''}`;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return 'is not valid JSON';
  }
  const parsed = PriceTableFileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.map(String).join('.') ?? '';
    return `must map model ids to { "input": USD per 1M tokens, "output": USD per 1M tokens }${
      where ? ` (problem at ${where})` : ''
    }`;
  }
  return parsed.data;
}

/** Every secret value in the configuration, for scrubbing error text before it is logged. */
export function secretValues(config: LlmConfig): string[] {
  const out: string[] = [];
  for (const p of config.providers) {
    if ('apiKey' in p && p.apiKey) out.push(p.apiKey.reveal());
    if (p.name === 'bedrock') {
      const c = p.credentials;
      if (c.kind === 'bearer') out.push(c.token.reveal());
      if (c.kind === 'keys') {
        out.push(c.accessKeyId.reveal(), c.secretAccessKey.reveal());
        if (c.sessionToken) out.push(c.sessionToken.reveal());
      }
    }
  }
  return out.filter((s) => s.length >= 4);
}
