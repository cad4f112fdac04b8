import { hostname } from 'node:os';

import type { Command } from 'commander';

import { loadServiceConfig } from '../../api/config.js';
import { InputError } from '../../core/errors.js';
import { buildService } from '../../app/service.js';
import type { Config } from '../../config/index.js';
import { createLogger } from '../../observability/index.js';
import { onShutdownSignals, startWorker } from '../../worker/index.js';
import { EXIT, type Io } from '../io.js';

export function registerWorker(
  program: Command,
  io: Io,
  config: () => Config,
  setExit: (code: number) => void,
): void {
  program
    .command('worker')
    .description('run a queue worker: generate rules for queued jobs (BullMQ on REDIS_URL)')
    .option('--concurrency <n>', 'jobs at once (default: WAFGEN_WORKER_CONCURRENCY, else 4)')
    .addHelpText(
      'after',
      `
Needs REDIS_URL (the queue) and, to share the store with the API, DATABASE_URL. Run as many workers
as the load needs; each job runs once, and a job whose worker dies is taken over by another after
WAFGEN_WORKER_LOCK_MS. SIGTERM finishes the running jobs (for up to WAFGEN_SHUTDOWN_GRACE_MS, then
hands them back to the queue) and exits. Logs are JSON lines on stdout.`,
    )
    .action(async (opts: { concurrency?: string }) => {
      const cfg = config();
      if (!cfg.REDIS_URL)
        throw new InputError(
          'wafgen worker needs REDIS_URL (the BullMQ queue); without Redis, `wafgen serve` runs jobs in its own process',
        );
      const serviceConfig = loadServiceConfig(process.env);
      let concurrency = serviceConfig.worker.concurrency;
      if (opts.concurrency !== undefined) {
        concurrency = Number(opts.concurrency);
        if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 256)
          throw new InputError('--concurrency must be a whole number from 1 to 256');
      }
      const log = createLogger({ level: cfg.LOG_LEVEL, base: { component: 'worker' } });
      const service = await buildService(cfg, serviceConfig.settings, { logger: log });
      const name = `wafgen-worker@${hostname()}:${process.pid}`;
      const consumer = startWorker(service, { ...serviceConfig.worker, concurrency, name });
      io.err(
        `wafgen worker ready: ${name}, concurrency ${concurrency}, store ${service.store.kind}, engine ${service.engineVersion}\n`,
      );
      const code = await new Promise<number>((resolve) => {
        onShutdownSignals(
          async () => {
            const r = await consumer.close(serviceConfig.worker.shutdownGraceMs);
            if (r.returned.length > 0)
              log.warn({ jobs: r.returned }, 'handed unfinished jobs back to the queue');
            await service.close();
          },
          log,
          resolve,
        );
      });
      io.err(`wafgen worker stopped\n`);
      setExit(code === 0 ? EXIT.ok : EXIT.failed);
      setTimeout(() => process.exit(code), 3000).unref();
    });
}
