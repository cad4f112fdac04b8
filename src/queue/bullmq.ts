// BullMQ on Redis: the production queue. Job ids are the caller's (one per CVE and engine version),
// so adding the same work twice is a no-op while it is pending; attempts with exponential backoff;
// a job that exhausts them stays in BullMQ's failed set (the dead letters, kept a week). Workers hold
// a lock per running job and renew it; a worker that dies (SIGKILL, lost host) stops renewing, and
// another worker's stalled-job check puts the job back in the queue.
import { Queue, UnrecoverableError, WaitingError, Worker, type Job } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';

import {
  type AddOptions,
  type CloseResult,
  type ConsumerHooks,
  type ConsumerSettings,
  type GenerateJobData,
  type JobConsumer,
  type JobContext,
  type JobQueue,
  type QueueJobInfo,
  type QueueJobState,
  type QueueSettings,
  type QueueSnapshot,
  DEFAULT_QUEUE_NAME,
  PermanentJobError,
} from './types.js';

const JOB_NAME = 'generate';
/** Bound of each Redis step of a consumer's close. */
const STEP_MS = 1000;

function clientOptions(blocking: boolean): RedisOptions {
  return {
    // Workers block on Redis and must never give up a command (BullMQ requires null); producers in
    // request paths fail fast instead of queueing commands while Redis is away.
    maxRetriesPerRequest: blocking ? null : 1,
    enableOfflineQueue: blocking,
    connectTimeout: 2000,
    retryStrategy: (times: number) => Math.min(100 * times, 2000),
  };
}

/** Waits for `work` up to `ms`; true when it settled in time (its failure counts as settled). */
async function within(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const settled = await Promise.race([
    work.then(
      () => true,
      () => true,
    ),
    new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    }),
  ]);
  clearTimeout(timer);
  return settled;
}

/** The last connection error of a client, kept for the message that says why Redis is away. */
function trackErrors(client: Redis): () => Error | undefined {
  let last: Error | undefined;
  client.on('error', (e: Error) => {
    last = e;
  });
  client.on('ready', () => {
    last = undefined;
  });
  return () => last;
}

const STATES: readonly QueueJobState[] = ['waiting', 'active', 'delayed', 'completed', 'failed'];

function toState(state: string): QueueJobState {
  if (state === 'prioritized' || state === 'waiting-children') return 'waiting';
  return (STATES as readonly string[]).includes(state) ? (state as QueueJobState) : 'unknown';
}

export class BullJobQueue implements JobQueue {
  readonly kind = 'bullmq';
  readonly name: string;
  readonly queue: Queue<GenerateJobData>;
  private readonly connection: Redis;
  /** The connection's last error while it is not connected (undefined once it is). */
  readonly lastError: () => Error | undefined;

  constructor(
    redisUrl: string,
    readonly settings: QueueSettings,
  ) {
    this.connection = new Redis(redisUrl, clientOptions(false));
    // Surfaced by the failing calls, /readyz and lastError.
    this.lastError = trackErrors(this.connection);
    this.name = settings.name ?? DEFAULT_QUEUE_NAME;
    this.queue = new Queue<GenerateJobData>(this.name, {
      connection: this.connection,
      prefix: settings.prefix ?? 'bull',
      defaultJobOptions: {
        attempts: settings.attempts,
        backoff: { type: 'exponential', delay: settings.backoffMs },
        removeOnComplete: { age: 24 * 3600, count: 10_000 },
        removeOnFail: { age: 7 * 24 * 3600, count: 10_000 },
      },
    });
    this.queue.on('error', () => {});
  }

  /** Waits (up to `timeoutMs`) for the connection; the queue works without waiting, failing fast until then. */
  async connected(timeoutMs: number): Promise<boolean> {
    if (this.connection.status === 'ready') return true;
    if (timeoutMs <= 0) return false;
    let timer: NodeJS.Timeout | undefined;
    let onReady: (() => void) | undefined;
    const ready = await Promise.race([
      new Promise<boolean>((resolve) => {
        onReady = () => resolve(true);
        this.connection.once('ready', onReady);
      }),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    if (onReady) this.connection.off('ready', onReady);
    return ready;
  }

  /** Producers fail fast while Redis is away instead of waiting for it (BullMQ would wait). */
  private ensureConnected(): void {
    if (this.connection.status !== 'ready')
      throw new Error(`Redis is not connected (${this.connection.status})`);
  }

  async add(id: string, data: GenerateJobData, opts: AddOptions = {}): Promise<void> {
    this.ensureConnected();
    if (opts.rerun) {
      const existing = await this.queue.getJob(id);
      if (existing) {
        const state = await existing.getState();
        if (state === 'failed') {
          await existing.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
          return;
        }
        if (state === 'completed') await existing.remove();
        else return; // still pending or running: that run is the rerun
      }
    }
    await this.queue.add(JOB_NAME, data, { jobId: id });
  }

  async get(id: string): Promise<QueueJobInfo | undefined> {
    this.ensureConnected();
    const job = await this.queue.getJob(id);
    if (!job) return undefined;
    return {
      id,
      state: toState(await job.getState()),
      attemptsMade: job.attemptsMade,
      ...(job.failedReason ? { failedReason: job.failedReason } : {}),
      data: job.data,
    };
  }

  async counts(): Promise<Record<QueueJobState, number>> {
    this.ensureConnected();
    const c = await this.queue.getJobCounts(
      'waiting',
      'prioritized',
      'active',
      'delayed',
      'completed',
      'failed',
    );
    return {
      waiting: (c.waiting ?? 0) + (c.prioritized ?? 0),
      active: c.active ?? 0,
      delayed: c.delayed ?? 0,
      completed: c.completed ?? 0,
      failed: c.failed ?? 0,
      unknown: 0,
    };
  }

  async snapshot(): Promise<QueueSnapshot> {
    this.ensureConnected();
    const [counts, oldest] = await Promise.all([
      this.queue.getJobCounts('waiting', 'prioritized'),
      this.queue.getJobs(['waiting', 'prioritized'], 0, 0, true),
    ]);
    const depth = (counts.waiting ?? 0) + (counts.prioritized ?? 0);
    const since = oldest[0]?.timestamp;
    return { depth, oldestAgeSeconds: depth > 0 && since ? Math.max(0, (Date.now() - since) / 1000) : 0 };
  }

  async ping(): Promise<void> {
    await this.connection.ping();
  }

  async close(): Promise<void> {
    // BullMQ's close waits for a connection that may never come (Redis away since start): bound it.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.queue.close().catch(() => {}),
      new Promise((resolve) => {
        timer = setTimeout(resolve, 2000);
      }),
    ]);
    clearTimeout(timer);
    if (this.connection.status === 'ready')
      await this.connection.quit().catch(() => this.connection.disconnect());
    else this.connection.disconnect();
  }
}

