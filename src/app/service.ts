// The service's composition root: from configuration to a store, a cache, single flight, a rate
// limiter, a queue and an engine, plus the two use cases the API and the workers share on top of
// them: rules (cache-through reads, single-flight generation, graceful degradation) and jobs
// (idempotent enqueueing with the store as the lasting record).
//
// With REDIS_URL: Redis cache, cross-replica locks and rate limits, BullMQ. Without: the same
// interfaces in process. Redis being away never stops the API: reads come from the store,
// generation runs locally, and /readyz says what is degraded.
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';

import { sql } from 'kysely';
import type { Logger } from 'pino';
import { pino } from 'pino';

import {
  connectRedis,
  JsonCache,
  MemoryKeyValueStore,
  RedisKeyValueStore,
  ruleCacheKey,
  SingleFlight,
  SlidingWindowLimiter,
  type KeyValueStore,
  type RatePolicy,
} from '../kv/index.js';
import type { Config } from '../config/index.js';
import type { Engine, GenerationReport } from '../generation/types.js';
import { loadLlmConfig } from '../llm/config.js';
import {
  BullJobQueue,
  MemoryJobQueue,
  type GenerateJobData,
  type JobQueue,
  type QueueSettings,
} from '../queue/index.js';
import { loadAuditConfig } from '../audit/config.js';
import { openAuditLog, type AuditLog } from '../audit/index.js';
import { defaultMetrics, observeGeneration, type Metrics } from '../observability/index.js';
import type { Job, Store, StoredRule } from '../store/index.js';
import { loadLiveConfig } from '../vulns/live/config.js';
import { chooseEngine } from './engines.js';
import { InputError } from '../core/errors.js';
import { generateRule, parseCveId, type GenerateDeps } from './generate.js';
import { openSeededStore } from './store.js';

const { version: PACKAGE_VERSION } = createRequire(import.meta.url)('../../package.json') as {
  version: string;
};

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
  rateLimits: Record<string, RatePolicy>;
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
}

/** A rule as the API and the cache hand it out. */
export interface RuleView {
  cveId: string;
  version?: number;
  rule: unknown;
  report: GenerationReport | Record<string, unknown>;
  /** Engine and version that produced it (the cache key's last part). */
  engine: string;
  passed: boolean;
  createdAt?: string;
  /** When this view was produced (milliseconds since the epoch). */
  generatedAt: number;
}

export interface GenerateOutcome {
  result: RuleView;
  /** hit: served from the cache; miss: generated now; bypass: `force` skipped the cache. */
  cache: 'hit' | 'miss' | 'bypass';
  /** ran: this call generated; joined/waited: another request's generation answered it. */
  how?: 'ran' | 'joined' | 'waited';
  /** Generation failed and this is the last good rule. */
  degraded?: { reason: string; source: 'cache' | 'store' };
}

export interface GenerateOptions {
  maxAttempts?: number;
  force?: boolean;
  /** On failure, answer with the last good rule instead of throwing (default true). */
  degrade?: boolean;
  /** For the generation log line and metrics. */
  requestId?: string;
  principal?: string;
}

/** Generation failed and there was no earlier rule to fall back on. */
export class GenerationFailedError extends Error {
  override name = 'GenerationFailedError';
}

/** The queue did not take the job (Redis away). */
export class QueueUnavailableError extends Error {
  override name = 'QueueUnavailableError';
}

