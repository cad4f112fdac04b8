/**
 * @module The composition root: the one place that turns configuration into working parts. Every
 * entry point calls it: `wafgen generate` and `batch` take the generation parts
 * ({@link openGenerationParts}: store, engine and fallback, live look-up, audit log); `wafgen
 * serve`, `wafgen worker` and the Lambda and Vercel handlers take the whole service
 * ({@link openService}: those parts plus cache, single flight, rate limiter, queue, and the rules
 * and jobs use cases).
 *
 * With REDIS_URL: Redis cache, cross-replica locks and rate limits, BullMQ. Without: the same
 * interfaces in process. Redis being away never stops the API: reads come from the store,
 * generation runs locally, and /readyz says what is degraded.
 */
import { createHash } from 'node:crypto';

import type { Logger } from 'pino';

import type { AuditLog } from '../audit/index.js';
import { errorMessage as message } from '../core/errors.js';
import { withTimeout } from '../core/timeout.js';
import { VERSION as PACKAGE_VERSION } from '../core/version.js';
import { loadConfig, type Config } from '../config/index.js';
import type { Engine } from '../generation/types.js';
import type { HttpRequest } from '../requests/model.js';
import type { EngineMode } from '../generation/llm/index.js';
import type { KeyValueStore, SlidingWindowLimiter } from '../kv/index.js';
import { loadLlmConfig } from '../llm/config.js';
import type { Metrics } from '../observability/index.js';
import type { JobQueue, JobConsumer } from '../queue/index.js';
import type { Store } from '../store/index.js';
import { loadLiveConfig } from '../vulns/live/config.js';
import { chooseEngine, generationDefaults } from './engines.js';
import type { EngineChoice } from '../generation/llm/index.js';
import { Deployments } from './deployments.js';
import type { Fetcher } from '../evidence/collect.js';
import type { GenerateDeps } from './generate.js';
import type { JobService } from './jobs.js';
import type { RuleService, RuleView } from './rules.js';
import type { ServiceConfig, ServiceSettings } from './service-config.js';

// A command loads only what it uses: `wafgen generate` needs the store, the engine and the audit
// log, never Redis, BullMQ, prom-client or an LLM SDK, so the service's parts are imported when a
// service is built (measured: the whole app layer imported eagerly cost 1.7 s of CPU per command).
const serviceModules = () =>
  Promise.all([
    import('pino'),
    import('../kv/index.js'),
    import('../observability/index.js'),
    import('../queue/index.js'),
    import('./jobs.js'),
    import('./rules.js'),
    import('./coverage.js'),
  ]);

/** What a generation needs, built from configuration: the deps of {@link generateRule}. */
export interface GenerationParts {
  /** The deps for generateRule, ready to spread (no store when the command asked for none). */
  deps: Omit<GenerateDeps, 'onStep' | 'observe' | 'requestId'>;
  /** Closes what the parts opened (not what the caller passed in). */
  close(): Promise<void>;
}

export interface GenerationPartsOptions {
  env?: NodeJS.ProcessEnv;
  /** Which engine: the LLM when configured (auto), the built-in one, or the LLM (default auto). */
  engineMode?: EngineMode;
  /** LLM provider chain, e.g. `openai,anthropic`. */
  providers?: string;
  /** An engine built elsewhere (tests, the service's deps); overrides engineMode. */
  engine?: { engine: Engine; fallback?: Engine };
  /** An open store (the caller closes it), `false` for none; default: open the configured one. */
  store?: Store | false;
  /**
   * Open the configured embedded store with PGlite on its own thread, taking over the one
   * startStoreEarly (app/store-early.ts) started: for a short command with work to overlap.
   */
  storeThread?: boolean;
  /** An open audit log (the caller closes it), `false` for none; default: from WAFGEN_AUDIT_*. */
  audit?: AuditLog | false;
  /** Who the audit events name (default: none; the CLI passes its user, the API each caller). */
  principal?: string;
  logger?: Logger;
  metrics?: Metrics;
  /** How reference URLs are fetched (default: the safe fetcher); tests serve pages from here. */
  fetcher?: Fetcher;
  /**
   * The benign traffic the generations will be checked against, still loading (the CLI's built-in
   * corpus): the engine prepares what it learns from it while the store opens (Engine.prepare).
   * Its failure is the caller's to report.
   */
  benign?: Promise<readonly HttpRequest[] | undefined>;
}