export class BullJobConsumer implements JobConsumer {
  readonly kind = 'bullmq';
  readonly worker: Worker<GenerateJobData>;
  private readonly connection: Redis;
  private readonly active = new Map<string, { job: Job<GenerateJobData>; token: string | undefined }>();
  private closing = false;
  private readonly lastError: () => Error | undefined;

  constructor(
    redisUrl: string,
    queueSettings: QueueSettings,
    settings: ConsumerSettings,
    private readonly hooks: ConsumerHooks,
  ) {
    this.connection = new Redis(redisUrl, clientOptions(true));
    this.lastError = trackErrors(this.connection);
    this.worker = new Worker<GenerateJobData>(
      queueSettings.name ?? DEFAULT_QUEUE_NAME,
      (job, token) => this.process(job, token),
      {
        connection: this.connection,
        prefix: queueSettings.prefix ?? 'bull',
        concurrency: settings.concurrency,
        lockDuration: settings.lockMs,
        stalledInterval: settings.stalledIntervalMs,
        maxStalledCount: settings.maxStalledCount ?? 2,
        ...(settings.name ? { name: settings.name } : {}),
        autorun: true,
      },
    );
    this.worker.on('error', () => {});
  }

  get running(): number {
    return this.active.size;
  }

  private async process(job: Job<GenerateJobData>, token: string | undefined): Promise<unknown> {
    const id = job.id!;
    if (this.closing) {
      // Fetched while shutting down (a fetch was already under way): give it straight back.
      await job.moveToWait(token);
      throw new WaitingError();
    }
    this.active.set(id, { job, token });
    const ctx: JobContext = {
      id,
      data: job.data,
      attempt: job.attemptsMade + 1,
      maxAttempts: job.opts.attempts ?? 1,
    };
    try {
      return await this.hooks.handler(ctx);
    } catch (e) {
      const error = e instanceof Error ? e : new Error(String(e));
      const permanent = error instanceof PermanentJobError;
      const final = permanent || ctx.attempt >= ctx.maxAttempts;
      await this.hooks.onFailure?.({ job: ctx, error, final }).catch(() => {});
      if (permanent) throw new UnrecoverableError(error.message);
      throw error;
    } finally {
      this.active.delete(id);
    }
  }

  /**
   * Stops taking jobs, waits up to `graceMs` for the running ones, hands the others back, closes.
   * Every step that needs Redis is bounded: with Redis away, close still ends (within a few seconds
   * of the grace period), the running jobs are left to the stalled-job check (their locks expire),
   * and the result says why.
   */
  async close(graceMs: number): Promise<CloseResult> {
    this.closing = true;
    const up = (): boolean => this.connection.status === 'ready';
    // Stop taking jobs, without waiting (BullMQ's close would wait for the running ones however long).
    await within(this.worker.pause(true), STEP_MS);
    const deadline = Date.now() + graceMs;
    while (this.active.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
    const finished = this.active.size === 0;
    const returned: string[] = [];
    const abandoned: string[] = [];
    // Hand the unfinished jobs back now rather than after their locks expire.
    for (const [id, { job, token }] of this.active) {
      let back = false;
      if (up())
        await within(
          job.moveToWait(token).then(() => {
            back = true;
          }),
          STEP_MS,
        );
      // Not handed back: the lock was already lost, or Redis is away; the stalled-job check returns it.
      (back ? returned : abandoned).push(id);
    }
    const unavailable = up() ? undefined : (this.lastError() ?? new Error('not connected'));
    // A fetch under way when the worker paused lands in process(), which hands it back at once.
    if (!unavailable) await new Promise((r) => setTimeout(r, 150));
    await within(this.worker.close(!finished || unavailable !== undefined), STEP_MS * 2);
    // quit waits for Redis to answer (a blocking client queues it while disconnected): only when connected.
    if (!up() || !(await within(this.connection.quit(), STEP_MS))) this.connection.disconnect();
    return {
      finished,
      returned,
      ...(abandoned.length > 0 ? { abandoned } : {}),
      ...(unavailable ? { unavailable } : {}),
    };
  }
}
