// Secrets at start-up. Precedence, per variable: a value set (non-empty) in the environment wins;
// the Secrets Manager secret fills only variables that are unset or empty. So an operator can
// override one key for a run without touching the secret, and a secret never silently replaces
// what the environment says. Without WAFGEN_SECRETS_ARN nothing is fetched.
import { loadSecretsConfig, type SecretsConfig } from './config.js';
import { SecretCache, secretsManagerFetcher, type SecretFetcher, type SecretVariable } from './store.js';

export { loadSecretsConfig, SecretsConfigError } from './config.js';
export { SecretCache, SecretsError, secretsManagerFetcher } from './store.js';
export interface ApplySecretsOptions {
  /** Replaces the Secrets Manager client (tests, other back ends). */
  fetch?: SecretFetcher;
  /** A cache to reuse across calls (a long-running service); one is made per config otherwise. */
  cache?: SecretCache;
  now?: () => number;
}

export interface ApplySecretsResult {
  source: 'environment' | 'secrets-manager';
  /** Variables the secret supplied (names only). */
  applied: SecretVariable[];
  /** Variables the secret holds that the environment already set, so the environment's value stays. */
  keptFromEnvironment: SecretVariable[];
  /** Keys of the secret that are not variables wafgen takes from it. */
  ignored: string[];
}

const caches = new Map<string, SecretCache>();

/** Per environment object: the variables the secret supplied at the last apply or refresh. */
const appliedTo = new WeakMap<NodeJS.ProcessEnv, Set<SecretVariable>>();

/** The cache for a configuration (one per secret, endpoint and region in this process). */
function secretCacheFor(config: SecretsConfig, opts: ApplySecretsOptions = {}): SecretCache | undefined {
  if (!config.secretId || !config.region) return undefined;
  if (opts.cache) return opts.cache;
  const make = () =>
    new SecretCache({
      secretId: config.secretId!,
      ttlMs: config.ttlMs,
      fetch:
        opts.fetch ??
        secretsManagerFetcher({
          region: config.region!,
          ...(config.endpoint ? { endpoint: config.endpoint } : {}),
        }),
      ...(opts.now ? { now: opts.now } : {}),
    });
  if (opts.fetch || opts.now) return make();
  const key = JSON.stringify([config.secretId, config.region, config.endpoint ?? '', config.ttlMs]);
  let cache = caches.get(key);
  if (!cache) caches.set(key, (cache = make()));
  return cache;
}

/**
 * Fills `env` (process.env by default) from the configured secret, before the LLM client and the
 * other subsystems read their keys. Returns names only.
 */
export async function applySecretsToEnv(
  env: NodeJS.ProcessEnv = process.env,
  opts: ApplySecretsOptions = {},
): Promise<ApplySecretsResult> {
  const config = loadSecretsConfig(env);
  const cache = secretCacheFor(config, opts);
  if (!cache) return { source: 'environment', applied: [], keptFromEnvironment: [], ignored: [] };
  const bundle = await cache.get();
  const applied: SecretVariable[] = [];
  const kept: SecretVariable[] = [];
  for (const [name, secret] of bundle.values) {
    const current = env[name];
    if (current !== undefined && current !== '') kept.push(name);
    else {
      env[name] = secret.reveal();
      applied.push(name);
    }
  }
  const supplied = appliedTo.get(env) ?? new Set<SecretVariable>();
  for (const name of applied) supplied.add(name);
  appliedTo.set(env, supplied);
  return { source: 'secrets-manager', applied, keptFromEnvironment: kept, ignored: [...bundle.ignored] };
}

/**
 * For a process that outlives the secret's TTL (a warm serverless container): reads the secret
 * again once the TTL has passed (from the cache before), and when a value it supplied to `env` was
 * rotated, or it now holds a variable `env` lacks, updates `env` and answers true, so the caller
 * rebuilds what read the old values. Values the environment set itself are never replaced. A
 * failed read answers false: the values in use stay until a read succeeds.
 */
export async function refreshSecretsInEnv(
  env: NodeJS.ProcessEnv = process.env,
  opts: ApplySecretsOptions = {},
): Promise<boolean> {
  let cache: SecretCache | undefined;
  let bundle;
  try {
    cache = secretCacheFor(loadSecretsConfig(env), opts);
    if (!cache) return false;
    bundle = await cache.get();
  } catch {
    return false;
  }
  const supplied = appliedTo.get(env) ?? new Set<SecretVariable>();
  let changed = false;
  for (const [name, secret] of bundle.values) {
    const current = env[name];
    const ours = supplied.has(name);
    if (ours ? current === secret.reveal() : current !== undefined && current !== '') continue;
    env[name] = secret.reveal();
    supplied.add(name);
    changed = true;
  }
  appliedTo.set(env, supplied);
  return changed;
}
