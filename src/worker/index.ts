/**
 * @module The `wafgen worker` process: the service from the composition root, a consumer on its
 * BullMQ queue (the job lifecycle itself lives in app/jobs.ts), and the signal handling that
 * finishes or hands back running jobs on SIGTERM. `wafgen serve` shares the signal handling.
 */
import { availableParallelism, hostname } from 'node:os';

import type { Logger } from 'pino';

import {
  loadServiceConfig,
  openGenerationParts,
  openService,
  startWorker,
  type JobConsumer,
  type RunningService,
} from '../app/index.js';
import { backendUnavailable } from '../app/backends.js';
import { BackendUnavailableError, endpointOf } from '../core/backend-error.js';
import { InputError } from '../core/errors.js';
import { loadConfig } from '../config/index.js';
import { createLogger, defaultMetrics } from '../observability/index.js';
import { BullJobQueue } from '../queue/index.js';
import { serveWorkerMetrics, workerMetricsAddress, type WorkerMetricsServer } from './metrics.js';
import { GenerationPool } from './pool.js';

export interface RunningWorker {
  name: string;
  concurrency: number;
  /** Generation threads (0: generation runs on the main thread). */
  threads: number;
  running: RunningService;
  consumer: JobConsumer;
  /** Where /metrics is served (WAFGEN_WORKER_METRICS_PORT), with every generation thread's series. */
  metricsUrl?: string;
  /** Finishes the running jobs (for up to the grace period, then hands them back) and closes. */
  stop(): Promise<WorkerStopped>;
}

interface WorkerStopped {
  /** Redis could not be reached while stopping (the one-line reason, host:port and a code). */
  unavailable?: Error;
  /** Jobs still running that could not be handed back: another worker takes them once their locks expire. */
  abandoned: string[];
}

export interface WorkerRunOptions {
  /** Jobs at once; overrides WAFGEN_WORKER_CONCURRENCY. */
  concurrency?: number;
  /** Generation threads; overrides WAFGEN_WORKER_THREADS. 0 generates on the main thread. */
  threads?: number;
  /**
   * Ends the start (a SIGTERM before the worker was ready): while it waits for Redis, runWorker
   * closes what it opened and throws why Redis could not be reached.
   */
  signal?: AbortSignal;
  /** Called once when Redis does not answer at start; the worker waits for it before taking jobs. */
  onRedisWaiting?: (why: Error) => void;
}

/** How long the start waits for Redis before saying that it waits. */
const REDIS_FIRST_WAIT_MS = 3000;

/** Why Redis cannot be used: host:port and the last connection error's code, never the URL's password. */
function redisAway(error: Error | undefined, redisUrl: string): Error {
  return (
    backendUnavailable(error, { REDIS_URL: redisUrl }) ??
    new BackendUnavailableError('Redis', endpointOf(redisUrl, 6379), 'not connected')
  );
}

