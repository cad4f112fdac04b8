// API keys from AWS Secrets Manager: one JSON secret (`{"OPENAI_API_KEY": "…"}`), read with the SDK
// v3 GetSecretValue, cached for a TTL, every value wrapped in Secret so nothing prints or logs it.
// Error messages name the secret and the AWS error code, never a value (a JSON parse error could
// quote the secret text, so it is replaced).
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

import { Secret } from '../config/secret.js';

/** Variables a secret may supply. Anything else in the JSON is ignored (and named in `ignored`). */
const SECRET_VARIABLES = [
  'OPENAI_API_KEY',
  'ANTHROPIC_API_KEY',
  'GOOGLE_GENERATIVE_AI_API_KEY',
  'WAFGEN_OPENAI_COMPATIBLE_API_KEY',
  'AWS_BEARER_TOKEN_BEDROCK',
  'DD_API_KEY',
  'WAFGEN_SPLUNK_HEC_TOKEN',
  'WAFGEN_AUDIT_WEBHOOK_SECRET',
  'WAFGEN_WEBHOOK_SECRET',
  'WAFGEN_JWT_SECRET',
  'WAFGEN_API_KEYS',
  'DATABASE_URL',
  'REDIS_URL',
] as const;

export type SecretVariable = (typeof SECRET_VARIABLES)[number];

export class SecretsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SecretsError';
  }
}

export interface SecretBundle {
  values: ReadonlyMap<SecretVariable, Secret>;
  /** Keys of the secret's JSON that are not known variables (names only). */
  ignored: readonly string[];
}

/** Reads the secret's text; the one seam tests and other back ends replace. */
export type SecretFetcher = (secretId: string) => Promise<string>;

export interface SecretsManagerOptions {
  region: string;
  endpoint?: string;
  /** Default: the SDK's credential chain. */
  credentials?:
    SecretsManagerClient['config']['credentials'] | { accessKeyId: string; secretAccessKey: string };
  /** Default 3 (the SDK's). */
  maxAttempts?: number;
}

export function secretsManagerFetcher(opts: SecretsManagerOptions): SecretFetcher {
  // The SDK is loaded on the first fetch: commands that read no secret never pay for it.
  let client: SecretsManagerClient | undefined;
  return async (secretId) => {
    let out;
    try {
      const sdk = await import('@aws-sdk/client-secrets-manager');
      client ??= new sdk.SecretsManagerClient({
        region: opts.region,
        ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
        ...(opts.credentials ? { credentials: opts.credentials } : {}),
        ...(opts.maxAttempts ? { maxAttempts: opts.maxAttempts } : {}),
      });
      out = await client.send(new sdk.GetSecretValueCommand({ SecretId: secretId }));
    } catch (e) {
      const name = e instanceof Error ? e.name : 'Error';
      const code = (e as { Code?: string; code?: string }).code ?? name;
      throw new SecretsError(`cannot read secret ${secretId} from Secrets Manager: ${code}`);
    }
    if (typeof out.SecretString === 'string') return out.SecretString;
    if (out.SecretBinary) return Buffer.from(out.SecretBinary).toString('utf8');
    throw new SecretsError(`secret ${secretId} has no value`);
  };
}

/** The secret's text as a bundle: a JSON object of strings, keys limited to SECRET_VARIABLES. */
function parseSecretText(secretId: string, text: string): SecretBundle {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    // Never pass on the parser's message: it quotes the text.
    throw new SecretsError(`secret ${secretId} is not a JSON object of environment variable names`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json))
    throw new SecretsError(`secret ${secretId} is not a JSON object of environment variable names`);
  const known = new Set<string>(SECRET_VARIABLES);
  const values = new Map<SecretVariable, Secret>();
  const ignored: string[] = [];
  for (const [k, v] of Object.entries(json)) {
    if (!known.has(k)) {
      ignored.push(k);
      continue;
    }
    if (typeof v !== 'string') throw new SecretsError(`secret ${secretId}: ${k} must be a string`);
    if (v !== '') values.set(k as SecretVariable, new Secret(v));
  }
  return { values, ignored };
}

export interface SecretCacheOptions {
  secretId: string;
  fetch: SecretFetcher;
  ttlMs: number;
  /** Milliseconds; injectable for tests. */
  now?: () => number;
}

/** The secret, read at most once per TTL; concurrent callers share one read; failures are not cached. */
export class SecretCache {
  readonly #opts: SecretCacheOptions;
  readonly #now: () => number;
  #cached: { bundle: SecretBundle; at: number } | undefined;
  #inflight: Promise<SecretBundle> | undefined;
  /** How many times the secret was actually fetched. */
  fetches = 0;

  constructor(opts: SecretCacheOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
  }

  async get(): Promise<SecretBundle> {
    const c = this.#cached;
    if (c && this.#now() - c.at < this.#opts.ttlMs) return c.bundle;
    this.#inflight ??= (async () => {
      try {
        this.fetches++;
        const text = await this.#opts.fetch(this.#opts.secretId);
        const bundle = parseSecretText(this.#opts.secretId, text);
        this.#cached = { bundle, at: this.#now() };
        return bundle;
      } finally {
        this.#inflight = undefined;
      }
    })();
    return this.#inflight;
  }

  /** One value, or undefined when the secret does not hold it. */
  async value(name: SecretVariable): Promise<Secret | undefined> {
    return (await this.get()).values.get(name);
  }

  invalidate(): void {
    this.#cached = undefined;
  }

  toJSON(): unknown {
    return { secretId: this.#opts.secretId, ttlMs: this.#opts.ttlMs, cached: this.#cached !== undefined };
  }
}