export async function openGenerationParts(
  config: Config,
  opts: GenerationPartsOptions = {},
): Promise<GenerationParts> {
  const env = opts.env ?? process.env;
  // With metrics (the service), the LLM client reports every call to the wafgen_llm_* series.
  const choice =
    opts.engine ?? (await chooseEngine(config, opts.engineMode ?? 'auto', opts.providers, env, opts.metrics));
  const lookup = {
    offline: config.WAFGEN_OFFLINE,
    // Reference pages are fetched for evidence unless WAFGEN_FETCH_REFERENCES=0 (or offline).
    fetchReferences: config.WAFGEN_FETCH_REFERENCES,
    // A CVE missing from the store is looked up live (NVD, KEV, nuclei) unless WAFGEN_OFFLINE.
    live: loadLiveConfig(env, { dataDir: config.dataDir }),
  };
  // While the store opens (a warm `wafgen generate` waited ~0.25 s there for PGlite, its main thread
  // idle, before this overlap), the engine works out what it learns from the benign traffic alone (Engine.prepare: the
  // chosen engine only, not a fallback that may never run), and a short command on PGlite's thread
  // parses the bundled exploit requests, which every generation reads unless told to withhold them.
  // Not for the service, the worker or the library: they pay it once, and have no such wait to hide
  // it in. A failure here is not reported: the generation meets it again, where it is.
  const warm = Promise.all([
    opts.benign?.then((benign) => {
      if (benign) choice.engine.prepare?.(benign);
    }),
    opts.storeThread ? import('../vulns/bundled.js').then((m) => m.preloadBundledExploits()) : undefined,
  ]).catch(() => {});
  const ownsStore = opts.store === undefined;
  const ownsAudit = opts.audit === undefined;
  // The store and the audit log open side by side; when one fails, what the other opened is closed.
  const [opened, auditOpened] = await Promise.allSettled([
    opts.store === false
      ? undefined
      : (opts.store ??
        import('./store.js').then((m) =>
          m.openSeededStore(config, env, opts.storeThread ? { pgliteThread: true } : {}),
        )),
    // One audit event per generation (file spool by default; a second process on the same data
    // directory gets its own spool, see src/audit).
    ownsAudit
      ? Promise.all([import('../audit/index.js'), import('../audit/config.js')]).then(
          ([{ openAuditLog }, { loadAuditConfig }]) =>
            openAuditLog(loadAuditConfig(env, { dataDir: config.dataDir }), {
              ...(opts.logger ? { logger: opts.logger } : {}),
              ...(opts.metrics ? { metrics: opts.metrics } : {}),
            }),
        )
      : opts.audit || undefined,
  ]);
  if (opened.status === 'rejected' || auditOpened.status === 'rejected') {
    if (ownsStore && opened.status === 'fulfilled') await opened.value?.close().catch(() => {});
    // Closed without waiting for delivery: nothing was generated, and the failure is what the caller
    // is waiting for (anything spooled stays on disk for the next start).
    if (ownsAudit && auditOpened.status === 'fulfilled') await auditOpened.value?.close(0).catch(() => {});
    throw opened.status === 'rejected' ? opened.reason : (auditOpened as PromiseRejectedResult).reason;
  }
  await warm;
  const store: Store | undefined = opened.value;
  const audit: AuditLog | undefined = auditOpened.value;
  let closed: Promise<void> | undefined;
  return {
    deps: {
      ...(store ? { store } : {}),
      engine: choice.engine,
      ...(choice.fallback ? { fallback: choice.fallback } : {}),
      // Candidates and judge (issue 15): WAFGEN_CANDIDATES, WAFGEN_JUDGE; requests may override.
      ...generationDefaults(env),
      ...((choice as EngineChoice).judgeFor ? { judgeFor: (choice as EngineChoice).judgeFor! } : {}),
      ...((choice as EngineChoice).extract ? { extract: (choice as EngineChoice).extract! } : {}),
      lookup,
      ...(audit ? { audit } : {}),
      ...(opts.principal ? { principal: opts.principal } : {}),
      ...(opts.fetcher ? { fetcher: opts.fetcher } : {}),
    },
    close: () =>
      (closed ??= (async () => {
        if (ownsAudit) await audit?.close().catch(() => {});
        if (ownsStore) await store?.close();
      })()),
  };
}

