// Issue 15 item 5 (the worker's part): `wafgen worker` serves /metrics on its own loopback port
// (WAFGEN_WORKER_METRICS_PORT), merging its generation threads' series with its own. Real Redis
// queue, real PostgreSQL, one generation thread, the LLM chain on two local fake provider servers
// (an OpenAI-compatible endpoint, then OpenAI), scripted as serve-metrics.test.ts scripts `wafgen
// serve`: a failover from the failing first endpoint, its breaker opening, every provider down (a
// fallback to the built-in engine), then rules through the open breaker. After it, a scrape carries
// every series ops/ (alert rules, dashboards) names that belongs to generation work, non-zero where
// the run makes it so; the series only an HTTP server produces are listed apart, with the reason.
// Also: how the threads' registries merge (sum for counts, max for gauges of one shared thing, the
// process-wide series once), and the embedded metric format lines of the serverless handlers.
import { createServer, type AddressInfo } from 'node:net';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';

import { buildService, loadServiceConfig, type Service } from '../../src/app/index.js';
import { loadConfig } from '../../src/config/index.js';
import { generateRule } from '../../src/index.js';
import { ruleCacheKey } from '../../src/kv/index.js';
import { createMetrics, observeGeneration } from '../../src/observability/index.js';
import type { Store } from '../../src/store/index.js';
import type { BullJobQueue } from '../../src/queue/bullmq.js';
import { runWorker, type RunningWorker } from '../../src/worker/index.js';
import { withEmbeddedMetrics } from '../../src/worker/emf.js';
import { mergeSeries, workerMetricsAddress } from '../../src/worker/metrics.js';
import { opsSeries, parseExposition, value, type Sample } from '../observability/support.js';
import {
  baseEnv,
  createTestDatabase,
  openPostgresStore,
  postgresAdminUrl,
  REDIS_URL,
  redisAvailable,
  redisPrefix,
  waitFor,
  type TestDatabase,
} from '../service/support.js';
import { startFakeLlm, type FakeLlm } from '../support/fake-llm/server.js';

const hasRedis = await redisAvailable();
const adminUrl = hasRedis ? await postgresAdminUrl() : undefined;

describe('worker metrics settings', () => {
  it('no port: no listener; a port: loopback unless a host is given; bad values refused', () => {
    expect(workerMetricsAddress({})).toBeUndefined();
    expect(workerMetricsAddress({ WAFGEN_WORKER_METRICS_PORT: '9464' })).toEqual({
      port: 9464,
      host: '127.0.0.1',
    });
    expect(
      workerMetricsAddress({ WAFGEN_WORKER_METRICS_PORT: '0', WAFGEN_WORKER_METRICS_HOST: '0.0.0.0' }),
    ).toEqual({ port: 0, host: '0.0.0.0' });
    for (const bad of ['-1', '70000', 'http'])
      expect(() => workerMetricsAddress({ WAFGEN_WORKER_METRICS_PORT: bad })).toThrow(/port number/);
    expect(() =>
      workerMetricsAddress({ WAFGEN_WORKER_METRICS_PORT: '1', WAFGEN_WORKER_METRICS_HOST: 'a b' }),
    ).toThrow(/host/);
  });
});

