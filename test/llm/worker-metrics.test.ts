// Issue 15 item 5 (the worker's part): `wafgen worker` serves /metrics on its own loopback port
// (WAFGEN_WORKER_METRICS_PORT), and jobs generated on its threads fill the wafgen_llm_* series
// there. Real Redis queue, real PostgreSQL, one generation thread, the LLM chain on the local fake
// provider server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';

import { buildService, loadServiceConfig, type Service } from '../../src/app/index.js';
import { loadConfig } from '../../src/config/index.js';
import { generateRule } from '../../src/index.js';
import { createMetrics, observeGeneration } from '../../src/observability/index.js';
import type { Store } from '../../src/store/index.js';
import { runWorker, type RunningWorker } from '../../src/worker/index.js';
import { withEmbeddedMetrics } from '../../src/worker/emf.js';
import { workerMetricsAddress } from '../../src/worker/metrics.js';
import { parseExposition } from '../observability/support.js';
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
});

describe.skipIf(!hasRedis || !adminUrl)('wafgen worker /metrics', () => {
  const keys = redisPrefix();
  const log = pino({ level: 'silent' });
  let db: TestDatabase;
  let store: Store;
  let producer: Service;
  let worker: RunningWorker | undefined;
  let fake: FakeLlm;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    fake = await startFakeLlm();
    db = await createTestDatabase(adminUrl!);
    store = await openPostgresStore(db.url);
    env = baseEnv({
      REDIS_URL,
      DATABASE_URL: db.url,
      WAFGEN_REDIS_PREFIX: keys.prefix,
      WAFGEN_JOB_BACKOFF_MS: '50',
      WAFGEN_AUDIT_FSYNC: '0',
      WAFGEN_OFFLINE: '0',
      WAFGEN_HTTP_TIMEOUT_MS: '1000',
      WAFGEN_LLM_PROVIDERS: 'openai',
      OPENAI_API_KEY: 'sk-test-not-a-real-key-0123',
      OPENAI_BASE_URL: fake.baseURL('openai'),
      WAFGEN_LLM_RETRIES: '0',
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
    await fake?.close();
  });

  it('serves the LLM series of a job its generation thread ran, and nothing else on that port', async () => {
    const { rule } = await generateRule('CVE-2021-44228');
    fake.script('openai', {
      json: { rationale: 'The lookup, decoded, wherever it travels.', statement: rule.Statement },
      usage: { inputTokens: 2400, outputTokens: 300 },
    });
    worker = await runWorker(env, { threads: 1, concurrency: 1 });
    expect(worker.threads).toBe(1);
    expect(worker.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    const job = await producer.jobs.enqueue({ cveId: 'CVE-2021-44228', source: 'test' });
    await waitFor(
      'the job to succeed',
      async () => (await store.jobs.get(job.jobId))?.status === 'succeeded',
      60_000,
    );
    expect(fake.requestsFor('openai')).toHaveLength(1);

    const res = await fetch(`${worker.metricsUrl}/metrics`);
    expect(res.status).toBe(200);
    const samples = parseExposition(await res.text());
    const sum = (name: string, labels: Record<string, string> = {}) =>
      samples
        .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
        .reduce((a, s) => a + s.value, 0);
    // The thread's LLM call, its tokens and cost, and its generation: summed into this exposition.
    expect(sum('wafgen_llm_calls_total', { outcome: 'ok' })).toBe(1);
    expect(sum('wafgen_llm_attempts_total', { provider: 'openai' })).toBe(1);
    expect(sum('wafgen_llm_tokens_total', { provider: 'openai' })).toBe(2700);
    expect(sum('wafgen_llm_cost_usd_total')).toBeGreaterThan(0);
    expect(sum('wafgen_generations_total', { engine: 'llm' })).toBe(1);
    // A second scrape asks the threads again: the counts are not added twice.
    const again = parseExposition(await (await fetch(`${worker.metricsUrl}/metrics`)).text());
    expect(again.filter((s) => s.name === 'wafgen_llm_calls_total').reduce((a, s) => a + s.value, 0)).toBe(1);
    expect((await fetch(`${worker.metricsUrl}/v1/rules`)).status).toBe(404);
  }, 120_000);
});