export interface ServiceDeps {
  /** An open store to use (the caller closes it); default: open one from the config. */
  store?: Store;
  /** The engine (default: as `wafgen generate --engine auto` chooses: an LLM when configured, else built-in). */
  engine?: Engine;
  /** The engine to fall back to when `engine` fails outright. */
  fallback?: Engine;
  /** The cache key's engine/model part (default: engine name, model chain and wafgen version). */
  engineVersion?: string;
  logger?: Logger;
  /** Where generation and cache figures go (default: the process's observability registry). */
  metrics?: Metrics;
  /** The audit log (default: opened from the WAFGEN_AUDIT_* settings; false for none). */
  audit?: AuditLog | false;
  /** Environment for the LLM, live look-up and audit settings (default: process.env). */
  env?: NodeJS.ProcessEnv;
  /** How reference URLs are fetched (default: the safe fetcher); tests serve pages from here. */
  fetcher?: Fetcher;
}

interface CheckResult {
  status: 'ok' | 'down' | 'disabled';
  backend: string;
  latencyMs?: number;
  error?: string;
}

interface Health {
  /** ok: everything answers; degraded: serving without Redis or the queue; down: the store is away. */
  status: 'ok' | 'degraded' | 'down';
  checks: { store: CheckResult; redis: CheckResult; queue: CheckResult };
}

export interface Service {
  readonly config: Config;
  readonly settings: ServiceSettings;
  readonly store: Store;
  readonly kv: KeyValueStore;
  readonly limiter: SlidingWindowLimiter;
  readonly queue: JobQueue;
  readonly engine: Engine;
  readonly engineVersion: string;
  readonly rules: RuleService;
  readonly jobs: JobService;
  /** Deployments into AWS WAF (plan, apply, promote, roll back), each step audited. */
  readonly deployments: Deployments;
  readonly log: Logger;
  readonly metrics: Metrics;
  health(): Promise<Health>;
  close(): Promise<void>;
}

/** `builtin@0.1.0`, or for an LLM `llm-<hash of the provider and model chain>@0.1.0`. */
function engineVersionOf(engine: Engine, env: NodeJS.ProcessEnv): string {
  if (engine.name !== 'llm') return `${engine.name}@${PACKAGE_VERSION}`;
  let chain = '';
  try {
    chain = loadLlmConfig(env)
      .providers.map((p) => `${p.name}:${JSON.stringify(p.models)}`)
      .join('|');
  } catch {
    // the engine was built from this configuration, so it reads; an unreadable one hashes as empty
  }
  return `llm-${createHash('sha256').update(chain).digest('hex').slice(0, 10)}@${PACKAGE_VERSION}`;
}

async function check(backend: string, f: () => Promise<unknown>, timeoutMs = 2000): Promise<CheckResult> {
  const started = performance.now();
  try {
    await withTimeout(f(), timeoutMs, `${backend} check`);
    return { status: 'ok', backend, latencyMs: Math.round((performance.now() - started) * 10) / 10 };
  } catch (e) {
    return { status: 'down', backend, error: message(e) };
  }
}

