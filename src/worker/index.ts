// The queue consumer: takes generation jobs, runs them through the same rule service the API uses
// (cache, single flight, store), and keeps each job's lasting record in the store: running with its
// attempt, succeeded with the rule version, queued again with the error before a retry, dead when
// retries are exhausted or the input can never work.
//
// `wafgen worker` runs this in its own process against BullMQ; without Redis the API process runs it
// on the in-process queue.
import type { Logger } from 'pino';

import { InputError } from '../core/errors.js';
import type { Service } from '../app/service.js';
import {
  BullJobConsumer,
  MemoryJobQueue,
  PermanentJobError,
  type CloseResult,
  type ConsumerHooks,
  type ConsumerSettings,
  type JobConsumer,
} from '../queue/index.js';

export interface JobResult {
  cveId: string;
  version?: number;
  passed: boolean;
  wcu?: number;
  engine: string;
  /** The rule came from the cache: this engine version had already produced it. */
  cached: boolean;
}

export interface WorkerOptions extends ConsumerSettings {
  /** Called after each job, for logs and tests. */
  onJob?: (event: {
    id: string;
    outcome: 'succeeded' | 'retry' | 'dead' | 'skipped';
    error?: string;
  }) => void;
}

export function jobHooks(service: Service, log: Logger, onJob?: WorkerOptions['onJob']): ConsumerHooks {
  const { store } = service;
  return {
    async handler(job) {
      const row = await store.jobs.get(job.id);
      if (row?.status === 'succeeded') {
        // Delivered again after it finished (a producer re-added it, a stalled check raced): done.
        onJob?.({ id: job.id, outcome: 'skipped' });
        return row.result;
      }
      const running = { status: 'running' as const, attempts: job.attempt };
      if (!(await store.jobs.update(job.id, running))) {
        // Queued while the store was away: the job record is made here.
        await store.jobs
          .create({
            id: job.id,
            kind: 'generate',
            cveId: job.data.cveId,
            payload: job.data,
            status: 'running',
          })
          .catch(() => {});
      }
      log.info({ jobId: job.id, cveId: job.data.cveId, attempt: job.attempt }, 'job started');
      let outcome;
      try {
        outcome = await service.rules.generate(job.data.cveId, {
          ...(job.data.maxAttempts ? { maxAttempts: job.data.maxAttempts } : {}),
          ...(job.data.force ? { force: true } : {}),
          requestId: job.data.requestId ?? job.id,
          ...(job.data.principal ? { principal: job.data.principal } : {}),
          degrade: false,
        });
      } catch (e) {
        if (e instanceof InputError) throw new PermanentJobError(e.message);
        throw e;
      }
      const report = outcome.result.report as { wcu?: number };
      const result: JobResult = {
        cveId: outcome.result.cveId,
        ...(outcome.result.version !== undefined ? { version: outcome.result.version } : {}),
        passed: outcome.result.passed,
        ...(typeof report.wcu === 'number' ? { wcu: report.wcu } : {}),
        engine: outcome.result.engine,
        cached: outcome.cache === 'hit',
      };
      await store.jobs.update(job.id, { status: 'succeeded', result, error: null, attempts: job.attempt });
      log.info({ jobId: job.id, cveId: result.cveId, version: result.version }, 'job succeeded');
      onJob?.({ id: job.id, outcome: 'succeeded' });
      return result;
    },
    async onFailure({ job, error, final }) {
      await store.jobs
        .update(job.id, { status: final ? 'dead' : 'queued', error: error.message, attempts: job.attempt })
        .catch(() => {});
      log.warn(
        { jobId: job.id, cveId: job.data.cveId, attempt: job.attempt, err: error.message },
        final ? 'job dead' : 'job failed; retrying',
      );
      onJob?.({ id: job.id, outcome: final ? 'dead' : 'retry', error: error.message });
    },
  };
}

/** Starts consuming the service's queue: BullMQ when it is one, else the in-process queue. */
export function startWorker(service: Service, opts: WorkerOptions): JobConsumer {
  const hooks = jobHooks(service, service.log, opts.onJob);
  if (service.queue instanceof MemoryJobQueue) return service.queue.process(hooks, opts.concurrency);
  if (!service.config.REDIS_URL) throw new Error('a BullMQ worker needs REDIS_URL');
  return new BullJobConsumer(
    service.config.REDIS_URL,
    { ...service.settings.queue, prefix: `${service.settings.redisPrefix}bull` },
    opts,
    hooks,
  );
}

/** SIGTERM/SIGINT: finish or hand back the running jobs, then close; a second signal exits at once. */
export function onShutdownSignals(
  stop: () => Promise<void>,
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

export type { CloseResult, JobConsumer };