describe('serverless: embedded metric format', () => {
  it('one EMF line per generation, every declared metric present, and the registry still counts', async () => {
    const lines: string[] = [];
    const metrics = withEmbeddedMetrics(createMetrics(), (l) => lines.push(l));
    const { report } = await generateRule('CVE-2021-44228');
    observeGeneration(
      { requestId: 'r1', cveId: 'CVE-2021-44228', principal: 'p', report, latencyMs: 42 },
      { metrics },
    );
    observeGeneration(
      {
        requestId: 'r2',
        cveId: 'CVE-2021-44228',
        principal: 'p',
        error: new Error('x'),
        engine: 'llm',
        latencyMs: 7,
      },
      { metrics },
    );
    expect(lines).toHaveLength(2);
    const [ok, failed] = lines.map(
      (l) =>
        JSON.parse(l) as Record<string, unknown> & {
          _aws: {
            CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[];
          };
        },
    );
    const directive = ok!._aws.CloudWatchMetrics[0]!;
    expect(directive.Namespace).toBe('wafgen');
    // Every declared metric and dimension is a top-level member, as CloudWatch requires.
    for (const m of directive.Metrics) expect(typeof ok![m.Name]).toBe('number');
    for (const d of directive.Dimensions.flat()) expect(typeof ok![d]).toBe('string');
    expect(ok).toMatchObject({
      engine: 'builtin',
      verdict: 'proven',
      Generations: 1,
      GenerationErrors: 0,
      DurationMs: 42,
    });
    expect(failed).toMatchObject({
      engine: 'llm',
      verdict: 'error',
      Generations: 0,
      GenerationErrors: 1,
      DurationMs: 7,
    });
    const text = await metrics.scrape();
    expect(text).toMatch(/wafgen_generations_total\{[^}]*engine="builtin"[^}]*\} 1/);
  });

  it("the LLM chain's health under the names the alarms read: fallbacks, failovers, breaker state", async () => {
    const lines: Record<string, unknown>[] = [];
    const metrics = withEmbeddedMetrics(createMetrics(), (l) => lines.push(JSON.parse(l)));
    // As the engine wires them (app/engines.ts): the hooks of the wrapped metrics.
    const hooks = metrics.llmHooks(['local', 'openai']);
    hooks.onCall([{ provider: 'local' }, { provider: 'openai' }], 'ok');
    hooks.onBreakerStateChange('local', 'open');
    hooks.onCall([{ provider: 'local' }, { provider: 'openai' }, { provider: 'openai' }], 'failed');
    const { report } = await generateRule('CVE-2021-44228');
    const fallback = { ...report, producedBy: 'builtin', fallback: 'every LLM provider failed: overloaded' };
    observeGeneration(
      { requestId: 'r1', cveId: 'CVE-2021-44228', report: fallback, latencyMs: 5 },
      { metrics },
    );
    hooks.onBreakerStateChange('local', 'half-open');
    observeGeneration({ requestId: 'r2', cveId: 'CVE-2021-44228', report, latencyMs: 5 }, { metrics });
    hooks.onBreakerStateChange('local', 'closed');
    observeGeneration(
      { requestId: 'r3', cveId: 'CVE-2021-44228', error: new Error('x'), engine: 'llm', latencyMs: 5 },
      { metrics },
    );
    const names = ['wafgen_llm_fallbacks_total', 'wafgen_llm_failovers_total', 'wafgen_llm_breaker_state'];
    for (const line of lines) {
      const declared = (
        line._aws as { CloudWatchMetrics: { Metrics: { Name: string }[] }[] }
      ).CloudWatchMetrics[0]!.Metrics.map((m) => m.Name);
      expect(declared).toEqual(expect.arrayContaining(names));
    }
    // Failovers since the previous line (two, then none); the worst breaker when the line was written.
    expect(lines.map((l) => names.map((n) => l[n]))).toEqual([
      [1, 2, 2],
      [0, 0, 1],
      [0, 0, 0],
    ]);
    // The registry counted the same.
    const samples = parseExposition(await metrics.scrape());
    expect(value(samples, 'wafgen_llm_failovers_total', { from: 'local', to: 'openai' })).toBe(2);
    expect(value(samples, 'wafgen_llm_fallbacks_total', { reason: 'providers' })).toBe(1);
    expect(value(samples, 'wafgen_llm_breaker_state', { provider: 'local' })).toBe(0);
  });

  it('audit deliveries: a line per outcome, with the events still spooled', async () => {
    const lines: Record<string, unknown>[] = [];
    const metrics = withEmbeddedMetrics(createMetrics(), (l) => lines.push(JSON.parse(l)));
    let pending = 5;
    // As the audit log wires them (src/audit/index.ts).
    metrics.setAuditProbe(() => [
      { sink: 'splunk', pending },
      { sink: 'file', pending: 0 },
    ]);
    metrics.recordAuditDelivery('splunk', 'retry', 5);
    pending = 2;
    metrics.recordAuditDelivery('splunk', 'dead-lettered', 3);
    metrics.recordAuditDelivery('file', 'delivered', 0);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toMatchObject({
      sink: 'splunk',
      outcome: 'dead-lettered',
      wafgen_audit_events_total: 3,
      wafgen_audit_spool_pending: 2,
    });
    const directives = (
      lines[0]!._aws as { CloudWatchMetrics: { Dimensions: string[][]; Metrics: { Name: string }[] }[] }
    ).CloudWatchMetrics;
    // The dead-letter alarm reads the events by outcome alone; the spool alarm the total pending.
    expect(directives).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          Dimensions: expect.arrayContaining([['outcome']]),
          Metrics: [expect.objectContaining({ Name: 'wafgen_audit_events_total' })],
        }),
        expect.objectContaining({
          Dimensions: [[]],
          Metrics: [expect.objectContaining({ Name: 'wafgen_audit_spool_pending' })],
        }),
      ]),
    );
    expect(lines[0]).toMatchObject({
      outcome: 'retry',
      wafgen_audit_events_total: 5,
      wafgen_audit_spool_pending: 5,
    });
    const samples = parseExposition(await metrics.scrape());
    expect(value(samples, 'wafgen_audit_events_total', { sink: 'splunk', outcome: 'dead-lettered' })).toBe(3);
    expect(value(samples, 'wafgen_audit_spool_pending', { sink: 'splunk' })).toBe(2);
  });
});

