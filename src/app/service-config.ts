// The service's environment variables (API, auth, webhook, rate limits, cache, queue, workers),
// validated by one Zod schema like the main configuration; a bad variable is named, never echoed.
// REDIS_URL, DATABASE_URL, PORT, HOST and LOG_LEVEL belong to the main configuration.
import { z } from 'zod';

import type { RatePolicy } from '../kv/index.js';
import type { QueueSettings, SqsQueueSettings } from '../queue/index.js';
import { ConfigError } from '../config/index.js';
import { limitOf } from '../core/limits.js';

/** What the service's parts are tuned with (read from the environment by loadServiceConfig). */
export interface ServiceSettings {
  /** Time to live of cached rules, in seconds (default 24 h). */
  cacheTtlS: number;
  /**
   * Milliseconds a rule read from Redis is served from the process before Redis is asked again
   * (0: always ask). Another replica's new version shows after at most this long.
   */
  cacheL1Ms: number;
  /** Longest a synchronous generation may take before the request degrades. */
  generateTimeoutMs: number;
  /**
   * Time to live of the cross-replica single-flight lock (renewed while the generation runs): how
   * long a replica that died mid-generation keeps the others waiting.
   */
  lockTtlMs: number;
  /** Prefix for every Redis key wafgen writes ('' for none). */
  redisPrefix: string;
  queue: Omit<QueueSettings, 'prefix'>;
  /** The SQS queue (WAFGEN_QUEUE=sqs); undefined: BullMQ with REDIS_URL, else in process. */
  sqs?: SqsQueueSettings;
  rateLimits: Record<string, RatePolicy>;
}

/** The rate-limit policy of unauthenticated and failed-auth traffic, counted per client IP. */
export const UNAUTH_POLICY = 'unauth';

export const SCOPES = ['rules:read', 'rules:generate', 'rules:deploy'] as const;
export type Scope = (typeof SCOPES)[number];

const HMAC_ALGS = ['HS256', 'HS384', 'HS512'] as const;
const ASYMMETRIC_ALGS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
] as const;
const ALL_ALGS: readonly string[] = [...HMAC_ALGS, ...ASYMMETRIC_ALGS];

const bool = z
  .enum(['1', '0', 'true', 'false', 'yes', 'no'])
  .transform((v) => v === '1' || v === 'true' || v === 'yes');

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const list = z
  .string()
  .transform((v) => v.split(',').map((s) => s.trim()))
  .pipe(z.array(z.string().min(1)).min(1));

const httpUrl = z.string().refine(
  (v) => {
    try {
      return ['https:', 'http:'].includes(new URL(v).protocol);
    } catch {
      return false;
    }
  },
  { message: 'must be an http(s) URL' },
);

interface ApiKeyEntry {
  id: string;
  /** SHA-256 of the key, hex. */
  hash: string;
  scopes: Scope[];
}

/**
 * `id:sha256hex:scope,scope` entries separated by `;`, spaces or newlines, e.g.
 * `ci:9f86d0…:rules:read,rules:generate`. Only the hash is configured, never the key.
 */
const apiKeys = z.string().transform((text, ctx): ApiKeyEntry[] => {
  const out: ApiKeyEntry[] = [];
  const entries = text.split(/[;\s]+/).filter(Boolean);
  entries.forEach((entry, i) => {
    const first = entry.indexOf(':');
    const second = entry.indexOf(':', first + 1);
    const id = entry.slice(0, first);
    const hash = entry.slice(first + 1, second).toLowerCase();
    const scopes = entry
      .slice(second + 1)
      .split(',')
      .filter(Boolean);
    const problem =
      first <= 0 || second < 0
        ? 'is not id:sha256hex:scopes'
        : !/^[A-Za-z0-9._-]{1,64}$/.test(id)
          ? 'has an id that is not 1-64 letters, digits, dot, dash or underscore'
          : !/^[0-9a-f]{64}$/.test(hash)
            ? 'has a hash that is not 64 hex digits (the SHA-256 of the key)'
            : scopes.length === 0 || scopes.some((s) => !(SCOPES as readonly string[]).includes(s))
              ? `has scopes other than ${SCOPES.join(', ')}`
              : out.some((e) => e.id === id || e.hash === hash)
                ? 'repeats an id or a key'
                : undefined;
    if (problem) ctx.addIssue({ code: 'custom', message: `entry ${i + 1} ${problem}` });
    else out.push({ id, hash, scopes: scopes as Scope[] });
  });
  return out;
});

const region = z.string().regex(/^[a-z]{2,5}(-[a-z]+)+-\d+$/, 'must be an AWS region like us-east-1');

