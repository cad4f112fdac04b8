/**
 * @module The `wafgen worker` process: the service from the composition root, a consumer on its
 * BullMQ queue (the job lifecycle itself lives in app/jobs.ts), and the signal handling that
 * finishes or hands back running jobs on SIGTERM. `wafgen serve` shares the signal handling.
 */
import { hostname } from 'node:os';

import type { Logger } from 'pino';

import { openService, startWorker, type JobConsumer, type RunningService } from '../app/index.js';
import { InputError } from '../core/errors.js';
import { loadConfig } from '../config/index.js';

export interface RunningWorker {
  name: string;
  concurrency: number;
  running: RunningService;
  consumer: JobConsumer;
  /** Finishes the running jobs (for up to the grace period, then hands them back) and closes. */
  stop(): Promise<void>;
}

/** Starts a BullMQ worker process's consumer; `concurrency` overrides WAFGEN_WORKER_CONCURRENCY. */
export async function runWorker(
  env: NodeJS.ProcessEnv,
  opts: { concurrency?: number } = {},
): Promise<RunningWorker> {
  if (!loadConfig(env).REDIS_URL)
    throw new InputError(
      'wafgen worker needs REDIS_URL (the BullMQ queue); without Redis, `wafgen serve` runs jobs in its own process',
    );
  const running = await openService(env, { component: 'worker', inProcessWorker: false, requireAuth: false });
  const { service, serviceConfig, log } = running;
  const concurrency = opts.concurrency ?? serviceConfig.worker.concurrency;
  const name = `wafgen-worker@${hostname()}:${process.pid}`;
  let consumer: JobConsumer;
  try {
    consumer = startWorker(service, { ...serviceConfig.worker, concurrency, name });
  } catch (e) {
    await running.close().catch(() => {});
    throw e;
  }
  return {
    name,
    concurrency,
    running,
    consumer,
    async stop() {
      const r = await consumer.close(serviceConfig.worker.shutdownGraceMs);
      if (r.returned.length > 0) log.warn({ jobs: r.returned }, 'handed unfinished jobs back to the queue');
      await running.close();
    },
  };
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