describe("merging the threads' series", () => {
  it('counts add up; breaker, queue and coverage take the max; process-wide series once', async () => {
    const main = createMetrics({ processMetrics: true });
    const threads = [createMetrics({ processMetrics: true }), createMetrics({ processMetrics: true })];
    // Every service of a worker probes the same store for coverage; only the main thread the queue.
    for (const m of [main, ...threads])
      m.setCoverageProbe(() => [{ severity: 'critical', cves: 7, protected: 3 }]);
    main.setQueueProbe(() => [{ queue: 'jobs', depth: 4, oldestAgeSeconds: 12 }]);
    // The main thread's breaker never saw a call; each thread's opened on its own calls.
    main.llmHooks(['local', 'openai']);
    const { report } = await generateRule('CVE-2021-44228');
    for (const t of threads) {
      const hooks = t.llmHooks(['local', 'openai']);
      hooks.onBreakerStateChange('local', 'open');
      hooks.onCall([{ provider: 'local' }, { provider: 'openai' }], 'ok');
      t.recordGeneration(report);
    }
    threads[1]!.llmHooks().onBreakerStateChange('openai', 'half-open');
    const json = await Promise.all(threads.map((t) => t.registry.getMetricsAsJSON()));
    const ownJson = await main.registry.getMetricsAsJSON();
    const merged = parseExposition(await mergeSeries(ownJson, json).metrics());

    expect(value(merged, 'wafgen_llm_breaker_state', { provider: 'local' })).toBe(2);
    expect(value(merged, 'wafgen_llm_breaker_state', { provider: 'openai' })).toBe(1);
    expect(value(merged, 'wafgen_cves', { severity: 'critical' })).toBe(7);
    expect(value(merged, 'wafgen_cves_protected', { severity: 'critical' })).toBe(3);
    expect(value(merged, 'wafgen_queue_depth', { queue: 'jobs' })).toBe(4);
    expect(value(merged, 'wafgen_queue_oldest_job_age_seconds', { queue: 'jobs' })).toBe(12);
    expect(value(merged, 'wafgen_llm_failovers_total', { from: 'local', to: 'openai' })).toBe(2);
    expect(value(merged, 'wafgen_llm_calls_total', { outcome: 'ok' })).toBe(2);
    expect(value(merged, 'wafgen_generation_duration_seconds_count', { engine: 'builtin' })).toBe(2);
    // The process's own figures are the main thread's, once: not one copy per thread, and the start
    // time (which prom-client's merge would omit) kept.
    const own = parseExposition(await main.scrape());
    for (const name of ['wafgen_process_start_time_seconds', 'wafgen_process_max_fds']) {
      const mine = value(own, name);
      if (mine === undefined) continue; // max_fds: Linux only
      expect(value(merged, name), name).toBe(mine);
    }
    expect(value(merged, 'wafgen_process_start_time_seconds')).toBeGreaterThan(0);
  });
});

