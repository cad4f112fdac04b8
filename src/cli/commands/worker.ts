import type { Command } from 'commander';

import type { Config } from '../../config/index.js';
import { InputError } from '../../core/errors.js';
import { EXIT, type Io } from '../io.js';
export function registerWorker(
  program: Command,
  io: Io,
  config: () => Config,
  setExit: (code: number) => void,
): void {
  program
    .command('worker')
    .description(
      'run a queue worker: generate rules for queued jobs (BullMQ on REDIS_URL, or SQS with WAFGEN_QUEUE=sqs)',
    )
    .option(
      '--concurrency <n>',
      'jobs at once (default: WAFGEN_WORKER_CONCURRENCY, else 4 per generation thread, 4 without threads)',
    )
    .option(
      '--threads <n>',
      'generation threads; 0 generates on the main thread (default: WAFGEN_WORKER_THREADS, else one per core, at most --concurrency when given)',
    )
    .addHelpText(
      'after',
      `
Needs REDIS_URL (the queue), or WAFGEN_QUEUE=sqs with WAFGEN_SQS_QUEUE_URL (a FIFO queue; a job
whose worker dies returns after WAFGEN_SQS_VISIBILITY_TIMEOUT_S), and, to share the store with the
API, DATABASE_URL. Run as many workers as the load needs; each job runs once, and a job whose
worker dies is taken over by another after WAFGEN_WORKER_LOCK_MS (BullMQ). SIGTERM finishes the running jobs (for up to WAFGEN_SHUTDOWN_GRACE_MS, then
hands them back to the queue) and exits. Logs are JSON lines on stdout. While Redis does not answer
the worker takes no job and says so in one line; a signal then stops it with "cannot reach Redis at
host:port (code)" and exit 5, as it does when Redis is gone at shutdown (running jobs then return
to the queue when their locks expire).

Generation is CPU work: on the main thread one process uses one core however many jobs it runs at
once. With threads (WAFGEN_WORKER_THREADS or --threads, default one per core), the jobs' rules are
generated on a pool of worker threads, each with its own store connection, while the main thread
keeps the queue, the job records and the audit spool; the process then uses as many cores as it has
threads. Threads need PostgreSQL (DATABASE_URL): on the embedded store the worker generates on the
main thread.

WAFGEN_WORKER_METRICS_PORT serves GET /metrics on a listener of its own (127.0.0.1 unless
WAFGEN_WORKER_METRICS_HOST says otherwise; WAFGEN_METRICS_TOKEN asks for a bearer token): the
process's series and every generation thread's, summed (wafgen_llm_*, wafgen_generations_*...).`,
    )
    .action(async (opts: { concurrency?: string; threads?: string }) => {
      const cfg = config(); // every variable checked up front, as for every command
      const backupSettings = await import('../../store/backup/index.js');
      const backupConfig = (() => {
        try {
          return backupSettings.loadBackupConfig(process.env);
        } catch (e) {
          throw new InputError(e instanceof Error ? e.message : String(e));
        }
      })();
      let concurrency: number | undefined;
      if (opts.concurrency !== undefined) {
        concurrency = Number(opts.concurrency);
        if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 256)
          throw new InputError('--concurrency must be a whole number from 1 to 256');
      }
      let threads: number | undefined;
      if (opts.threads !== undefined) {
        threads = Number(opts.threads);
        if (!/^\d+$/.test(opts.threads) || threads > 256)
          throw new InputError('--threads must be a whole number from 0 to 256');
      }
      const { onShutdownSignals, runWorker } = await import('../../worker/index.js');
      // A signal before the worker is ready ends the start: while it waits for Redis, runWorker
      // closes what it opened and throws why Redis cannot be reached (one line, exit 5).
      const start = new AbortController();
      let early: NodeJS.Signals | undefined;
      const onEarly = (signal: NodeJS.Signals): void => {
        early = signal;
        start.abort();
      };
      process.on('SIGTERM', onEarly);
      process.on('SIGINT', onEarly);
      const stopEarly = (): void => {
        process.off('SIGTERM', onEarly);
        process.off('SIGINT', onEarly);
      };
      let worker: Awaited<ReturnType<typeof runWorker>>;
      try {
        worker = await runWorker(process.env, {
          ...(concurrency === undefined ? {} : { concurrency }),
          ...(threads === undefined ? {} : { threads }),
          signal: start.signal,
          onRedisWaiting: (why) =>
            io.err(`wafgen: warning: ${why.message}; waiting for it before taking jobs\n`),
        });
      } catch (e) {
        stopEarly();
        // Whatever still holds the event loop (a client reconnecting) does not keep the process.
        setTimeout(() => process.exit(), 3000).unref();
        throw e;
      }
      const { service, log } = worker.running;
      // The daily store backup (a repeatable BullMQ job) when WAFGEN_BACKUP_BUCKET is set.
      const backups = await backupSettings.startBackupSchedule({
        redisUrl: cfg.REDIS_URL ?? '',
        store: service.store,
        config: backupConfig,
        log,
      });
      let stopped: Awaited<ReturnType<typeof worker.stop>> | undefined;
      const stop = async (): Promise<void> => {
        await backups?.close();
        stopped = await worker.stop();
      };
      const code = await new Promise<number>((resolve) => {
        // The shutdown handlers are in place before the early ones go and before "ready" is said:
        // a signal at any moment is handled (with none, Node would die of it at once).
        onShutdownSignals(stop, log, resolve);
        stopEarly();
        io.err(
          `wafgen worker ready: ${worker.name}, concurrency ${worker.concurrency}, ${worker.threads === 0 ? 'generating on the main thread' : `${worker.threads} generation thread${worker.threads === 1 ? '' : 's'}`}, store ${service.store.kind}, engine ${service.engineVersion}${worker.metricsUrl ? `, metrics ${worker.metricsUrl}/metrics` : ''}\n`,
        );
        // A signal that came while it started (after the wait for Redis): stop now.
        if (early) process.emit('SIGTERM', early);
      });
      if (stopped?.unavailable) {
        // Redis away while stopping: the running jobs could not be handed back (they return to the
        // queue when their locks expire). One line and exit 5, as every command does.
        const left = stopped.abandoned.length;
        io.err(
          `wafgen: ${stopped.unavailable.message}; worker stopped${left > 0 ? `, ${left} running job${left === 1 ? '' : 's'} left for the stalled-job check` : ''}\n`,
        );
        setExit(EXIT.unavailable);
      } else {
        io.err(`wafgen worker stopped\n`);
        setExit(code === 0 ? EXIT.ok : EXIT.failed);
      }
      // The exit code is main's (process.exitCode by then); whatever still holds the loop does not keep it.
      setTimeout(() => process.exit(), 3000).unref();
    });
}