export async function buildService(
  config: Config,
  settings: ServiceSettings,
  deps: ServiceDeps = {},
): Promise<Service> {
  const [
    { pino },
    { connectRedis, JsonCache, MemoryKeyValueStore, RedisKeyValueStore, SlidingWindowLimiter },
    { defaultMetrics },
    { BullJobQueue, MemoryJobQueue, SqsJobQueue },
    { JobService },
    { acceptRuleView, RuleService },
    { coverageProbe },
  ] = await serviceModules();
  const log = deps.logger ?? pino({ level: 'silent' });
  const metrics = deps.metrics ?? defaultMetrics();
  const env = deps.env ?? process.env;
  const parts = await openGenerationParts(config, {
    env,
    ...(deps.engine
      ? { engine: { engine: deps.engine, ...(deps.fallback ? { fallback: deps.fallback } : {}) } }
      : {}),
    ...(deps.store ? { store: deps.store } : {}),
    ...(deps.audit !== undefined ? { audit: deps.audit } : {}),
    ...(deps.fetcher ? { fetcher: deps.fetcher } : {}),
    logger: log,
    metrics,
  });
  const { engine } = parts.deps;
  const store = parts.deps.store!;
  const engineVersion = deps.engineVersion ?? engineVersionOf(engine, env);
  try {
    let kv: KeyValueStore;
    let limiter: SlidingWindowLimiter;
    let queue: JobQueue;
    if (config.REDIS_URL) {
      const client = await connectRedis(config.REDIS_URL, {
        keyPrefix: settings.redisPrefix,
        connectionName: 'wafgen',
        onState: (state) =>
          state === 'ready' ? log.info('redis connected') : log.warn({ state }, 'redis unavailable'),
      });
      kv = new RedisKeyValueStore(client);
      limiter = new SlidingWindowLimiter({ redis: client, keyPrefix: 'rl', policies: settings.rateLimits });
      if (settings.sqs) queue = new SqsJobQueue(settings.sqs, settings.queue);
      else {
        const bull = new BullJobQueue(config.REDIS_URL, {
          ...settings.queue,
          prefix: `${settings.redisPrefix}bull`,
        });
        // Redis answered the cache's connection: give the queue's a moment too, so /readyz starts green.
        await bull.connected(client.status === 'ready' ? 2000 : 0);
        queue = bull;
      }
    } else {
      kv = new MemoryKeyValueStore();
      limiter = new SlidingWindowLimiter({ policies: settings.rateLimits });
      // WAFGEN_QUEUE=sqs: jobs go to SQS, for the worker Lambda or `wafgen worker` processes.
      queue = settings.sqs
        ? new SqsJobQueue(settings.sqs, settings.queue)
        : new MemoryJobQueue(settings.queue);
    }
    const cache = new JsonCache<RuleView>(kv, settings.cacheTtlS * 1000, {
      accept: acceptRuleView,
      l1Ms: kv.kind === 'redis' ? settings.cacheL1Ms : 0,
    });
    const rules = new RuleService(
      store,
      cache,
      engine,
      engineVersion,
      parts.deps,
      {
        generateTimeoutMs: settings.generateTimeoutMs,
        lockTtlMs: settings.lockTtlMs,
        maxInputBytes: config.WAFGEN_MAX_INPUT_BYTES,
        fetch: !config.WAFGEN_OFFLINE,
      },
      log,
      metrics,
    );
    const jobs = new JobService(store, queue, engineVersion);
    const deployments = new Deployments(store, parts.deps.audit ? { audit: parts.deps.audit } : {});
    // Coverage by severity (the quality dashboard) comes from the store at scrape time: a SQL
    // query, which the DynamoDB store does not answer (the dashboard's coverage panel stays empty).
    if (store.kind !== 'dynamodb') metrics.setCoverageProbe(coverageProbe(store));
    let closed: Promise<void> | undefined;
    return {
      config,
      settings,
      store,
      kv,
      limiter,
      queue,
      engine,
      engineVersion,
      rules,
      jobs,
      deployments,
      log,
      metrics,
      async health(): Promise<Health> {
        const [storeCheck, redisCheck, queueCheck] = await Promise.all([
          check(store.kind, () => store.ping()),
          kv.kind === 'redis'
            ? check('redis', () => kv.ping())
            : Promise.resolve<CheckResult>({ status: 'disabled', backend: 'memory' }),
          check(queue.kind, () => queue.ping()),
        ]);
        const status =
          storeCheck.status === 'down'
            ? 'down'
            : redisCheck.status === 'down' || queueCheck.status === 'down'
              ? 'degraded'
              : 'ok';
        return { status, checks: { store: storeCheck, redis: redisCheck, queue: queueCheck } };
      },
      close: () =>
        (closed ??= (async () => {
          metrics.setCoverageProbe(undefined);
          await queue.close().catch(() => {});
          // The admissions the limiter counted locally go to Redis before its client closes.
          await limiter.close().catch(() => {});
          await kv.close().catch(() => {});
          await parts.close();
        })()),
    };
  } catch (e) {
    await parts.close().catch(() => {});
    throw e;
  }
}