/** An SQS FIFO queue URL (the queue's semantics rest on FIFO message groups, src/queue/sqs.ts). */
const fifoQueueUrl = httpUrl.refine((v) => new URL(v).pathname.endsWith('.fifo'), {
  message: 'must be the URL of a FIFO queue (its name ends in .fifo)',
});

/** `https://sqs.<region>.amazonaws.com/...` → region. */
function regionOfQueueUrl(url: string): string | undefined {
  return /^sqs[.-]([a-z]{2,5}(?:-[a-z]+)+-\d+)\.amazonaws\.com/.exec(new URL(url).hostname)?.[1];
}

const ServiceConfigSchema = z.object({
  /** Which job queue: `sqs`; unset, BullMQ when REDIS_URL is set, else in process. */
  WAFGEN_QUEUE: z.enum(['sqs']).optional(),
  WAFGEN_SQS_QUEUE_URL: fifoQueueUrl.optional(),
  WAFGEN_SQS_DLQ_URL: fifoQueueUrl.optional(),
  WAFGEN_SQS_REGION: region.optional(),
  AWS_ENDPOINT_URL_SQS: httpUrl.optional(),
  WAFGEN_SQS_VISIBILITY_TIMEOUT_S: int(1, 43_200).default(300),
  WAFGEN_SQS_WAIT_S: int(0, 20).default(20),
  AWS_REGION: region.optional(),
  AWS_DEFAULT_REGION: region.optional(),
  WAFGEN_JWT_SECRET: z.string().min(32, 'must be at least 32 characters (256 bits for HS256)').optional(),
  WAFGEN_JWT_JWKS_URL: httpUrl.optional(),
  WAFGEN_JWT_ISSUER: z.string().min(1).optional(),
  WAFGEN_JWT_AUDIENCE: list.optional(),
  WAFGEN_JWT_ALGORITHMS: list
    .refine((algs) => algs.every((a) => ALL_ALGS.includes(a)), {
      message: `must be a comma-separated list of ${ALL_ALGS.join(', ')} (never none)`,
    })
    .optional(),
  WAFGEN_JWT_CLOCK_TOLERANCE_S: int(0, 300).default(5),
  WAFGEN_API_KEYS: apiKeys.optional(),
  WAFGEN_AUTH_DISABLED: bool.default(false),
  WAFGEN_WEBHOOK_SECRET: list
    .refine((secrets) => secrets.every((s) => s.length >= 16), {
      message: 'each secret must be at least 16 characters',
    })
    .optional(),
  WAFGEN_WEBHOOK_TOLERANCE_S: int(1, 3600).default(300),
  WAFGEN_RATE_LIMIT: int(1, 1_000_000_000).default(600),
  WAFGEN_RATE_LIMIT_GENERATE: int(1, 1_000_000_000).default(60),
  WAFGEN_RATE_LIMIT_WINDOW_S: int(1, 86_400).default(60),
  WAFGEN_RATE_LIMIT_UNAUTH: int(1, 1_000_000_000).default(60),
  WAFGEN_TRUST_PROXY: bool.default(false),
  WAFGEN_CACHE_TTL_S: int(1, 30 * 86_400).default(86_400),
  WAFGEN_CACHE_L1_MS: int(0, 60_000).default(1000),
  WAFGEN_MAX_BODY_BYTES: int(1024, 50 * 1024 * 1024).default(limitOf('body-bytes')),
  WAFGEN_GENERATE_TIMEOUT_MS: int(100, 3_600_000).default(120_000),
  WAFGEN_SINGLE_FLIGHT_LOCK_MS: int(500, 600_000).default(10_000),
  WAFGEN_WORKER_CONCURRENCY: int(1, 256).default(4),
  WAFGEN_JOB_ATTEMPTS: int(1, 50).default(3),
  WAFGEN_JOB_BACKOFF_MS: int(0, 3_600_000).default(2_000),
  WAFGEN_WORKER_LOCK_MS: int(1_000, 3_600_000).default(30_000),
  WAFGEN_WORKER_STALLED_INTERVAL_MS: int(500, 3_600_000).default(30_000),
  WAFGEN_SHUTDOWN_GRACE_MS: int(0, 3_600_000).default(25_000),
  WAFGEN_METRICS_TOKEN: z
    .string()
    .regex(
      /^[A-Za-z0-9._~+/-]{16,512}=*$/,
      'must be 16-512 characters a bearer token may hold (letters, digits, . _ ~ + / -)',
    )
    .optional(),
  WAFGEN_METRICS_PORT: int(0, 65535).optional(),
  WAFGEN_REDIS_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9._:-]{0,64}$/, 'must be up to 64 letters, digits, dot, dash, underscore or colon')
    .default(''),
});

