// Prometheus metrics for generation and the machinery around it, in one registry of wafgen's own
// (never prom-client's global one, so two instances in a test or a library host do not collide).
// Callers use the helpers (recordGeneration and friends) so the API, workers and CLI count alike.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

import { outcomeOf, reasonCodes, type ReportLike } from './report.js';

/** Seconds; fine below 5 s, then up to a minute so that p99 and the 30 s alert are derivable. */
export const LATENCY_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 7.5, 10, 15, 20, 30, 45, 60];
const ATTEMPT_BUCKETS = [1, 2, 3, 4, 5, 6, 8, 10];
/** Tokens per generation request; 5,000 is the roadmap's alert line. */
const TOKEN_BUCKETS = [0, 250, 500, 1000, 2000, 3000, 4000, 5000, 7500, 10_000, 20_000, 50_000];
/** USD per rule; $0.10 is the roadmap's alert line. */
const COST_BUCKETS = [0, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

type BreakerStateName = 'closed' | 'half-open' | 'open';
/** wafgen_llm_breaker_state's values (the alert fires at 2). */
export const BREAKER_STATE_VALUE: Readonly<Record<BreakerStateName, number>> = {
  closed: 0,
  'half-open': 1,
  open: 2,
};

/**
 * Why the fallback engine wrote this rule (wafgen_llm_fallbacks_total's reason), or undefined when
 * the report is not a fallback's.
 */
export function fallbackReason(
  report: Pick<ReportLike, 'fallback' | 'producedBy'>,
): 'budget' | 'providers' | 'other' | undefined {
  if (report.fallback === undefined || report.producedBy === undefined) return undefined;
  return /budget exceeded/.test(report.fallback)
    ? 'budget'
    : /LLM provider|no LLM provider/.test(report.fallback)
      ? 'providers'
      : 'other';
}

interface QueueSnapshot {
  queue: string;
  depth: number;
  /** Age of the oldest waiting job; 0 when the queue is empty. */
  oldestAgeSeconds: number;
}

interface CoverageSnapshot {
  severity: string;
  /** CVEs the store knows at this severity. */
  cves: number;
  /** Of them, those with a deployed rule that was proven. */
  protected: number;
}

interface SpoolSnapshot {
  sink: string;
  pending: number;
}

/** What the LLM layer reports per attempt (src/llm AttemptRecord, structurally). */
interface LlmAttemptLike {
  provider: string;
  model: string;
  /** What the call was for: generate (default), extract (the small model's facts), judge. */
  stage?: string;
  ok: boolean;
  kind?: string;
  usage?: { inputTokens: number; outputTokens: number };
  costUsd?: number;
  /** Wall time; 0 for an attempt skipped without a request (open breaker, budget). */
  ms?: number;
}

/** How one LLM call (every attempt of it, across the chain) ended. */
type LlmCallOutcome = 'ok' | 'failed' | 'budget';

/** LLM seconds per request: a fast local model answers in well under a second, a slow one in a minute. */
const LLM_LATENCY_BUCKETS = [0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120];

interface GenerationErrorInfo {
  engine: string;
  provider?: string;
  latencyMs?: number;
}

export interface MetricsOptions {
  /** Also export prom-client's process metrics (CPU, memory, event loop lag), prefixed `wafgen_`. */
  processMetrics?: boolean;
  /** Labels added to every series (e.g. { service: 'api' }). */
  defaultLabels?: Record<string, string>;
}

export interface Metrics {
  readonly registry: Registry;
  recordGeneration(report: ReportLike, opts?: { latencyMs?: number }): void;
  recordGenerationError(info: GenerationErrorInfo): void;
  recordCache(result: 'hit' | 'miss', cache?: string): void;
  recordFailover(from: string, to: string): void;
  recordLlmAttempt(attempt: LlmAttemptLike): void;
  /** Every attempt of one LLM call, in order: counts a failover at each change of provider. */
  recordLlmCall(attempts: readonly Pick<LlmAttemptLike, 'provider'>[]): void;
  setBreakerState(provider: string, state: BreakerStateName): void;
  recordRateLimitRejection(scope?: string): void;
  /** Polled at every scrape for queue depth and the age of the oldest job. */
  setQueueProbe(probe: (() => QueueSnapshot[] | Promise<QueueSnapshot[]>) | undefined): void;
  recordAuditDelivery(sink: string, outcome: 'delivered' | 'retry' | 'dead-lettered', events: number): void;
  setAuditProbe(probe: (() => SpoolSnapshot[]) | undefined): void;
  /** Polled at every scrape for coverage by severity (the probe may answer from its own cache). */
  setCoverageProbe(probe: (() => CoverageSnapshot[] | Promise<CoverageSnapshot[]>) | undefined): void;
  /**
   * Hooks for createLlmClient: attempts (result, tokens, cost, latency), calls and their failovers,
   * breaker transitions. `providers` (the chain) start with their breaker gauge at 0 (closed), so
   * the series exists before the first transition.
   */
  llmHooks(providers?: readonly string[]): {
    onAttempt: (attempt: LlmAttemptLike) => void;
    onBreakerStateChange: (provider: string, state: BreakerStateName) => void;
    onCall: (attempts: readonly Pick<LlmAttemptLike, 'provider'>[], outcome: LlmCallOutcome) => void;
  };
  /** The Prometheus text exposition. */
  scrape(): Promise<string>;
  readonly contentType: string;
}

export function createMetrics(options: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  if (options.defaultLabels) registry.setDefaultLabels(options.defaultLabels);
  if (options.processMetrics) collectDefaultMetrics({ register: registry, prefix: 'wafgen_' });
  const registers = [registry];

  const generations = new Counter({
    name: 'wafgen_generations_total',
    help: 'Rule generations by outcome: success (a proven rule), failed (a rule that failed its checks), error (no rule).',
    labelNames: ['outcome', 'engine', 'provider'] as const,
    registers,
  });
  const duration = new Histogram({
    name: 'wafgen_generation_duration_seconds',
    help: 'Wall time of one rule generation, from request to checked rule.',
    labelNames: ['engine'] as const,
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const attempts = new Histogram({
    name: 'wafgen_generation_attempts',
    help: 'Engine attempts (first try plus self-corrections) per generated rule.',
    labelNames: ['engine'] as const,
    buckets: ATTEMPT_BUCKETS,
    registers,
  });
  const tokens = new Histogram({
    name: 'wafgen_generation_tokens',
    help: 'LLM tokens per generation request, by direction (input, output, total).',
    labelNames: ['engine', 'direction'] as const,
    buckets: TOKEN_BUCKETS,
    registers,
  });
  const cost = new Histogram({
    name: 'wafgen_generation_cost_usd',
    help: 'LLM cost in USD per generated rule (every call made for it, at the price table).',
    labelNames: ['engine'] as const,
    buckets: COST_BUCKETS,
    registers,
  });
  const validationFailures = new Counter({
    name: 'wafgen_validation_failures_total',
    help: 'Rules that failed their checks, by reason code (one rule may count under several reasons).',
    labelNames: ['reason'] as const,
    registers,
  });
  // Cache look-ups are counted once per cache-hit GET, the API's hottest request: plain numbers
  // here, handed to the counter when it is read. Counter.inc hashed its label object on every call
  // (prom-client's incWithoutExemplar, ~1% of the GET's server CPU under bench:api, perf record).
  const cacheCounts = new Map<string, { hit: number; miss: number }>();
  const cache = new Counter({
    name: 'wafgen_cache_requests_total',
    help: 'Rule cache look-ups by result (hit, miss).',
    labelNames: ['cache', 'result'] as const,
    registers,
    collect() {
      for (const [name, counts] of cacheCounts) {
        if (counts.hit > 0) this.inc({ cache: name, result: 'hit' }, counts.hit);
        if (counts.miss > 0) this.inc({ cache: name, result: 'miss' }, counts.miss);
        counts.hit = 0;
        counts.miss = 0;
      }
    },
  });
  // A reset (Registry.resetMetrics) also drops what was counted and not read yet.
  const resetCache = cache.reset.bind(cache);
  cache.reset = () => {
    cacheCounts.clear();
    resetCache();
  };
  let queueProbe: (() => QueueSnapshot[] | Promise<QueueSnapshot[]>) | undefined;
  let queueSnapshot: { at: number; value: Promise<QueueSnapshot[]> } | undefined;
  const snapshotQueues = (): Promise<QueueSnapshot[]> => {
    // One probe call serves both gauges of a scrape; a failing probe leaves the gauges empty.
    const now = Date.now();
    if (!queueSnapshot || now - queueSnapshot.at > 1000) {
      const value = Promise.resolve()
        .then(() => queueProbe?.() ?? [])
        .catch(() => []);
      queueSnapshot = { at: now, value };
    }
    return queueSnapshot.value;
  };
  new Gauge({
    name: 'wafgen_queue_depth',
    help: 'Jobs waiting in the queue.',
    labelNames: ['queue'] as const,
    // Merged registries (a worker's threads, src/worker/metrics.ts) see the same queue: not a sum.
    aggregator: 'max',
    registers,
    async collect() {
      const snaps = await snapshotQueues();
      this.reset();
      for (const s of snaps) this.set({ queue: s.queue }, s.depth);
    },
  });
  new Gauge({
    name: 'wafgen_queue_oldest_job_age_seconds',
    help: 'Age of the oldest waiting job (0 when the queue is empty).',
    labelNames: ['queue'] as const,
    aggregator: 'max',
    registers,
    async collect() {
      const snaps = await snapshotQueues();
      this.reset();
      for (const s of snaps) this.set({ queue: s.queue }, s.oldestAgeSeconds);
    },
  });
  const failovers = new Counter({
    name: 'wafgen_llm_failovers_total',
    help: 'LLM calls handed from one provider to the next.',
    labelNames: ['from', 'to'] as const,
    registers,
  });
  const breaker = new Gauge({
    name: 'wafgen_llm_breaker_state',
    help: 'Circuit breaker state per LLM provider: 0 closed, 1 half-open, 2 open.',
    labelNames: ['provider'] as const,
    // Each thread of a worker has its own breakers: merged, the worst state shows (two open is 2, not 4).
    aggregator: 'max',
    registers,
  });
  const llmAttempts = new Counter({
    name: 'wafgen_llm_attempts_total',
    help: 'LLM call attempts by provider and result (ok, or the failure kind).',
    labelNames: ['provider', 'result'] as const,
    registers,
  });
  const llmTokens = new Counter({
    name: 'wafgen_llm_tokens_total',
    help: 'Tokens billed by LLM providers, by direction and stage (generate, extract, judge).',
    labelNames: ['provider', 'model', 'direction', 'stage'] as const,
    registers,
  });
  const llmCost = new Counter({
    name: 'wafgen_llm_cost_usd_total',
    help: 'USD billed by LLM providers (every attempt that was billed, at the price table), by stage (generate, extract, judge).',
    labelNames: ['provider', 'model', 'stage'] as const,
    registers,
  });
  const llmCalls = new Counter({
    name: 'wafgen_llm_calls_total',
    help: 'LLM calls (each with every attempt and failover it took) by outcome: ok, failed (every provider), budget (refused before any request).',
    labelNames: ['outcome'] as const,
    registers,
  });
  const llmLatency = new Histogram({
    name: 'wafgen_llm_request_duration_seconds',
    help: 'Wall time of one LLM request (an attempt that reached the provider), by provider and result.',
    labelNames: ['provider', 'result'] as const,
    buckets: LLM_LATENCY_BUCKETS,
    registers,
  });
  const fallbacks = new Counter({
    name: 'wafgen_llm_fallbacks_total',
    help: 'Rules the fallback engine wrote because the LLM could not (reason: providers, budget, other); they are labelled engine=builtin and degraded.',
    labelNames: ['reason'] as const,
    registers,
  });
  const rateLimited = new Counter({
    name: 'wafgen_rate_limit_rejections_total',
    help: 'Requests refused by the rate limiter.',
    labelNames: ['scope'] as const,
    registers,
  });
  const audit = new Counter({
    name: 'wafgen_audit_events_total',
    help: 'Audit events by sink and delivery outcome (delivered, retry, dead-lettered).',
    labelNames: ['sink', 'outcome'] as const,
    registers,
  });
  let auditProbe: (() => SpoolSnapshot[]) | undefined;
  new Gauge({
    name: 'wafgen_audit_spool_pending',
    help: 'Audit events spooled on disk and not yet delivered to the sink.',
    labelNames: ['sink'] as const,
    registers,
    collect() {
      this.reset();
      for (const s of auditProbe?.() ?? []) this.set({ sink: s.sink }, s.pending);
    },
  });

  let coverageProbe: (() => CoverageSnapshot[] | Promise<CoverageSnapshot[]>) | undefined;
  let coverageSnapshot: { at: number; value: Promise<CoverageSnapshot[]> } | undefined;
  const snapshotCoverage = (): Promise<CoverageSnapshot[]> => {
    // One probe call serves both gauges of a scrape; a failing probe leaves them empty.
    const now = Date.now();
    if (!coverageSnapshot || now - coverageSnapshot.at > 1000) {
      const value = Promise.resolve()
        .then(() => coverageProbe?.() ?? [])
        .catch(() => []);
      coverageSnapshot = { at: now, value };
    }
    return coverageSnapshot.value;
  };
  new Gauge({
    name: 'wafgen_cves',
    help: 'CVEs in the store, by severity.',
    labelNames: ['severity'] as const,
    // Every thread of a worker reads the same store: merged, the count once, not once per thread.
    aggregator: 'max',
    registers,
    async collect() {
      const snaps = await snapshotCoverage();
      this.reset();
      for (const s of snaps) this.set({ severity: s.severity }, s.cves);
    },
  });
  new Gauge({
    name: 'wafgen_cves_protected',
    help: 'CVEs with a deployed rule that was proven (its latest deployment left it in place), by severity.',
    labelNames: ['severity'] as const,
    aggregator: 'max',
    registers,
    async collect() {
      const snaps = await snapshotCoverage();
      this.reset();
      for (const s of snaps) this.set({ severity: s.severity }, s.protected);
    },
  });

  const providerLabel = (p: string | undefined) => p ?? 'none';

  const recordLlmAttempt = (a: LlmAttemptLike): void => {
    const result = a.ok ? 'ok' : (a.kind ?? 'other');
    llmAttempts.inc({ provider: a.provider, result });
    if (a.ms !== undefined && a.ms > 0 && a.kind !== 'circuit-open' && a.kind !== 'budget')
      llmLatency.observe({ provider: a.provider, result }, a.ms / 1000);
    // A closed set of label values, whatever a caller put in the record.
    const stage = a.stage === 'extract' || a.stage === 'judge' ? a.stage : 'generate';
    if (a.usage) {
      llmTokens.inc({ provider: a.provider, model: a.model, direction: 'input', stage }, a.usage.inputTokens);
      llmTokens.inc(
        { provider: a.provider, model: a.model, direction: 'output', stage },
        a.usage.outputTokens,
      );
    }
    if (a.costUsd !== undefined && a.costUsd > 0)
      llmCost.inc({ provider: a.provider, model: a.model, stage }, a.costUsd);
  };
  const recordLlmCall = (list: readonly Pick<LlmAttemptLike, 'provider'>[]): void => {
    for (let i = 1; i < list.length; i++) {
      const from = list[i - 1]!.provider;
      const to = list[i]!.provider;
      if (from !== to) failovers.inc({ from, to });
    }
  };
  const breakerSeen = new Set<string>();
  const setBreakerState = (provider: string, state: BreakerStateName): void => {
    breakerSeen.add(provider);
    breaker.set({ provider }, BREAKER_STATE_VALUE[state]);
  };

  return {
    registry,
    contentType: registry.contentType,
    recordGeneration(report, opts = {}) {
      const engine = report.engine;
      generations.inc({ outcome: outcomeOf(report), engine, provider: providerLabel(report.provider) });
      duration.observe({ engine }, (opts.latencyMs ?? report.durationMs) / 1000);
      attempts.observe({ engine }, report.attempts);
      const { inputTokens, outputTokens } = report.usage;
      tokens.observe({ engine, direction: 'input' }, inputTokens);
      tokens.observe({ engine, direction: 'output' }, outputTokens);
      tokens.observe({ engine, direction: 'total' }, inputTokens + outputTokens);
      cost.observe({ engine }, report.costUsd);
      for (const reason of reasonCodes(report)) validationFailures.inc({ reason });
      const reason = fallbackReason(report);
      if (reason) fallbacks.inc({ reason });
    },
    recordGenerationError(info) {
      generations.inc({ outcome: 'error', engine: info.engine, provider: providerLabel(info.provider) });
      if (info.latencyMs !== undefined) duration.observe({ engine: info.engine }, info.latencyMs / 1000);
    },
    recordCache(result, name = 'rules') {
      let counts = cacheCounts.get(name);
      if (counts === undefined) {
        counts = { hit: 0, miss: 0 };
        cacheCounts.set(name, counts);
      }
      counts[result]++;
    },
    recordFailover(from, to) {
      failovers.inc({ from, to });
    },
    recordLlmAttempt,
    recordLlmCall,
    setBreakerState,
    recordRateLimitRejection(scope = 'api') {
      rateLimited.inc({ scope });
    },
    setQueueProbe(probe) {
      queueProbe = probe;
      queueSnapshot = undefined;
    },
    recordAuditDelivery(sink, outcome, events) {
      if (events > 0) audit.inc({ sink, outcome }, events);
    },
    setAuditProbe(probe) {
      auditProbe = probe;
    },
    setCoverageProbe(probe) {
      coverageProbe = probe;
      coverageSnapshot = undefined;
    },
    llmHooks(providers = []) {
      for (const p of providers) if (!breakerSeen.has(p)) setBreakerState(p, 'closed');
      return {
        onAttempt: recordLlmAttempt,
        onBreakerStateChange: setBreakerState,
        onCall(list, outcome) {
          llmCalls.inc({ outcome });
          recordLlmCall(list);
        },
      };
    },
    scrape: () => registry.metrics(),
  };
}

let shared: Metrics | undefined;

/** The process's metrics: what `/metrics` serves. */
export function defaultMetrics(): Metrics {
  return (shared ??= createMetrics({ processMetrics: true }));
}