/** Resolves when the signal aborts (never without one). */
function aborted(signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (!signal) return;
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

/**
 * Waits until the queue's Redis answers: a worker takes no job, and starts no generation thread,
 * before. Undefined once connected; the reason Redis cannot be reached when `signal` ends the wait.
 */
async function waitForRedis(
  queue: BullJobQueue,
  redisUrl: string,
  opts: Pick<WorkerRunOptions, 'signal' | 'onRedisWaiting'>,
): Promise<Error | undefined> {
  const stop = aborted(opts.signal).then(() => false);
  if (await Promise.race([queue.connected(REDIS_FIRST_WAIT_MS), stop])) return undefined;
  if (!opts.signal?.aborted) opts.onRedisWaiting?.(redisAway(queue.lastError(), redisUrl));
  while (!opts.signal?.aborted) if (await Promise.race([queue.connected(60_000), stop])) return undefined;
  return redisAway(queue.lastError(), redisUrl);
}

/** Largest thread count accepted (as for concurrency). */
const MAX_THREADS = 256;

/** Jobs at once per generating thread (the main thread when there are none) unless given. */
const JOBS_PER_THREAD = 4;

/**
 * Jobs at once when neither --concurrency nor WAFGEN_WORKER_CONCURRENCY says: 4 per generating
 * thread, and no fewer than WAFGEN_LLM_BATCH (a batch's jobs run at once on one thread; a job's
 * batch larger than the concurrency is cut to it, app/jobs.ts). A job waits on PostgreSQL and
 * Redis between its CPU work, and the main thread's own steps (job record, queue) come between a
 * thread's jobs; with 4 jobs for 2 threads, each thread sat idle ~45% of the time (CPU profile)
 * and one process with 2 threads drained the backlog at 0.53x one process generating on its main
 * thread; with 8, 0.93x (`npm run bench:queue -- 400 --warmup 200 --modes 1x0,1x2 --concurrency
 * 4|8`, shared 2-core machine at load average 7).
 */
function defaultConcurrency(threads: number, llmBatch = 1): number {
  return Math.min(256, Math.max(llmBatch, JOBS_PER_THREAD * Math.max(1, threads)));
}

/**
 * The generation threads: `requested` (the option, else WAFGEN_WORKER_THREADS), else one per core
 * but no more than the jobs run at once (a thread with no job to run would only hold memory).
 */
export function resolveThreads(
  requested: number | undefined,
  env: NodeJS.ProcessEnv,
  concurrency: number,
  cores = availableParallelism(),
): number {
  if (requested !== undefined) return requested;
  const raw = env.WAFGEN_WORKER_THREADS?.trim();
  if (raw !== undefined && raw !== '') {
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || n > MAX_THREADS)
      throw new InputError(`WAFGEN_WORKER_THREADS must be a whole number from 0 to ${MAX_THREADS}`);
    return n;
  }
  return Math.max(1, Math.min(cores, concurrency));
}

/**
 * Starts a BullMQ worker process's consumer. With threads (the default, one per core), each job's
 * generation runs on a thread of a pool (src/worker/pool.ts) and the main thread keeps the queue,
 * the job records and the audit spool; without, everything runs on the main thread.
 */
