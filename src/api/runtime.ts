// One API instance as every entry point builds it (Node server, AWS Lambda, Vercel): configuration
// from the environment, the service from the composition root, the app, and, without Redis, an
// in-process worker for the queue (with Redis the jobs go to `wafgen worker` processes).
import type { Logger } from 'pino';

import { buildService, type Service, type ServiceDeps } from '../app/service.js';
import { loadConfig, type Config } from '../config/index.js';
import { createLogger } from '../observability/index.js';
import { startWorker, type JobConsumer } from '../worker/index.js';
import { createApp, type ApiApp } from './app.js';
import { assertAuthConfigured, loadServiceConfig, type ServiceConfig } from './config.js';

export interface Runtime {
  app: ApiApp;
  service: Service;
  config: Config;
  serviceConfig: ServiceConfig;
  /** The in-process worker, when there is no Redis. */
  consumer?: JobConsumer;
  log: Logger;
  close(): Promise<void>;
}

export interface RuntimeOptions extends Omit<ServiceDeps, 'logger'> {
  logger?: Logger;
  /** Run queued jobs in this process when the queue is in-process (default true). */
  inProcessWorker?: boolean;
}

export async function createRuntime(
  env: NodeJS.ProcessEnv = process.env,
  opts: RuntimeOptions = {},
): Promise<Runtime> {
  const config = loadConfig(env);
  const serviceConfig = loadServiceConfig(env);
  assertAuthConfigured(serviceConfig);
  const log = opts.logger ?? createLogger({ level: config.LOG_LEVEL, base: { component: 'api' } });
  if (serviceConfig.auth.disabled)
    log.warn('authentication is disabled (WAFGEN_AUTH_DISABLED): every caller has every scope');
  const { logger: _logger, inProcessWorker: _inProcess, ...deps } = opts;
  const service = await buildService(config, serviceConfig.settings, { env, ...deps, logger: log });
  let consumer: JobConsumer | undefined;
  try {
    if (service.queue.kind === 'memory' && opts.inProcessWorker !== false) {
      consumer = startWorker(service, { ...serviceConfig.worker });
      // Jobs the store says were queued or running when the last process stopped: run them again.
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
  const app = createApp(service, serviceConfig, { logger: log });
  let closed: Promise<void> | undefined;
  return {
    app,
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

/** Builds the runtime on first use and keeps it (serverless handlers); a failed build is retried next time. */
export function lazyRuntime(build: () => Promise<Runtime>): () => Promise<Runtime> {
  let pending: Promise<Runtime> | undefined;
  return () => {
    pending ??= build().catch((e: unknown) => {
      pending = undefined;
      throw e;
    });
    return pending;
  };
}

export type { ApiApp };
