/**
 * @module The daily backup as a repeatable BullMQ job: every `wafgen worker` with WAFGEN_BACKUP_BUCKET
 * set upserts the same job scheduler (one id, so replicas do not multiply it) on the `wafgen-backup`
 * queue and consumes that queue one job at a time; BullMQ gives each repetition to exactly one
 * worker. A failed backup is retried three times, a minute apart and then longer.
 */
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';

import type { Store } from '../index.js';
import { backupS3Client, runBackup, type BackupConfig, type BackupRun } from './s3.js';

const BACKUP_QUEUE = 'wafgen-backup';
const SCHEDULER_ID = 'wafgen-daily-backup';

interface Log {
  info(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface BackupSchedule {
  /** Stops consuming (the scheduler stays in Redis for the other workers). */
  close(): Promise<void>;
}

export interface BackupScheduleOptions {
  redisUrl: string;
  /** BullMQ key prefix (the job queue's, `bull` by default). */
  prefix?: string;
  store: Store;
  config: BackupConfig;
  log: Log;
  /** Called after each backup (tests). */
  onBackup?: (run: BackupRun, jobId: string | undefined) => void;
}

/** Registers the repeatable backup job and starts its consumer; undefined when no bucket is set. */
export async function startBackupSchedule(opts: BackupScheduleOptions): Promise<BackupSchedule | undefined> {
  const { config } = opts;
  const bucket = config.WAFGEN_BACKUP_BUCKET;
  if (!bucket) return undefined;
  const prefix = opts.prefix ?? 'bull';
  const producer = new Redis(opts.redisUrl, { maxRetriesPerRequest: 1 });
  const consumer = new Redis(opts.redisUrl, { maxRetriesPerRequest: null });
  const queue = new Queue(BACKUP_QUEUE, { connection: producer, prefix });
  const s3Client = await backupS3Client({
    ...(config.WAFGEN_BACKUP_REGION ? { region: config.WAFGEN_BACKUP_REGION } : {}),
    ...(config.WAFGEN_BACKUP_ENDPOINT ? { endpoint: config.WAFGEN_BACKUP_ENDPOINT } : {}),
  });
  const worker = new Worker(
    BACKUP_QUEUE,
    async (job) => {
      const run = await runBackup(
        opts.store,
        { bucket, prefix: config.WAFGEN_BACKUP_PREFIX, s3Client },
        { retentionDays: config.WAFGEN_BACKUP_RETENTION_DAYS },
      );
      opts.log.info(
        { key: run.key, bytes: run.bytes, counts: run.counts, pruned: run.pruned.length },
        'store backup written',
      );
      opts.onBackup?.(run, job.id);
      return { key: run.key, bytes: run.bytes, pruned: run.pruned.length };
    },
    { connection: consumer, prefix, concurrency: 1 },
  );
  worker.on('failed', (job, e) =>
    opts.log.error({ attempt: job?.attemptsMade, err: e.name }, `store backup failed: ${e.message}`),
  );
  const close = async (): Promise<void> => {
    await worker.close();
    await queue.close();
    s3Client.destroy();
    producer.disconnect();
    consumer.disconnect();
  };
  try {
    await queue.upsertJobScheduler(
      SCHEDULER_ID,
      { pattern: config.WAFGEN_BACKUP_SCHEDULE, tz: 'UTC' },
      {
        name: 'backup',
        opts: {
          attempts: 4,
          backoff: { type: 'exponential', delay: 60_000 },
          removeOnComplete: 50,
          removeOnFail: 50,
        },
      },
    );
  } catch (e) {
    // Workers starting together upsert the same scheduler: the one that comes second can find the
    // next repetition already created by the first (BullMQ: "job ID already exists"). The
    // schedule is in place then; anything else stops this worker's backups, its connections closed.
    if (!(e instanceof Error && /job ID already exists/.test(e.message))) {
      await close();
      throw e;
    }
  }
  opts.log.info({ schedule: config.WAFGEN_BACKUP_SCHEDULE, bucket }, 'store backups scheduled');
  return { close };
}