/**
 * The series ops/ names that a worker's generation work fills. Every one must be on the worker's
 * /metrics after the scripted run below.
 */
const FROM_WORKER = [
  'wafgen_audit_events_total',
  'wafgen_audit_spool_pending',
  'wafgen_cache_requests_total',
  'wafgen_cves',
  'wafgen_cves_protected',
  'wafgen_generation_attempts',
  'wafgen_generation_cost_usd',
  'wafgen_generation_duration_seconds',
  'wafgen_generation_tokens',
  'wafgen_generations_total',
  'wafgen_llm_attempts_total',
  'wafgen_llm_breaker_state',
  'wafgen_llm_calls_total',
  'wafgen_llm_cost_usd_total',
  'wafgen_llm_failovers_total',
  'wafgen_llm_fallbacks_total',
  'wafgen_llm_request_duration_seconds',
  'wafgen_llm_tokens_total',
  'wafgen_queue_depth',
  'wafgen_queue_oldest_job_age_seconds',
  'wafgen_validation_failures_total',
];

/** The series ops/ names that only an HTTP server produces, with why a worker has none. */
const NOT_FROM_WORKER: Record<string, string> = {
  wafgen_rate_limit_rejections_total:
    'the rate limiter guards the HTTP API (src/api/middleware/guard.ts); a worker takes jobs off its queue and refuses no caller',
};

describe('ops/ series and the worker', () => {
  it('every series ops/ names is either one the worker fills or one only an HTTP server can', () => {
    const ops = opsSeries();
    expect(ops.length).toBeGreaterThan(10);
    // A series added to ops/ must be put in one of the lists (and a listed one must still be in ops/).
    expect(ops.filter((n) => !FROM_WORKER.includes(n) && !(n in NOT_FROM_WORKER))).toEqual([]);
    expect([...FROM_WORKER, ...Object.keys(NOT_FROM_WORKER)].filter((n) => !ops.includes(n))).toEqual([]);
    expect(FROM_WORKER.filter((n) => n in NOT_FROM_WORKER)).toEqual([]);
  });
});