class TimeoutError extends Error {}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new TimeoutError(`${what} took longer than ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

function acceptRuleView(value: unknown): RuleView | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const v = value as Partial<RuleView>;
  return typeof v.cveId === 'string' && typeof v.engine === 'string' && v.rule !== undefined && v.report
    ? (v as RuleView)
    : undefined;
}

function storedPassed(s: StoredRule): boolean {
  return (s.report as { passed?: unknown } | undefined)?.passed === true;
}

export function viewOfStored(s: StoredRule, engine: string): RuleView {
  return {
    cveId: s.cveId,
    version: s.version,
    rule: s.rule,
    report: s.report as RuleView['report'],
    engine,
    passed: storedPassed(s),
    createdAt: s.createdAt,
    generatedAt: Date.parse(s.createdAt),
  };
}

export class RuleService {
  private readonly flights: SingleFlight;

  constructor(
    private readonly store: Store,
    readonly cache: JsonCache<RuleView>,
    private readonly engine: Engine,
    readonly engineVersion: string,
    private readonly generationDeps: Omit<GenerateDeps, 'store' | 'engine'>,
    private readonly settings: Pick<ServiceSettings, 'generateTimeoutMs' | 'lockTtlMs'> & {
      maxInputBytes: number;
      /** Fetch the record's reference URLs for evidence (not when offline). */
      fetch: boolean;
    },
    private readonly log: Logger,
    private readonly metrics: Metrics,
  ) {
    this.flights = new SingleFlight(cache.kv);
  }

  key(cveId: string): string {
    return ruleCacheKey(cveId, this.engineVersion);
  }

  /** Cache reads never fail a request: Redis away reads as a miss. */
  private async cached(key: string): Promise<RuleView | undefined> {
    try {
      return await this.cache.get(key);
    } catch (e) {
      this.log.debug({ err: message(e) }, 'cache read failed');
      return undefined;
    }
  }

  private async remember(key: string, view: RuleView): Promise<void> {
    try {
      await this.cache.set(key, view);
    } catch (e) {
      this.log.debug({ err: message(e) }, 'cache write failed');
    }
  }

  /** The latest rule for the CVE: from the cache, else from the store (and cached when this engine made it). */
  async latest(cveId: string): Promise<{ view: RuleView; cache: 'hit' | 'miss' } | undefined> {
    const id = parseCveId(cveId);
    const key = this.key(id);
    const hit = await this.cached(key);
    this.metrics.recordCache(hit ? 'hit' : 'miss');
    if (hit) return { view: hit, cache: 'hit' };
    const stored = await this.store.rules.latest(id);
    if (!stored) return undefined;
    const sameEngine = stored.engine === this.engine.name;
    const view = viewOfStored(stored, sameEngine ? this.engineVersion : stored.engine);
    if (sameEngine) await this.remember(key, view);
    return { view, cache: 'miss' };
  }

  async version(cveId: string, version: number): Promise<RuleView | undefined> {
    const stored = await this.store.rules.get(parseCveId(cveId), version);
    return stored ? viewOfStored(stored, stored.engine) : undefined;
  }

  async versions(cveId: string): Promise<StoredRule[]> {
    return this.store.rules.versions(parseCveId(cveId));
  }

  /**
   * A rule for the CVE from this engine version: the cached one, else a new generation (one per
   * burst, across replicas). When generation fails, the last good rule with the reason.
   */
  async generate(cveId: string, opts: GenerateOptions = {}): Promise<GenerateOutcome> {
    const id = parseCveId(cveId);
    const key = this.key(id);
    if (!opts.force) {
      const hit = await this.cached(key);
      this.metrics.recordCache(hit ? 'hit' : 'miss');
      if (hit) return { result: hit, cache: 'hit' };
    }
    const started = Date.now();
    try {
      const flight = await this.flights.run(key, () => this.run(id, key, opts), {
        lockTtlMs: this.settings.lockTtlMs,
        waitMs: this.settings.generateTimeoutMs,
        peek: async () => {
          const v = await this.cached(key);
          return v && (!opts.force || v.generatedAt >= started) ? v : undefined;
        },
      });
      return { result: flight.value, cache: opts.force ? 'bypass' : 'miss', how: flight.how };
    } catch (e) {
      if (e instanceof InputError || opts.degrade === false) throw e;
      const reason = message(e);
      this.log.warn({ cveId: id, err: reason }, 'generation failed; looking for the last good rule');
      const fallback = await this.lastGood(id, key);
      if (!fallback) throw new GenerationFailedError(`generation failed for ${id}: ${reason}`);
      return {
        result: fallback.view,
        cache: opts.force ? 'bypass' : 'miss',
        degraded: { reason, source: fallback.source },
      };
    }
  }

  private async run(cveId: string, key: string, opts: GenerateOptions): Promise<RuleView> {
    // generateRule records the metrics, the log line and the audit event of each generation.
    const r = await withTimeout(
      generateRule(
        {
          cveId,
          maxInputBytes: this.settings.maxInputBytes,
          save: true,
          fetch: this.settings.fetch,
          ...(opts.maxAttempts ? { maxAttempts: opts.maxAttempts } : {}),
        },
        {
          ...this.generationDeps,
          store: this.store,
          engine: this.engine,
          observe: (o) => observeGeneration(o, { metrics: this.metrics, logger: this.log }),
          ...(opts.requestId ? { requestId: opts.requestId } : {}),
          ...(opts.principal ? { principal: opts.principal } : {}),
        },
      ),
      this.settings.generateTimeoutMs,
      `generating a rule for ${cveId}`,
    );
    const view: RuleView = {
      cveId,
      ...(r.version !== undefined ? { version: r.version } : {}),
      rule: r.rule,
      report: r.report,
      engine: this.engineVersion,
      passed: r.report.passed,
      createdAt: new Date().toISOString(),
      generatedAt: Date.now(),
    };
    await this.remember(key, view);
    return view;
  }

  /** The last good rule: the cached one, else the newest stored version that passed (else the newest). */
  private async lastGood(
    cveId: string,
    key: string,
  ): Promise<{ view: RuleView; source: 'cache' | 'store' } | undefined> {
    const hit = await this.cached(key);
    if (hit) return { view: hit, source: 'cache' };
    try {
      const versions = await this.store.rules.versions(cveId);
      const pick = [...versions].reverse().find(storedPassed) ?? versions.at(-1);
      return pick ? { view: viewOfStored(pick, pick.engine), source: 'store' } : undefined;
    } catch (e) {
      this.log.warn({ cveId, err: message(e) }, 'store read failed while degrading');
      return undefined;
    }
  }
}

export interface EnqueueRequest {
  cveId: string;
  maxAttempts?: number;
  force?: boolean;
  source: string;
  principal?: string;
  requestId?: string;
}

export interface EnqueueResult {
  jobId: string;
  cveId: string;
  status: Job['status'];
  /** A run was queued by this call (false: the same job was already queued, running or done). */
  created: boolean;
}

export interface JobView extends Job {
  /** The queue's view of the job, when it still holds it. */
  queue?: { state: string; attemptsMade: number; failedReason?: string };
}

const isUniqueViolation = (e: unknown): boolean =>
  e !== null && typeof e === 'object' && (e as { code?: unknown }).code === '23505';

export class JobService {
  constructor(
    private readonly store: Store,
    readonly queue: JobQueue,
    private readonly engineVersion: string,
  ) {}

  /** One id per CVE and engine version: enqueueing the same work twice is the same job. */
  jobId(cveId: string): string {
    return `gen-${cveId.toUpperCase()}-${this.engineVersion.replace(/[^A-Za-z0-9._-]/g, '-')}`;
  }

  async enqueue(req: EnqueueRequest): Promise<EnqueueResult> {
    const cveId = parseCveId(req.cveId);
    const id = this.jobId(cveId);
    const data: GenerateJobData = {
      cveId,
      source: req.source,
      ...(req.maxAttempts ? { maxAttempts: req.maxAttempts } : {}),
      ...(req.force ? { force: true } : {}),
      ...(req.principal ? { principal: req.principal } : {}),
      ...(req.requestId ? { requestId: req.requestId } : {}),
    };
    let row: Job | undefined;
    let created = false;
    try {
      row = await this.store.jobs.create({ id, kind: 'generate', cveId, payload: data });
      created = true;
    } catch (e) {
      if (!isUniqueViolation(e)) throw e;
      row = await this.store.jobs.get(id);
    }
    if (!row) throw new Error(`job ${id} vanished while enqueueing`);
    let rerun = false;
    if (!created) {
      if (row.status === 'succeeded' && !req.force) return { jobId: id, cveId, status: row.status, created };
      if (row.status === 'failed' || row.status === 'dead' || row.status === 'succeeded') {
        rerun = true;
        row = (await this.store.jobs.update(id, { status: 'queued', attempts: 0, error: null })) ?? row;
      }
      // queued or running: make sure the queue holds it (its producer may have died in between);
      // adding an id the queue already has does nothing.
    }
    try {
      await this.queue.add(id, data, { rerun });
    } catch (e) {
      const reason = `queue unavailable: ${message(e)}`;
      if (created || rerun)
        await this.store.jobs.update(id, { status: 'failed', error: reason }).catch(() => {});
      throw new QueueUnavailableError(reason);
    }
    return { jobId: id, cveId, status: row.status, created: created || rerun };
  }

  async get(id: string): Promise<JobView | undefined> {
    let row = await this.store.jobs.get(id);
    if (!row) return undefined;
    let queue: JobView['queue'];
    if (row.status === 'queued' || row.status === 'running') {
      const q = await this.queue.get(id).catch(() => undefined);
      if (q) {
        queue = {
          state: q.state,
          attemptsMade: q.attemptsMade,
          ...(q.failedReason ? { failedReason: q.failedReason } : {}),
        };
        // A job the queue gave up on without its handler saying so (it stalled too often).
        if (q.state === 'failed')
          row =
            (await this.store.jobs.update(id, { status: 'dead', error: q.failedReason ?? 'failed' })) ?? row;
      }
    }
    return { ...row, ...(queue ? { queue } : {}) };
  }
}

export interface CheckResult {
  status: 'ok' | 'down' | 'disabled';
  backend: string;
  latencyMs?: number;
  error?: string;
}

export interface Health {
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
  const log = deps.logger ?? pino({ level: 'silent' });
  const metrics = deps.metrics ?? defaultMetrics();
  const choice = deps.engine ? undefined : chooseEngine(config, 'auto');
  const engine = deps.engine ?? choice!.engine;
  const fallback = deps.engine ? deps.fallback : choice!.fallback;
  const env = deps.env ?? process.env;
  const engineVersion = deps.engineVersion ?? engineVersionOf(engine, env);
  const store = deps.store ?? (await openSeededStore(config));
  const ownsStore = deps.store === undefined;
  let audit: AuditLog | undefined;
  const ownsAudit = deps.audit === undefined;
  try {
    // One audit event per generation (file spool by default; a second process on the same data
    // directory gets its own spool, see src/audit).
    audit =
      deps.audit === false
        ? undefined
        : (deps.audit ??
          (await openAuditLog(loadAuditConfig(env, { dataDir: config.dataDir }), { logger: log, metrics })));
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
      const bull = new BullJobQueue(config.REDIS_URL, {
        ...settings.queue,
        prefix: `${settings.redisPrefix}bull`,
      });
      // Redis answered the cache's connection: give the queue's a moment too, so /readyz starts green.
      await bull.connected(client.status === 'ready' ? 2000 : 0);
      queue = bull;
    } else {
      kv = new MemoryKeyValueStore();
      limiter = new SlidingWindowLimiter({ policies: settings.rateLimits });
      queue = new MemoryJobQueue(settings.queue);
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
      {
        ...(fallback ? { fallback } : {}),
        ...(audit ? { audit } : {}),
        // A CVE missing from the store is looked up live (NVD, KEV, nuclei) unless WAFGEN_OFFLINE.
        lookup: {
          offline: config.WAFGEN_OFFLINE,
          live: loadLiveConfig(env, { dataDir: config.dataDir }),
        },
      },
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
      log,
      metrics,
      async health(): Promise<Health> {
        const [storeCheck, redisCheck, queueCheck] = await Promise.all([
          check(store.kind, () => sql`select 1`.execute(store.db)),
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
          await queue.close().catch(() => {});
          await kv.close().catch(() => {});
          if (ownsAudit) await audit?.close().catch(() => {});
          if (ownsStore) await store.close();
        })()),
    };
  } catch (e) {
    if (ownsAudit) await audit?.close().catch(() => {});
    if (ownsStore) await store.close().catch(() => {});
    throw e;
  }
}