/** The service as an entry point runs it: configuration, the service, and its in-process worker. */
export interface RunningService {
  service: Service;
  config: Config;
  serviceConfig: ServiceConfig;
  /** The in-process worker, when the queue is in-process (no Redis). */
  consumer?: JobConsumer;
  log: Logger;
  close(): Promise<void>;
}

export interface OpenServiceOptions extends Omit<ServiceDeps, 'logger'> {
  logger?: Logger;
  /** The `component` field of every log line (default `api`). */
  component?: string;
  /** Run queued jobs in this process when the queue is in-process (default true). */
  inProcessWorker?: boolean;
  /** Refuse to start without authentication configured (default true: the API needs it). */
  requireAuth?: boolean;
}

/**
 * Reads the environment and opens the service, as `wafgen serve`, `wafgen worker` and the
 * serverless handlers all do. Without Redis, queued jobs run in this process, and jobs the store
 * says were queued or running when the last process stopped run again.
 */
export async function openService(
  env: NodeJS.ProcessEnv = process.env,
  opts: OpenServiceOptions = {},
): Promise<RunningService> {
  const [
    { loadServiceConfig, assertAuthConfigured },
    { createLogger },
    { startWorker },
    { applySecretsToEnv },
  ] = await Promise.all([
    import('./service-config.js'),
    import('../observability/index.js'),
    import('./jobs.js'),
    import('../secrets/index.js'),
  ]);
  // Keys from Secrets Manager (WAFGEN_SECRETS_ARN) fill the unset variables before anything reads
  // them: once per process start (a serverless cold start), then from its cache for the TTL.
  await applySecretsToEnv(env);
  const config = loadConfig(env);
  const serviceConfig = loadServiceConfig(env);
  if (opts.requireAuth !== false) assertAuthConfigured(serviceConfig);
  const log =
    opts.logger ?? createLogger({ level: config.LOG_LEVEL, base: { component: opts.component ?? 'api' } });
  if (opts.requireAuth !== false && serviceConfig.auth.disabled)
    log.warn('authentication is disabled (WAFGEN_AUTH_DISABLED): every caller has every scope');
  const { logger: _logger, inProcessWorker: _inProcess, component: _c, requireAuth: _r, ...deps } = opts;
  const service = await buildService(config, serviceConfig.settings, { env, ...deps, logger: log });
  let consumer: JobConsumer | undefined;
  try {
    if (service.queue.kind === 'memory' && opts.inProcessWorker !== false) {
      // WAFGEN_LLM_BATCH given to the consumer, so it is cut to the jobs it runs at once like a
      // job's own batch (app/jobs.ts).
      const { llmBatch } = generationDefaults(env);
      consumer = startWorker(service, { ...serviceConfig.worker, ...(llmBatch ? { llmBatch } : {}) });
      const pending = await service.store.jobs.list({
        status: ['queued', 'running'],
        kind: 'generate',
        limit: 1000,
      });
      for (const job of pending)
        if (job.cveId) await service.queue.add(job.id, { cveId: job.cveId, source: 'recovered' });
      if (pending.length > 0) log.info({ jobs: pending.length }, 'requeued unfinished jobs');
    }
  } catch (e) {
    await service.close().catch(() => {});
    throw e;
  }
  let closed: Promise<void> | undefined;
  return {
    service,
    config,
    serviceConfig,
    ...(consumer ? { consumer } : {}),
    log,
    close: () =>
      (closed ??= (async () => {
        if (consumer) {
          const r = await consumer.close(serviceConfig.worker.shutdownGraceMs);
          if (!r.finished) log.warn({ jobs: r.returned }, 'jobs still running at shutdown');
        }
        await service.close();
      })()),
  };
}