describe.skipIf(!hasRedis || !adminUrl)('wafgen worker /metrics', () => {
  const keys = redisPrefix();
  const log = pino({ level: 'silent' });
  let db: TestDatabase;
  let store: Store;
  let producer: Service;
  let worker: RunningWorker | undefined;
  let primary: FakeLlm;
  let fake: FakeLlm;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    [primary, fake] = await Promise.all([startFakeLlm(), startFakeLlm()]);
    db = await createTestDatabase(adminUrl!);
    store = await openPostgresStore(db.url);
    env = baseEnv({
      REDIS_URL,
      DATABASE_URL: db.url,
      WAFGEN_REDIS_PREFIX: keys.prefix,
      WAFGEN_JOB_BACKOFF_MS: '50',
      WAFGEN_AUDIT_FSYNC: '0',
      WAFGEN_AUDIT_FLUSH_MS: '50',
      WAFGEN_OFFLINE: '0',
      // Online for the LLM; no real reference page fetched.
      WAFGEN_FETCH_REFERENCES: '0',
      WAFGEN_HTTP_TIMEOUT_MS: '1000',
      // A local server first, then OpenAI (priced, so cost is non-zero).
      WAFGEN_LLM_PROVIDERS: 'openai-compatible:primary,openai',
      WAFGEN_OPENAI_COMPATIBLE_PRIMARY_URL: primary.baseURL('openai-compatible'),
      WAFGEN_OPENAI_COMPATIBLE_PRIMARY_MODEL: 'qwen2.5-coder',
      OPENAI_API_KEY: 'sk-test-not-a-real-key-0123',
      OPENAI_BASE_URL: fake.baseURL('openai'),
      WAFGEN_LLM_RETRIES: '0',
      WAFGEN_LLM_TIMEOUT_MS: '10000',
      // The first endpoint's breaker opens at its second failure; OpenAI fails once, stays closed.
      WAFGEN_LLM_BREAKER_THRESHOLD: '2',
      WAFGEN_LLM_BREAKER_COOLDOWN_MS: '600000',
      WAFGEN_WORKER_METRICS_PORT: '0',
    });
    producer = await buildService(loadConfig(env), loadServiceConfig(env).settings, {
      store,
      env,
      audit: false,
      logger: log,
      metrics: createMetrics(),
    });
  }, 60_000);

  afterAll(async () => {
    await worker?.stop().catch(() => {});
    await producer?.close();
    await store?.close();
    await keys.cleanup();
    await db?.drop();
    await Promise.all([primary?.close(), fake?.close()]);
  }, 60_000);

  /** The answer a good model gives: the statement the built-in engine proves for the CVE. */
  async function answerFor(cveId: string, usage?: { inputTokens: number; outputTokens: number }) {
    const { rule } = await generateRule(cveId);
    return {
      json: { rationale: 'Match the technique, decoded, where it travels.', statement: rule.Statement },
      ...(usage ? { usage } : {}),
    };
  }

  const scrape = async (): Promise<Sample[]> => {
    const res = await fetch(`${worker!.metricsUrl}/metrics`);
    expect(res.status).toBe(200);
    return parseExposition(await res.text());
  };
  const total = (samples: Sample[], name: string, labels: Record<string, string> = {}) =>
    samples
      .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
      .reduce((a, s) => a + s.value, 0);
  const jobDone = (jobId: string, done: (r: Record<string, unknown>) => boolean = () => true) =>
    waitFor(
      `job ${jobId} to succeed`,
      async () => {
        const row = await store.jobs.get(jobId);
        return row?.status === 'succeeded' && done((row.result ?? {}) as Record<string, unknown>);
      },
      60_000,
    );

  it('a metrics port already taken: runWorker fails, and the consumer it had started stops', async () => {
    const taken = createServer();
    await new Promise<void>((done) => taken.listen(0, '127.0.0.1', done));
    const { port } = taken.address() as AddressInfo;
    const bull = (producer.queue as BullJobQueue).queue;
    try {
      await expect(
        runWorker({ ...env, WAFGEN_WORKER_METRICS_PORT: String(port) }, { threads: 0, concurrency: 1 }),
      ).rejects.toThrow(/EADDRINUSE/);
      // Before: its BullMQ worker stayed connected, taking jobs onto a closed service.
      expect(await bull.getWorkers()).toEqual([]);
    } finally {
      await new Promise((done) => taken.close(done));
    }
  }, 60_000);

  it('a job waiting behind a running one shows in the queue series', async () => {
    // The first job holds its slot (concurrency 1) until this test lets it: its CVE's generation
    // lock is held here, so the thread's generation waits for it.
    const heldCve = 'CVE-2021-44228';
    const lock = `lock:${ruleCacheKey(heldCve, producer.engineVersion)}`;
    expect(await producer.kv.setIfAbsent(lock, 'held-by-the-test', 120_000)).toBe(true);
    // Its generation then fails over: the first endpoint is overloaded, OpenAI answers.
    primary.script('openai-compatible', { status: 503, message: 'overloaded' });
    fake.script('openai', await answerFor(heldCve, { inputTokens: 2900, outputTokens: 380 }));

    worker = await runWorker(env, { threads: 1, concurrency: 1 });
    expect(worker.threads).toBe(1);
    expect(worker.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    // The second: the first endpoint fails again (its breaker opens), OpenAI fails too: every
    // provider down, the built-in engine writes a degraded rule.
    primary.script('openai-compatible', { status: 503, message: 'overloaded' });
    fake.script('openai', { status: 500 });
    const held = await producer.jobs.enqueue({ cveId: heldCve, source: 'test' });
    let waiting: Awaited<ReturnType<Service['jobs']['enqueue']>>;
    let during: Sample[];
    try {
      await waitFor(
        'the first job to run',
        async () => (await store.jobs.get(held.jobId))?.status === 'running',
      );
      waiting = await producer.jobs.enqueue({ cveId: 'CVE-2022-22965', source: 'test' });
      during = await scrape();
    } finally {
      // Lets the first job go whatever happened above (the rest of the run needs it).
      await producer.kv.delete(lock);
    }
    expect(waiting).toMatchObject({ created: true, status: 'queued' });
    await jobDone(held.jobId);
    await jobDone(waiting.jobId);
    expect((await store.jobs.get(waiting.jobId))?.result).toMatchObject({ degraded: true });
    expect(primary.requestsFor('openai-compatible')).toHaveLength(2);
    // While the first job ran, the second waited in the queue.
    const queue = producer.queue.name;
    expect(value(during, 'wafgen_queue_depth', { queue })).toBe(1);
    expect(value(during, 'wafgen_queue_oldest_job_age_seconds', { queue })).toBeGreaterThan(0);
  }, 120_000);

  it('through the open breaker: an LLM rule, and one that fails its checks', async () => {
    // The first endpoint's breaker is open: no request to it, straight to OpenAI.
    const proven = 'CVE-2017-5638';
    fake.script('openai', await answerFor(proven, { inputTokens: 2500, outputTokens: 300 }));
    const a = await producer.jobs.enqueue({ cveId: proven, source: 'test' });
    await jobDone(a.jobId);
    // One attempt, and the model's rule matches nothing: a rule that failed its checks.
    fake.script('openai', {
      json: {
        rationale: 'A rule that blocks nothing.',
        statement: {
          ByteMatchStatement: {
            SearchString: 'wafgen-test-never-matches',
            FieldToMatch: { UriPath: {} },
            TextTransformations: [{ Priority: 0, Type: 'NONE' }],
            PositionalConstraint: 'CONTAINS',
          },
        },
      },
    });
    const b = await producer.jobs.enqueue({ cveId: 'CVE-2022-1388', source: 'test', maxAttempts: 1 });
    await jobDone(b.jobId);
    expect((await store.jobs.get(b.jobId))?.result).toMatchObject({ passed: false });
    expect(primary.requestsFor('openai-compatible')).toHaveLength(2);
    expect(fake.requestsFor('openai')).toHaveLength(4);
  }, 120_000);

  it('serves every series ops/ names for generation work, non-zero where the run made it so', async () => {
    // The generations' audit events reach the process's spool, then its file sink.
    const samples = await waitFor(
      'the audit events to be delivered',
      async () => {
        const s = await scrape();
        return total(s, 'wafgen_audit_events_total', { outcome: 'delivered' }) >= 4 && s;
      },
      30_000,
    );
    const names = new Set(samples.map((s) => s.name.replace(/_(bucket|sum|count)$/, '')));
    expect(FROM_WORKER.filter((n) => !names.has(n))).toEqual([]);
    // Not from a worker: no sample (a labelled counter has none before its first event).
    expect(Object.keys(NOT_FROM_WORKER).filter((n) => names.has(n))).toEqual([]);
    const sum = (name: string, labels: Record<string, string> = {}) => total(samples, name, labels);

    // Generations: three LLM rules (one failed its checks), one degraded built-in rule.
    expect(sum('wafgen_generations_total', { engine: 'llm', provider: 'openai' })).toBe(3);
    expect(sum('wafgen_generations_total', { outcome: 'failed', engine: 'llm' })).toBe(1);
    expect(sum('wafgen_generations_total', { engine: 'builtin', provider: 'none' })).toBe(1);
    expect(sum('wafgen_generation_duration_seconds_count')).toBe(4);
    expect(sum('wafgen_generation_attempts_count')).toBe(4);
    expect(sum('wafgen_generation_tokens_sum', { engine: 'llm', direction: 'total' })).toBeGreaterThanOrEqual(
      2900 + 380 + 2500 + 300,
    );
    expect(sum('wafgen_generation_cost_usd_sum', { engine: 'llm' })).toBeGreaterThan(0);
    expect(sum('wafgen_validation_failures_total')).toBeGreaterThanOrEqual(1);
    expect(sum('wafgen_cache_requests_total', { result: 'miss' })).toBe(4);
    // Every LLM call by outcome; attempts by result; billed tokens and dollars; latency.
    expect(sum('wafgen_llm_calls_total', { outcome: 'ok' })).toBe(3);
    expect(sum('wafgen_llm_calls_total', { outcome: 'failed' })).toBe(1);
    expect(
      sum('wafgen_llm_attempts_total', { provider: 'openai-compatible:primary', result: 'server' }),
    ).toBe(2);
    expect(
      sum('wafgen_llm_attempts_total', { provider: 'openai-compatible:primary', result: 'circuit-open' }),
    ).toBe(2);
    expect(sum('wafgen_llm_attempts_total', { provider: 'openai', result: 'ok' })).toBe(3);
    expect(sum('wafgen_llm_tokens_total', { provider: 'openai', direction: 'input' })).toBeGreaterThanOrEqual(
      2900 + 2500,
    );
    expect(sum('wafgen_llm_cost_usd_total', { provider: 'openai' })).toBeGreaterThan(0);
    expect(sum('wafgen_llm_request_duration_seconds_count', { provider: 'openai' })).toBe(4);
    // Every call after the first endpoint's failure or open breaker went on to OpenAI.
    expect(sum('wafgen_llm_failovers_total', { from: 'openai-compatible:primary', to: 'openai' })).toBe(4);
    // The first endpoint's breaker open on the thread (2), not summed with the main thread's (0).
    expect(value(samples, 'wafgen_llm_breaker_state', { provider: 'openai-compatible:primary' })).toBe(2);
    expect(value(samples, 'wafgen_llm_breaker_state', { provider: 'openai' })).toBe(0);
    expect(sum('wafgen_llm_fallbacks_total', { reason: 'providers' })).toBe(1);
    // Audit: delivered to the file sink, nothing left in the spool.
    expect(sum('wafgen_audit_events_total', { sink: 'file', outcome: 'delivered' })).toBeGreaterThanOrEqual(
      4,
    );
    expect(samples.some((s) => s.name === 'wafgen_audit_spool_pending' && s.labels.sink === 'file')).toBe(
      true,
    );
    // The queue, drained.
    expect(value(samples, 'wafgen_queue_depth', { queue: producer.queue.name })).toBe(0);
    // Coverage by severity from the store: as the store says it, once (the main thread and the
    // generation thread both read it; not their sum).
    const fromStore = parseExposition(await producer.metrics.scrape());
    const critical = value(fromStore, 'wafgen_cves', { severity: 'critical' });
    expect(critical).toBeGreaterThan(0);
    expect(value(samples, 'wafgen_cves', { severity: 'critical' })).toBe(critical);
    expect(value(samples, 'wafgen_cves_protected', { severity: 'critical' })).toBe(0);

    // A second scrape asks the threads again: the counts are not added twice.
    expect(total(await scrape(), 'wafgen_llm_calls_total')).toBe(4);
    expect((await fetch(`${worker!.metricsUrl}/v1/rules`)).status).toBe(404);
  }, 60_000);
});