export async function runWorker(env: NodeJS.ProcessEnv, opts: WorkerRunOptions = {}): Promise<RunningWorker> {
  const config = loadConfig(env);
  const redisUrl = config.REDIS_URL;
  // WAFGEN_QUEUE=sqs: jobs come from SQS (REDIS_URL, when also set, is only the cache).
  if (!redisUrl && env.WAFGEN_QUEUE !== 'sqs')
    throw new InputError(
      'wafgen worker needs REDIS_URL (the BullMQ queue) or WAFGEN_QUEUE=sqs; without either, `wafgen serve` runs jobs in its own process',
    );
  const workerConfig = loadServiceConfig(env).worker;
  // Jobs at once as given (--concurrency, WAFGEN_WORKER_CONCURRENCY), else per generating thread below.
  const given =
    opts.concurrency ?? (env.WAFGEN_WORKER_CONCURRENCY?.trim() ? workerConfig.concurrency : undefined);
  let threads = resolveThreads(opts.threads, env, given ?? MAX_THREADS);
  const metricsAddress = workerMetricsAddress(env);
  const log = createLogger({ level: config.LOG_LEVEL, base: { component: 'worker' } });
  // The metrics the service uses (openService's default, named here so the audit log counts its
  // events and spool in them: wafgen_audit_* on the worker's /metrics).
  const metrics = defaultMetrics();
  // The process's audit log, opened here so the generation threads' events reach it too.
  const parts = await openGenerationParts(config, { env, store: false, logger: log, metrics });
  const audit = parts.deps.audit;
  // WAFGEN_LLM_BATCH: the batch of a job that names none (the threads read the same setting).
  const llmBatch = parts.deps.llmBatch;
  let running: RunningService;
  try {
    running = await openService(env, {
      component: 'worker',
      inProcessWorker: false,
      requireAuth: false,
      logger: log,
      audit: audit ?? false,
      metrics,
    });
  } catch (e) {
    await parts.close().catch(() => {});
    throw e;
  }
  const { service, serviceConfig } = running;
  const name = `wafgen-worker@${hostname()}:${process.pid}`;
  if (service.queue instanceof BullJobQueue) {
    const away = await waitForRedis(service.queue, redisUrl!, opts);
    if (away) {
      await running.close().catch(() => {});
      await parts.close().catch(() => {});
      throw away;
    }
  }
  let pool: GenerationPool | undefined;
  let consumer: JobConsumer | undefined;
  let metricsServer: WorkerMetricsServer | undefined;
  let concurrency = given ?? defaultConcurrency(threads, llmBatch);
  try {
    if (threads > 0 && service.store.kind !== 'postgres') {
      // The embedded store is one process's (one connection): its threads cannot open it again.
      log.warn(
        { threads },
        'generation threads need PostgreSQL (DATABASE_URL); generating on the main thread',
      );
      threads = 0;
    }
    concurrency = given ?? defaultConcurrency(threads, llmBatch);
    if (threads > 0)
      pool = await GenerationPool.start({
        threads,
        env,
        log,
        ...(audit ? { audit: (event) => audit.emit(event as Parameters<typeof audit.emit>[0]) } : {}),
      });
    const host = pool
      ? {
          store: service.store,
          rules: pool,
          queue: service.queue,
          config: service.config,
          settings: service.settings,
          log: service.log,
        }
      : service;
    consumer = startWorker(host, {
      ...serviceConfig.worker,
      concurrency,
      name,
      ...(llmBatch ? { llmBatch } : {}),
    });
    if (metricsAddress)
      metricsServer = await serveWorkerMetrics({
        ...metricsAddress,
        metrics: service.metrics,
        threads,
        queue: service.queue,
        ...(serviceConfig.metrics.token ? { token: serviceConfig.metrics.token } : {}),
      });
  } catch (e) {
    // A consumer already started (the metrics port was taken) stops taking jobs first, handing
    // back what it took, before the service under it closes.
    await consumer?.close(serviceConfig.worker.shutdownGraceMs).catch(() => {});
    await metricsServer?.close().catch(() => {});
    await pool?.close().catch(() => {});
    await running.close().catch(() => {});
    await parts.close().catch(() => {});
    throw e;
  }
  return {
    name,
    concurrency,
    threads,
    running,
    consumer,
    ...(metricsServer ? { metricsUrl: metricsServer.url } : {}),
    async stop() {
      const r = await consumer.close(serviceConfig.worker.shutdownGraceMs);
      if (r.returned.length > 0) log.warn({ jobs: r.returned }, 'handed unfinished jobs back to the queue');
      const abandoned = r.abandoned ?? [];
      if (abandoned.length > 0)
        log.warn(
          { jobs: abandoned },
          'could not hand running jobs back; they return when their locks expire',
        );
      await metricsServer?.close();
      await pool?.close();
      await running.close();
      await parts.close();
      return {
        abandoned,
        ...(r.unavailable
          ? { unavailable: redisUrl ? redisAway(r.unavailable, redisUrl) : r.unavailable }
          : {}),
      };
    },
  };
}

/** SIGTERM/SIGINT: finish or hand back the running jobs, then close; a second signal exits at once. */
export function onShutdownSignals(
  stop: () => Promise<unknown>,
  log: Logger,
  exit: (code: number) => void = (code) => process.exit(code),
): () => void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals): void => {
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting now');
      exit(1);
      return;
    }
    stopping = true;
    log.info({ signal }, 'shutting down');
    stop().then(
      () => exit(0),
      (e: unknown) => {
        log.error({ err: e instanceof Error ? e.message : String(e) }, 'shutdown failed');
        exit(1);
      },
    );
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
  return () => {
    process.off('SIGTERM', handler);
    process.off('SIGINT', handler);
  };
}