type JwtSettings = {
  issuer: string;
  audience: string[];
  algorithms: string[];
  clockToleranceS: number;
} & ({ secret: string; jwksUrl?: undefined } | { jwksUrl: string; secret?: undefined });

export interface ServiceConfig {
  auth: {
    jwt?: JwtSettings;
    apiKeys: ApiKeyEntry[];
    /** No credentials needed: every request acts with every scope (local use only). */
    disabled: boolean;
  };
  /** `maxBytes`: the webhook payload's byte limit (core/limits.ts `webhook-bytes`). */
  webhook: { secrets: string[]; toleranceS: number; maxBytes: number };
  maxBodyBytes: number;
  /**
   * Take the client's address from the right-most X-Forwarded-For entry (the one the proxy in
   * front added) instead of the socket's, for the per-IP limit on failed authentication.
   */
  trustProxy: boolean;
  /**
   * /metrics: `token` makes it ask for `Authorization: Bearer <token>`; `port` moves it off the API
   * onto a listener of its own (the Node server opens it), and the API answers 404 for it.
   */
  metrics: { token?: string; port?: number };
  worker: { concurrency: number; lockMs: number; stalledIntervalMs: number; shutdownGraceMs: number };
  /** What the composition root needs (src/app/root.ts). */
  settings: ServiceSettings;
}

export function loadServiceConfig(env: NodeJS.ProcessEnv = process.env): ServiceConfig {
  const present = Object.fromEntries(
    Object.keys(ServiceConfigSchema.shape)
      .map((k) => [k, env[k]])
      .filter(([, v]) => v !== undefined && v !== ''),
  );
  const parsed = ServiceConfigSchema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')} ${i.message}`));
  }
  const e = parsed.data;
  const problems: string[] = [];
  let jwt: JwtSettings | undefined;
  if (e.WAFGEN_JWT_SECRET && e.WAFGEN_JWT_JWKS_URL) {
    problems.push('WAFGEN_JWT_SECRET and WAFGEN_JWT_JWKS_URL are both set; choose one way to verify tokens');
  } else if (e.WAFGEN_JWT_SECRET || e.WAFGEN_JWT_JWKS_URL) {
    const hmac = Boolean(e.WAFGEN_JWT_SECRET);
    const algorithms = e.WAFGEN_JWT_ALGORITHMS ?? (hmac ? ['HS256'] : ['RS256', 'ES256']);
    const wrong = algorithms.filter((a) => (HMAC_ALGS as readonly string[]).includes(a) !== hmac);
    if (wrong.length > 0)
      problems.push(
        `WAFGEN_JWT_ALGORITHMS ${wrong.join(', ')} cannot be used with ${hmac ? 'WAFGEN_JWT_SECRET (HMAC only)' : 'WAFGEN_JWT_JWKS_URL (public keys only)'}`,
      );
    if (!e.WAFGEN_JWT_ISSUER) problems.push('WAFGEN_JWT_ISSUER is required when JWTs are accepted');
    if (!e.WAFGEN_JWT_AUDIENCE) problems.push('WAFGEN_JWT_AUDIENCE is required when JWTs are accepted');
    if (e.WAFGEN_JWT_ISSUER && e.WAFGEN_JWT_AUDIENCE) {
      const common = {
        issuer: e.WAFGEN_JWT_ISSUER,
        audience: e.WAFGEN_JWT_AUDIENCE,
        algorithms,
        clockToleranceS: e.WAFGEN_JWT_CLOCK_TOLERANCE_S,
      };
      jwt = e.WAFGEN_JWT_SECRET
        ? { ...common, secret: e.WAFGEN_JWT_SECRET }
        : { ...common, jwksUrl: e.WAFGEN_JWT_JWKS_URL! };
    }
  } else if (e.WAFGEN_JWT_ISSUER || e.WAFGEN_JWT_AUDIENCE || e.WAFGEN_JWT_ALGORITHMS) {
    problems.push(
      'WAFGEN_JWT_ISSUER/AUDIENCE/ALGORITHMS are set but neither WAFGEN_JWT_SECRET nor WAFGEN_JWT_JWKS_URL',
    );
  }
  let sqs: SqsQueueSettings | undefined;
  if (e.WAFGEN_QUEUE === 'sqs') {
    const url = e.WAFGEN_SQS_QUEUE_URL;
    const sqsRegion =
      e.WAFGEN_SQS_REGION ??
      (url ? regionOfQueueUrl(url) : undefined) ??
      e.AWS_REGION ??
      e.AWS_DEFAULT_REGION;
    if (!url) problems.push('WAFGEN_SQS_QUEUE_URL is required when WAFGEN_QUEUE=sqs');
    if (!sqsRegion)
      problems.push('WAFGEN_SQS_REGION (or AWS_REGION) is required: the queue URL does not name a region');
    // A generation still running when its message's lease runs out would be delivered to a second
    // worker if a renewal were missed: the lease outlasts the slowest generation.
    if (e.WAFGEN_SQS_VISIBILITY_TIMEOUT_S * 1000 <= e.WAFGEN_GENERATE_TIMEOUT_MS)
      problems.push(
        'WAFGEN_SQS_VISIBILITY_TIMEOUT_S must be longer than WAFGEN_GENERATE_TIMEOUT_MS (the slowest generation)',
      );
    if (url && sqsRegion)
      sqs = {
        queueUrl: url,
        ...(e.WAFGEN_SQS_DLQ_URL ? { dlqUrl: e.WAFGEN_SQS_DLQ_URL } : {}),
        region: sqsRegion,
        ...(e.AWS_ENDPOINT_URL_SQS ? { endpoint: e.AWS_ENDPOINT_URL_SQS } : {}),
        visibilityTimeoutS: e.WAFGEN_SQS_VISIBILITY_TIMEOUT_S,
        waitTimeS: e.WAFGEN_SQS_WAIT_S,
      };
  } else if (e.WAFGEN_SQS_QUEUE_URL || e.WAFGEN_SQS_DLQ_URL) {
    problems.push('WAFGEN_SQS_QUEUE_URL is set but WAFGEN_QUEUE is not sqs');
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    auth: { ...(jwt ? { jwt } : {}), apiKeys: e.WAFGEN_API_KEYS ?? [], disabled: e.WAFGEN_AUTH_DISABLED },
    webhook: {
      secrets: e.WAFGEN_WEBHOOK_SECRET ?? [],
      toleranceS: e.WAFGEN_WEBHOOK_TOLERANCE_S,
      maxBytes: limitOf('webhook-bytes'),
    },
    maxBodyBytes: e.WAFGEN_MAX_BODY_BYTES,
    trustProxy: e.WAFGEN_TRUST_PROXY,
    metrics: {
      ...(e.WAFGEN_METRICS_TOKEN ? { token: e.WAFGEN_METRICS_TOKEN } : {}),
      ...(e.WAFGEN_METRICS_PORT !== undefined ? { port: e.WAFGEN_METRICS_PORT } : {}),
    },
    worker: {
      concurrency: e.WAFGEN_WORKER_CONCURRENCY,
      lockMs: e.WAFGEN_WORKER_LOCK_MS,
      stalledIntervalMs: e.WAFGEN_WORKER_STALLED_INTERVAL_MS,
      shutdownGraceMs: e.WAFGEN_SHUTDOWN_GRACE_MS,
    },
    settings: {
      cacheTtlS: e.WAFGEN_CACHE_TTL_S,
      cacheL1Ms: e.WAFGEN_CACHE_L1_MS,
      generateTimeoutMs: e.WAFGEN_GENERATE_TIMEOUT_MS,
      lockTtlMs: e.WAFGEN_SINGLE_FLIGHT_LOCK_MS,
      redisPrefix: e.WAFGEN_REDIS_PREFIX,
      queue: { attempts: e.WAFGEN_JOB_ATTEMPTS, backoffMs: e.WAFGEN_JOB_BACKOFF_MS },
      ...(sqs ? { sqs } : {}),
      rateLimits: {
        default: { limit: e.WAFGEN_RATE_LIMIT, windowS: e.WAFGEN_RATE_LIMIT_WINDOW_S },
        generate: { limit: e.WAFGEN_RATE_LIMIT_GENERATE, windowS: e.WAFGEN_RATE_LIMIT_WINDOW_S },
        // Per client IP: requests whose credentials or webhook signature failed (or were missing).
        [UNAUTH_POLICY]: { limit: e.WAFGEN_RATE_LIMIT_UNAUTH, windowS: e.WAFGEN_RATE_LIMIT_WINDOW_S },
      },
    },
  };
}

/** The API must not start open by accident: some way to authenticate, or an explicit opt-out. */
export function assertAuthConfigured(config: ServiceConfig): void {
  const { auth } = config;
  if (auth.disabled || auth.jwt || auth.apiKeys.length > 0) return;
  throw new ConfigError([
    'no authentication configured: set WAFGEN_JWT_SECRET or WAFGEN_JWT_JWKS_URL (with WAFGEN_JWT_ISSUER and WAFGEN_JWT_AUDIENCE), or WAFGEN_API_KEYS; WAFGEN_AUTH_DISABLED=1 serves without credentials (local use only)',
  ]);
}
